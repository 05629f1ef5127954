"""The typed parts of the service: what ``create_app`` is made of and what it shares at run time.

``ServiceParts`` is built once per process by the composition root
(``bot.wiring.container.build_service``; ``service_parts`` for a hand-picked registry in tests
and benchmarks) and handed to ``bot.service.app.create_app``; nothing is looked up by name or
patched in after start-up. ``Service`` is what the routes, the worker and the start/stop hooks
share while the app runs (``request.app.state.service``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

    from bot.service.deferral import TargetLimits
    from bot.service.health import Readiness
    from bot.service.inbox import Inbox
    from bot.service.intake import IntakeBatcher
    from bot.service.logging import Redactor
    from bot.service.metrics import Metrics
    from bot.service.worker import HandlerRegistry, Worker
    from bot.settings import Settings

# An ``async (Request) -> Response`` endpoint, e.g. the bolt app's (``bot.slack.app``).
Endpoint = Callable[["Request"], Awaitable["Response"]]
# Run at start-up (after the worker starts) or shut-down; may be a coroutine function.
Hook = Callable[["Service"], Awaitable[None] | None]


@dataclass(frozen=True)
class ServiceParts:
    """Everything the service is made of, built in one place.

    ``engine`` is the process's one database engine: the inbox, the metrics, the webhook
    handlers and the scheduled jobs all use it. ``owns_engine``: ``create_app`` disposes it on
    shut-down (the caller keeps an engine it passed in). ``metrics`` exists before any handler
    is built, so the handlers get it in their constructors.
    """

    settings: Settings
    engine: Engine
    metrics: Metrics
    registry: HandlerRegistry
    slack_handler: Endpoint | None = None  # served at POST /slack/events
    routes: tuple[BaseRoute, ...] = ()
    on_startup: tuple[Hook, ...] = ()
    on_shutdown: tuple[Hook, ...] = ()
    owns_engine: bool = False


def _target_limits() -> TargetLimits:
    from bot.service.deferral import TargetLimits

    return TargetLimits()


@dataclass
class Service:
    """What the routes, the worker and hooks share while the app runs."""

    parts: ServiceParts
    inbox: Inbox
    redactor: Redactor
    readiness: Readiness
    intake: IntakeBatcher
    worker: Worker | None = field(default=None)
    limits: TargetLimits = field(default_factory=lambda: _target_limits())

    @property
    def settings(self) -> Settings:
        return self.parts.settings

    @property
    def engine(self) -> Engine:
        return self.parts.engine

    @property
    def registry(self) -> HandlerRegistry:
        return self.parts.registry

    @property
    def metrics(self) -> Metrics:
        return self.parts.metrics

    def webhook_secret(self, source: str) -> str | None:
        """The signing secret of ``github`` or ``jira`` deliveries (None: not configured)."""
        if source == "github":
            secret = self.settings.github_webhook_secret
        elif source == "jira":
            secret = self.settings.jira_webhook_secret
        else:
            return None
        return secret.get_secret_value() if secret is not None else None
