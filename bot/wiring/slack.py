"""The Slack area's parts of the service (``bot.wiring.container.build_service`` calls this).

From the settings: the bolt app's ``/slack/events`` endpoint, the sync actions admins may run
from Slack (the configured sync targets), and the webhook handlers that check capacity when
work enters a running sprint. Slack is optional: without SLACK_BOT_TOKEN and
SLACK_SIGNING_SECRET the service runs without it (the scheduler then runs only the pull sync).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from backlog.errors import BacklogBotError
from bot.digests.context import SlackContext
from bot.service.deferral import LONGEST_WAIT_SECONDS
from bot.slack.commands import SyncActions
from bot.slack.post import SlackPoster

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.service.parts import Endpoint, Hook
    from bot.service.worker import HandlerRegistry
    from bot.settings import Settings

log = logging.getLogger(__name__)
PosterFactory = Callable[[], SlackPoster]


@dataclass(frozen=True)
class SlackParts:
    """What the service gets from the Slack area (both None when Slack is not configured)."""

    endpoint: Endpoint | None
    poster: PosterFactory | None
    # Socket Mode (SLACK_APP_TOKEN): connect on start-up, disconnect on shutdown
    on_startup: tuple[Hook, ...] = ()
    on_shutdown: tuple[Hook, ...] = ()


def sync_actions(settings: Settings, database: Engine) -> SyncActions:
    """``/backlog plan`` and ``/backlog sync`` over every sync target, on the service's
    database engine."""
    from bot.targets.factory import TARGET_NAMES, build_target

    def plan(ctx: SlackContext) -> list[str]:
        lines = []
        for name in TARGET_NAMES:
            try:
                outcome = build_target(name, settings, database=database).plan(
                    ctx.backlog(), str(ctx.backlog_path), prune=False
                )
            except BacklogBotError as exc:
                lines.append(f"{name}: {exc}")
                continue
            counts = outcome.plan.counts()
            writes = {k: v for k, v in counts.items() if k != "unchanged"}
            summary = ", ".join(f"{v} to {k}" for k, v in writes.items()) or "nothing to change"
            lines.append(f"{name}: {summary} ({counts.get('unchanged', 0)} unchanged)")
        return lines

    def pull(ctx: SlackContext, targets: Sequence[str]) -> list[str]:
        """The service's reconcile (pull sync) over the chosen targets."""
        from bot.validation.backlog_check import configured_targets
        from bot.validation.reconcile import reconcile

        runners = configured_targets(settings, database)
        chosen = {name: runner for name, runner in runners.items() if name in targets}
        lines = reconcile(settings, chosen) if chosen else []
        for name in targets:
            if name not in TARGET_NAMES:
                lines.append(f"{name}: no such sync target in this installation")
            elif name not in runners:
                lines.append(f"{name}: not configured on this service")
        return lines

    return SyncActions(plan=plan, pull=pull)


def slack_configured(settings: Settings) -> bool:
    """A bot token, and either the signing secret (HTTP) or an app token (Socket Mode)."""
    receives = settings.slack_signing_secret is not None or settings.slack_app_token is not None
    return settings.slack_bot_token is not None and receives


def add_slack(
    registry: HandlerRegistry, settings: Settings, ctx: SlackContext, actions: SyncActions
) -> SlackParts:
    """When Slack is configured: the ``/slack/events`` endpoint, and the sprint-change
    handlers added to ``registry``."""
    from bot.slack.app import build_slack
    from bot.slack.hooks import register_sprint_handlers

    if not slack_configured(settings):
        log.info(
            "Slack is not configured (SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET or "
            "SLACK_APP_TOKEN): no Slack"
        )
        return SlackParts(endpoint=None, poster=None)

    def poster() -> SlackPoster:
        return SlackPoster.from_settings(settings)

    def delivery_poster() -> SlackPoster:
        # Inside the inbox worker a long Slack limit defers the delivery rather than blocking
        # every other one; the scheduled jobs, on their own thread, may wait it out.
        return SlackPoster.from_settings(settings, longest_wait=LONGEST_WAIT_SECONDS)

    app, endpoint = build_slack(settings, ctx, actions=actions)
    register_sprint_handlers(registry, ctx, delivery_poster)
    # /slack/events only with a signing secret; Socket Mode needs no public URL
    http = endpoint if settings.slack_signing_secret is not None else None
    if settings.slack_app_token is None:
        return SlackParts(endpoint=http, poster=poster)
    from bot.slack.socket_mode import SocketModeRunner

    runner = SocketModeRunner(app, settings.slack_app_token.get_secret_value())
    return SlackParts(
        endpoint=http, poster=poster, on_startup=(runner.start,), on_shutdown=(runner.stop,)
    )
