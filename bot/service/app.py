"""The ASGI application of ``backlog-bot serve``.

Routes::

    POST /webhooks/github   signed GitHub deliveries -> inbox (bot.service.webhooks)
    POST /webhooks/jira     signed Jira deliveries   -> inbox
    POST /slack/events      mounted when ``slack_handler`` is given (bot.slack_* wires it)
    GET  /healthz           liveness: the process answers
    GET  /readyz            readiness: database migrated and reachable, configured Jira/GitHub
                            reachable; 503 with the reasons otherwise
    GET  /metrics           Prometheus text exposition (own registry per app)

The lifespan starts the inbox worker (unless ``start_worker=False``), then the ``on_startup``
hooks; on shutdown it runs ``on_shutdown`` hooks and stops the worker, giving back its claims.

Integration hooks for other areas:
- ``slack_handler``: an ``async (Request) -> Response`` endpoint (e.g. a bolt
  ``AsyncSlackRequestHandler(...).handle``) served at ``POST /slack/events``;
- ``extra_routes``: further Starlette routes;
- ``registry``: a ``HandlerRegistry`` with webhook handlers (``bot.validation.validator`` registers
  the DoR/DoD handlers); ``settings.webhook_handler_modules`` adds more by name;
- ``on_startup`` / ``on_shutdown``: callables taking the ``Service`` (sync or async), e.g.
  to start the scheduler; ``app.state.service`` gives handlers the metrics, engine and settings.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.service.health import Readiness
from bot.service.inbox import DeliveryBackoff, Inbox
from bot.service.intake import IntakeBatcher
from bot.service.logging import Redactor, new_correlation_id, reset_correlation_id, secrets_of
from bot.service.logging import set_correlation_id as _set_cid
from bot.service.metrics import CONTENT_TYPE, Metrics
from bot.service.webhooks import webhook_routes
from bot.service.worker import HandlerRegistry, Worker, load_handler_modules

Hook = Callable[["Service"], Awaitable[Any] | Any]
log = logging.getLogger(__name__)
access_log = logging.getLogger("backlog_bot.access")


@dataclass
class Service:
    """What the routes, the worker and hooks share (``request.app.state.service``)."""

    settings: Any
    engine: Engine
    inbox: Inbox
    registry: HandlerRegistry
    metrics: Metrics
    redactor: Redactor
    readiness: Readiness
    intake: IntakeBatcher
    worker: Worker | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def webhook_secret(self, source: str) -> str | None:
        secret = getattr(self.settings, f"{source}_webhook_secret", None)
        return secret.get_secret_value() if secret is not None else None


def create_app(
    settings: Any,
    *,
    engine: Engine | None = None,
    registry: HandlerRegistry | None = None,
    start_worker: bool = True,
    slack_handler: Callable[[Request], Awaitable[Response]] | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
) -> Starlette:
    """Build the service app from ``settings`` (see the module docstring for the hooks)."""
    from sync.state.db import make_engine

    owns_engine = engine is None
    engine = engine or make_engine(settings.database_url)
    registry = registry if registry is not None else HandlerRegistry()
    if settings.webhook_handler_modules:
        load_handler_modules(registry, settings.webhook_handler_modules)
    policy = DeliveryBackoff(
        max_attempts=settings.webhook_max_attempts, base_seconds=settings.webhook_backoff_seconds
    )
    metrics = Metrics(engine)
    inbox = Inbox(engine, policy=policy)
    service = Service(
        settings=settings,
        engine=engine,
        inbox=inbox,
        registry=registry,
        metrics=metrics,
        redactor=Redactor(secrets_of(settings)),
        readiness=Readiness(settings, engine),
        intake=IntakeBatcher(inbox),
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service.intake.start()
        if start_worker:
            service.worker = Worker(
                service.inbox,
                registry,
                metrics,
                lease_seconds=settings.webhook_lease_seconds,
                poll_seconds=settings.webhook_poll_seconds,
                redactor=service.redactor,
            )
            service.worker.start()
        for hook in on_startup:
            await _run_hook(hook, service)
        try:
            yield
        finally:
            for hook in on_shutdown:
                await _run_hook(hook, service)
            await service.intake.stop()
            if service.worker is not None:
                await service.worker.stop()
            if owns_engine:
                engine.dispose()

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *webhook_routes(),
    ]
    if slack_handler is not None:
        routes.append(Route("/slack/events", slack_handler, methods=["POST"], name="slack"))
    routes.extend(extra_routes)
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.service = service
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)
    return app


async def _run_hook(hook: Hook, service: Service) -> None:
    result = hook(service)
    if inspect.isawaitable(result):
        await result


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    service: Service = request.app.state.service
    checks = await service.readiness.check()
    failing = {name: reason for name, reason in checks.items() if reason != "ok"}
    if failing:
        log.warning("not ready", extra={"checks": checks})
        return JSONResponse({"status": "unavailable", "checks": checks}, status_code=503)
    return JSONResponse({"status": "ready", "checks": checks})


async def metrics_endpoint(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    service: Service = request.app.state.service
    body = await run_in_threadpool(service.metrics.render)
    return PlainTextResponse(body, media_type=CONTENT_TYPE)


class ObservabilityMiddleware:
    """Pure ASGI middleware: correlation id (``X-Request-Id``), access log, HTTP metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        cid = incoming if incoming and len(incoming) <= 64 and incoming.isprintable() else None
        cid = cid or new_correlation_id("req")
        token = _set_cid(cid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", cid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.http_requests.labels(template, scope["method"], str(status)).inc()
            self.metrics.http_latency.labels(template).observe(elapsed)
            # Webhook routes log each delivery themselves (event, delivery id, outcome).
            if template not in ("/healthz", "/metrics") and not template.startswith("/webhooks/"):
                access_log.info(
                    "%s %s %s",
                    scope["method"],
                    template,
                    status,
                    extra={"status": status, "ms": round(elapsed * 1000, 2)},
                )
            reset_correlation_id(token)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None
