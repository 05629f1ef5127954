"""The ASGI application of ``backlog-bot serve``.

Routes::

    POST /webhooks/github   signed GitHub deliveries -> inbox (bot.service.webhooks)
    POST /webhooks/jira     signed Jira deliveries   -> inbox
    POST /slack/events      when the parts have a ``slack_handler`` (bot.slack.app builds it)
    GET  /healthz           liveness: the process answers
    GET  /readyz            readiness: database migrated and reachable, configured Jira/GitHub
                            reachable; 503 with the reasons otherwise; ``"degraded"`` names
                            a target whose rate limit is spent (deliveries deferred) with
                            its reset time
    GET  /metrics           Prometheus text exposition (own registry per app)
    GET  /                  the sprint planning page (bot.views.routes; added by the container)

``create_app`` takes the ``ServiceParts`` that ``bot.wiring.container`` builds (settings, the
process's database engine, metrics, the webhook handler registry, the Slack endpoint, start/stop
hooks) and adds what every service has: the inbox, the intake batcher, readiness checks, the
redactor and, unless ``start_worker=False``, the inbox worker. The lifespan starts the worker,
then the ``on_startup`` hooks; on shutdown it runs the ``on_shutdown`` hooks and stops the
worker, giving back its claims.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.service.client_guard import CLIENT_CLOSED_STATUS, CLIENT_OUTCOME, ClientGuardMiddleware
from bot.service.deferral import TargetLimits
from bot.service.health import Readiness
from bot.service.inbox import DeliveryBackoff, Inbox
from bot.service.intake import IntakeBatcher
from bot.service.logging import Redactor, new_correlation_id, reset_correlation_id, secrets_of
from bot.service.logging import set_correlation_id as _set_cid
from bot.service.metrics import CONTENT_TYPE, Metrics
from bot.service.parts import Hook, Service, ServiceParts
from bot.service.webhooks import webhook_routes
from bot.service.worker import Worker

log = logging.getLogger(__name__)
access_log = logging.getLogger("backlog_bot.access")

__all__ = ["Service", "ServiceParts", "create_app"]


def create_app(parts: ServiceParts, *, start_worker: bool = True) -> Starlette:
    """The service app over ``parts`` (see the module docstring)."""
    settings = parts.settings
    policy = DeliveryBackoff(
        max_attempts=settings.webhook_max_attempts, base_seconds=settings.webhook_backoff_seconds
    )
    inbox = Inbox(parts.engine, policy=policy)
    limits = TargetLimits()
    parts.metrics.watch_limits(limits)
    service = Service(
        parts=parts,
        inbox=inbox,
        redactor=Redactor(secrets_of(settings)),
        readiness=Readiness(settings, parts.engine, limits=limits),
        intake=IntakeBatcher(inbox),
        limits=limits,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service.intake.start()
        if start_worker:
            service.worker = Worker(
                service.inbox,
                parts.registry,
                parts.metrics,
                lease_seconds=settings.webhook_lease_seconds,
                poll_seconds=settings.webhook_poll_seconds,
                redactor=service.redactor,
                limits=limits,
            )
            service.worker.start()
        for hook in parts.on_startup:
            await _run_hook(hook, service)
        try:
            yield
        finally:
            for hook in parts.on_shutdown:
                await _run_hook(hook, service)
            await service.intake.stop()
            if service.worker is not None:
                await service.worker.stop()
            if parts.owns_engine:
                parts.engine.dispose()

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *webhook_routes(),
    ]
    if parts.slack_handler is not None:
        routes.append(Route("/slack/events", parts.slack_handler, methods=["POST"], name="slack"))
    routes.extend(parts.routes)
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.service = service
    app.add_middleware(ClientGuardMiddleware, read_timeout=settings.http_read_timeout_seconds)
    app.add_middleware(ObservabilityMiddleware, metrics=parts.metrics)  # outermost: sees the guard
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
    degraded = service.readiness.degraded()
    extra = {"degraded": degraded} if degraded else {}
    if failing:
        log.warning("not ready", extra={"checks": checks})
        body = {"status": "unavailable", "checks": checks, **extra}
        return JSONResponse(body, status_code=503)
    # A rate-limited target does not make the replica unready (it still takes webhooks and
    # serves the other target); it is reported so operators see why deliveries wait.
    status = "degraded" if degraded else "ready"
    return JSONResponse({"status": status, "checks": checks, **extra})


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
            if scope.get(CLIENT_OUTCOME) == "disconnected":
                status = CLIENT_CLOSED_STATUS  # the client left: not a server error
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
