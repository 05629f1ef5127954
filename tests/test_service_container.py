"""The composition root (``bot.wiring.container``): which parts a configuration gets, and that
they share the process's one database engine and one metrics registry."""

from __future__ import annotations

from pathlib import Path

import httpx

from bot.service.app import create_app
from bot.service.worker import HandlerRegistry
from bot.settings import load_settings
from bot.targets.github import GitHubTarget
from bot.targets.jira import JiraTarget
from bot.validation.backlog_check import BacklogCheck
from bot.validation.github import GitHubValidation
from bot.validation.jira import JiraValidation
from bot.wiring.container import build_service, service_parts
from sandbox.github import GitHubSandbox
from sandbox.jira import JiraSandbox
from sandbox.slack import SlackSandbox
from sync.state import db
from tests.service_support import LiveApp


def migrated(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db.upgrade(url)
    return url


def listener_names(registry: HandlerRegistry) -> list[str]:
    return sorted(
        f"{lst.source}:{lst.event}:{type(lst.handler).__name__}" for lst in registry.listeners
    )


def test_without_trackers_or_slack_the_service_has_no_handlers_and_only_the_sync_job(
    tmp_path: Path,
) -> None:
    settings = load_settings(database_url=migrated(tmp_path))
    parts = build_service(settings)
    try:
        assert parts.registry.listeners == []
        assert parts.slack_handler is None
        assert parts.owns_engine
        assert (len(parts.on_startup), len(parts.on_shutdown)) == (1, 1)  # the scheduler
    finally:
        parts.engine.dispose()
    engine = db.make_engine(settings.database_url)
    quiet = build_service(settings, engine=engine, scheduler=False)
    assert quiet.engine is engine and not quiet.owns_engine
    assert quiet.on_startup == quiet.on_shutdown == ()
    engine.dispose()


def test_every_part_shares_the_engine_and_the_metrics(tmp_path: Path) -> None:
    with JiraSandbox() as jira, GitHubSandbox() as github, SlackSandbox() as slack:
        env = {**jira.env(), **github.env(), **slack.env()}
        settings = load_settings(
            database_url=migrated(tmp_path), **{k.lower(): v for k, v in env.items()}
        )
        engine = db.make_engine(settings.database_url)
        parts = build_service(settings, engine=engine, scheduler=False)
        assert listener_names(parts.registry) == [
            "github:check_run:GitHubValidation",
            "github:issues:GitHubValidation",
            "github:issues:function",  # the capacity check when a milestone (sprint) changes
            "github:projects_v2_item:GitHubValidation",
            "github:projects_v2_item:function",
            "github:pull_request:BacklogCheck",
            "github:pull_request:GitHubValidation",
            "github:pull_request_review:GitHubValidation",
            "github:push:BacklogCheck",
            "jira:jira:issue_created:JiraValidation",
            "jira:jira:issue_updated:JiraValidation",
            "jira:jira:issue_updated:function",
        ]
        handlers = [lst.handler for lst in parts.registry.listeners]
        validations = [h for h in handlers if isinstance(h, GitHubValidation | JiraValidation)]
        for handler in validations:
            assert handler.validator.metrics is parts.metrics  # given at construction
        github_handler = next(h for h in validations if isinstance(h, GitHubValidation))
        assert github_handler.links.engine is engine
        jira_handler = next(h for h in validations if isinstance(h, JiraValidation))
        assert jira_handler.tracker.links is not None
        assert jira_handler.tracker.links.engine is engine
        [check] = {h for h in handlers if isinstance(h, BacklogCheck)}
        targets = check.targets()  # what a push of the backlog file plans against
        assert isinstance(targets["jira"], JiraTarget) and isinstance(
            targets["github"], GitHubTarget
        )
        assert targets["jira"].engine.store.engine is engine
        assert targets["github"].store.engine is engine
        assert parts.slack_handler is not None

        app = create_app(parts, start_worker=False)
        service = app.state.service
        assert service.engine is engine and service.inbox.engine is engine
        with LiveApp(app) as live:
            answer = httpx.post(live.url + "/slack/events", content=b"")
        assert answer.status_code == 401  # bolt's signature check runs on the mounted endpoint
        engine.dispose()


def test_handler_modules_are_added_after_the_given_handlers(tmp_path: Path) -> None:
    settings = load_settings(
        database_url=migrated(tmp_path),
        webhook_handler_modules="tests.service_handlers:register",
    )
    registry = HandlerRegistry()
    registry.add("github", "push", lambda delivery: None)
    parts = service_parts(settings, registry=registry)
    try:
        assert parts.registry is registry
        from tests.service_handlers import journal

        assert [(lst.event, lst.handler) for lst in registry.listeners][1:] == [("issues", journal)]
        assert registry.listeners[0].event == "push"
    finally:
        parts.engine.dispose()
