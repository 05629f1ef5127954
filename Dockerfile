# syntax=docker/dockerfile:1
# backlog-bot service image: `backlog-bot serve` as a non-root user, read-only root filesystem
# friendly (writes only to /data and /tmp). Two stages: the build stage installs the locked
# dependencies (hashes checked) and the package into /opt/venv; the runtime stage copies that
# venv only. Neither tests, examples nor the sandbox emulators are in the image.
#
# The base is pinned by digest (python:3.11-slim). Refresh it deliberately:
#   docker buildx imagetools inspect python:3.11-slim --format '{{json .Manifest.Digest}}'
# The lock files come from deploy/: regenerate them with
#   uv pip compile pyproject.toml --generate-hashes --python-version 3.11 \
#     --python-platform x86_64-manylinux_2_28 --no-header -o deploy/requirements.lock
#   (cd deploy && uv pip compile build.in --generate-hashes --python-version 3.11 \
#     --no-header --annotation-style line -o build.lock)
ARG PYTHON_IMAGE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY deploy/requirements.lock deploy/build.lock ./
RUN /opt/venv/bin/pip install --require-hashes --no-deps -r requirements.lock \
    && /opt/venv/bin/pip install --require-hashes --no-deps -r build.lock
COPY pyproject.toml README.md LICENSE ./
COPY backlog ./backlog
COPY bot ./bot
COPY sync ./sync
COPY rules ./rules
COPY migrations ./migrations
# --no-deps: every dependency came from the lock above; --no-build-isolation: build with the
# locked setuptools instead of fetching an unpinned one.
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation . \
    && /opt/venv/bin/pip uninstall --yes setuptools wheel \
    && /opt/venv/bin/backlog-bot --version

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    DATABASE_URL=sqlite:////data/backlog-bot.db \
    BACKLOG_FILE=/config/backlog.md
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /data backlog \
    && mkdir -p /data /config && chown backlog:backlog /data
COPY --from=build /opt/venv /opt/venv
# Mount backlog-bot.toml and the backlog file here (compose.yaml, the Helm chart);
# the working directory is where backlog-bot looks for ./backlog-bot.toml.
WORKDIR /config
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["backlog-bot"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
