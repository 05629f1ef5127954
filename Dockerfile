# backlog-bot service image: `backlog-bot serve` as a non-root user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATABASE_URL=sqlite:////data/backlog-bot.db

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY sync ./sync
COPY rules ./rules
COPY sandbox ./sandbox
COPY migrations ./migrations
COPY examples ./examples
RUN pip install . && useradd --create-home --uid 10001 backlog \
    && mkdir -p /data && chown backlog /data

USER backlog
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"
ENTRYPOINT ["backlog-bot"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
