"""Composition of the Slack area for ``backlog-bot serve`` (called from ``bot.service.container``).

Builds, from the settings: the bolt app and its ``/slack/events`` endpoint, the sync actions
admins may run from Slack (the sync targets of ``bot.targets.factory``), the webhook
handlers that check capacity when work enters a running sprint, and the scheduler with its
start/stop hooks. Slack is optional: without SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET the
service runs without it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from backlog.errors import BacklogBotError
from bot.slack.commands import SyncActions
from bot.slack.context import SlackContext

log = logging.getLogger(__name__)


def sync_actions(settings: Any) -> SyncActions:
    """``/backlog plan`` and ``/backlog sync`` over every registered sync target."""
    from bot.targets.factory import TARGET_NAMES, build_target

    def plan(ctx: SlackContext) -> list[str]:
        lines = []
        for name in TARGET_NAMES:
            try:
                outcome = build_target(name, settings).plan(
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
        """The service's reconcile (pull sync with metrics) over the chosen targets."""
        from bot.validation.backlog_check import configured_targets
        from bot.validation.reconcile import reconcile

        runners = configured_targets(settings)
        chosen = {name: runner for name, runner in runners.items() if name in targets}
        lines = reconcile(settings, chosen) if chosen else []
        for name in targets:
            if name not in TARGET_NAMES:
                lines.append(f"{name}: no such sync target in this installation")
            elif name not in runners:
                lines.append(f"{name}: not configured on this service")
        return lines

    return SyncActions(plan=plan, pull=pull)


def slack_configured(settings: Any) -> bool:
    """A bot token, and either the signing secret (HTTP) or an app token (Socket Mode)."""
    receives = settings.slack_signing_secret is not None or settings.slack_app_token is not None
    return settings.slack_bot_token is not None and receives


def add_slack(options: dict[str, Any], settings: Any, *, scheduler: bool = True) -> None:
    """Add the Slack endpoint and webhook handlers (when Slack is configured) and the
    scheduler hooks (pull sync always; standup and capacity alerts with Slack) to the
    ``create_app`` options."""
    from bot.service.scheduler import Jobs, build_scheduler
    from bot.slack.app import build_slack
    from bot.slack.hooks import register_sprint_handlers
    from bot.slack.post import SlackPoster
    from sync.state.db import make_engine

    engine = options.get("engine") or make_engine(settings.database_url)
    options["engine"] = engine
    ctx = SlackContext(settings, engine)
    actions = sync_actions(settings)

    def make_poster() -> SlackPoster:
        return SlackPoster.from_settings(settings)

    poster: Callable[[], SlackPoster] | None = None
    if slack_configured(settings):
        app, endpoint = build_slack(settings, ctx, actions=actions)
        if settings.slack_signing_secret is not None:
            options["slack_handler"] = endpoint
        if settings.slack_app_token is not None:  # Socket Mode: no public URL needed
            from bot.slack.socket_mode import SocketModeRunner

            runner = SocketModeRunner(app, settings.slack_app_token.get_secret_value())
            options["on_startup"] = [*options.get("on_startup", ()), runner.start]
            options["on_shutdown"] = [*options.get("on_shutdown", ()), runner.stop]
        poster = make_poster
        register_sprint_handlers(options["registry"], ctx, poster)
    else:
        log.info(
            "Slack is not configured (SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET or "
            "SLACK_APP_TOKEN): no Slack"
        )
    if not scheduler:
        return
    state: dict[str, Any] = {}

    def scheduled_pull(ctx: SlackContext, targets: Sequence[str]) -> list[str]:
        from bot.validation.reconcile import reconcile

        return reconcile(settings, metrics=state.get("metrics"))

    jobs = Jobs(ctx, poster, pull=scheduled_pull)

    def start(service: Any) -> None:
        from bot.digests.standup import prewarm

        state["metrics"] = getattr(service, "metrics", None)
        if poster is not None:
            threading.Thread(target=prewarm, name="slack-prewarm", daemon=True).start()
        state["scheduler"] = build_scheduler(jobs)
        state["scheduler"].start()

    def stop(service: Any) -> None:
        if "scheduler" in state:
            state.pop("scheduler").shutdown(wait=False)

    options["on_startup"] = [*options.get("on_startup", ()), start]
    options["on_shutdown"] = [*options.get("on_shutdown", ()), stop]
