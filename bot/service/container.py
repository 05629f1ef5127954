"""Composition root of the service: builds what ``create_app`` needs from the settings.

Only here (and in CLI command functions) are adapters built from settings. Each area adds its
part to ``build_service_options``: webhook handlers go into the registry; the Slack area
supplies ``slack_handler`` (served at ``POST /slack/events``) and scheduler start/stop hooks
(``on_startup`` / ``on_shutdown``).
"""

from __future__ import annotations

from typing import Any

from bot.github_credentials import has_github_credentials
from bot.service.worker import HandlerRegistry

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


def build_registry(settings: Any, options: dict[str, Any] | None = None) -> HandlerRegistry:
    """The webhook handlers of a production service: DoR/DoD validation of live issues."""
    from bot.settings import load_config_table
    from bot.validation.validator import ValidationConfig
    from sync.state.db import make_engine

    registry = HandlerRegistry()
    options = options if options is not None else {}
    config = ValidationConfig.from_table(load_config_table("validation"))
    if has_github_credentials(settings) and settings.github_repository:
        from bot.validation.github import register_github_validation

        engine = options.get("engine") or make_engine(settings.database_url)
        options["engine"] = engine
        validator = register_github_validation(registry, settings, engine, config)

        def attach_metrics(service: Any) -> None:
            validator.metrics = service.metrics  # findings by rule on /metrics

        options.setdefault("on_startup", []).append(attach_metrics)
    # JIRA_EMAIL is absent on Data Center (a personal access token alone)
    if settings.jira_url and settings.jira_api_token is not None:
        from bot.validation.github import github_tracker_factory
        from bot.validation.jira import register_jira_validation

        engine = options.get("engine") or make_engine(settings.database_url)
        options["engine"] = engine
        github = None
        if has_github_credentials(settings) and settings.github_repository:
            github = github_tracker_factory(settings)
        jira_validator = register_jira_validation(registry, settings, engine, config, github)

        def attach_jira_metrics(service: Any) -> None:
            jira_validator.metrics = service.metrics

        options.setdefault("on_startup", []).append(attach_jira_metrics)
    return registry


def build_service_options(settings: Any) -> dict[str, Any]:
    """Keyword arguments for ``bot.service.app.create_app`` (besides ``settings``)."""
    from bot.slack.wiring import add_slack

    options: dict[str, Any] = {}
    options["registry"] = build_registry(settings, options)
    add_slack(options, settings)  # /slack/events, sprint-change handlers, scheduler hooks
    return options
