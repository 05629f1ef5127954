"""Composition root of the service: builds what ``create_app`` needs from the settings.

Only here (and in CLI command functions) are adapters built from settings. Each area adds its
part to ``build_service_options``: webhook handlers go into the registry; the Slack area
supplies ``slack_handler`` (served at ``POST /slack/events``) and scheduler start/stop hooks
(``on_startup`` / ``on_shutdown``).
"""

from __future__ import annotations

from typing import Any

from bot.worker import HandlerRegistry

# The GitHub webhook events the app subscribes to (configure the same list on the webhook).
SUBSCRIBED_GITHUB_EVENTS = (
    "issues",
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "check_run",
    "check_suite",
    "push",
    "projects_v2_item",
)


def build_registry(settings: Any) -> HandlerRegistry:
    """The webhook handlers of a production service."""
    registry = HandlerRegistry()
    return registry


def build_service_options(settings: Any) -> dict[str, Any]:
    """Keyword arguments for ``bot.app.create_app`` (besides ``settings``)."""
    from bot.slack_wiring import add_slack

    options: dict[str, Any] = {"registry": build_registry(settings)}
    add_slack(options, settings)  # /slack/events, sprint-change handlers, scheduler hooks
    return options
