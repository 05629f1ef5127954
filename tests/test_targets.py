"""The typed target factories: settings -> adapter + mapping + link store -> engine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from backlog.errors import ConfigurationError
from bot.settings import Settings
from bot.targets.factory import TARGET_NAMES, build_target, target_names
from bot.targets.github import build_github
from bot.targets.jira import build_jira
from sync.link_record import LinkRecord
from sync.state.db import make_engine, upgrade
from sync.state.links import LinkStore

JIRA = {"jira_url": "http://127.0.0.1:9/", "jira_email": "a@b.c", "jira_api_token": "t"}
GITHUB = {
    "github_token": "t",
    "github_repository": "acme/bss",
    "github_api_url": "http://127.0.0.1:9",
}


@pytest.fixture
def database(sqlite_url: str) -> Iterator[Engine]:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


def test_target_names() -> None:
    assert TARGET_NAMES == ("jira", "github")  # --target all: Jira first, GitHub names it
    assert target_names("all") == ["jira", "github"]
    assert target_names("github") == ["github"]
    with pytest.raises(ConfigurationError, match=r"unknown --target 'gitlab' \(choose from"):
        target_names("gitlab")
    with pytest.raises(ConfigurationError, match="unknown sync target 'gitlab'"):
        build_target("gitlab", Settings())


def test_jira_factory_hands_adapter_store_and_mapping_to_the_engine(database: Engine) -> None:
    target = build_jira(Settings(**JIRA), table={"sprint_start": "2026-01-05"}, database=database)
    assert target.name == "jira"
    assert target.engine.store.engine is database and target.engine.store.target == "jira"
    assert target.engine.port.calls is target.calls
    assert str(target.engine.mapping.sprint_start) == "2026-01-05"
    with pytest.raises(ConfigurationError, match=r"\[jira\] retry_attempts must be"):
        build_jira(Settings(**JIRA), table={"retry_attempts": -1}, database=database)
    with pytest.raises(ConfigurationError, match="needs JIRA_URL, JIRA_EMAIL, JIRA_API_TOKEN"):
        build_target("jira", Settings())


def test_github_factory_builds_an_engine_that_knows_the_jira_issues(database: Engine) -> None:
    target = build_github(Settings(**GITHUB), table={"tasks_as": "sub-issues"}, database=database)
    assert target.name == "github" and target.projects is None  # no GITHUB_PROJECT, no board
    assert target.rest.calls is target.calls
    LinkStore(database, "jira").record(
        [
            LinkRecord("story", "US-001", "10001", "BSS-7", "http://jira/browse/BSS-7"),
            LinkRecord("task", "US-001/task-1", "10002", "BSS-8", "http://jira/browse/BSS-8"),
        ]
    )
    engine = target.build_engine()
    assert engine.store.engine is database and engine.store.target == "github"
    assert engine.mapping.tasks_as == "sub-issues"
    assert engine.jira == {"US-001": ("BSS-7", "http://jira/browse/BSS-7")}  # epics and stories
    target.close()
    with pytest.raises(ConfigurationError, match="GITHUB_REPOSITORY must be OWNER/NAME"):
        build_github(Settings(**{**GITHUB, "github_repository": "bss"}), database=database)
