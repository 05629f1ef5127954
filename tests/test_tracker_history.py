"""When a story reached done and entered its sprint, as the trackers' history says it: Jira's
changelog (search with ``expand=changelog``) and GitHub's ``closedAt``, stored by the pull and
read by the burndown (``bot.digests.sprint_state.live_issues``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlmodel import Session, select

from backlog.parse import load_backlog
from bot.digests.sprint_state import live_issues
from sandbox.github import GitHubSandbox
from sync.state.tables import SyncLink
from tests.github_support import github_target, migrated_engine
from tests.jira_support import REFERENCE, SOURCE, jira_site, make_sync, reference_backlog


def links_of(engine: object, target: str) -> list[SyncLink]:
    with Session(engine) as session:  # type: ignore[arg-type]
        return list(session.exec(select(SyncLink).where(SyncLink.target == target)).all())


def test_jira_pull_reads_done_and_sprint_times_from_the_changelog(sqlite_url: str) -> None:
    from jira import JIRA  # the real client acts as a person working in Jira

    with jira_site("team") as site:
        sync = make_sync(site, sqlite_url)
        keys = sync.apply(reference_backlog(), SOURCE).keys
        person = JIRA(site.url, basic_auth=(site.email, site.token), max_retries=0)
        person.transition_issue(keys["US-001"], "21")  # In Progress
        person.transition_issue(keys["US-001"], "31")  # Done
        issue = site.state.issue(keys["US-001"])
        assert issue is not None
        moved = [h for h in issue.histories if any(i["field"] == "Sprint" for i in h["items"])]
        done = [
            h
            for h in issue.histories
            if any(i["field"] == "status" and i["toString"] == "Done" for i in h["items"])
        ]
        assert moved and done
        assert moved[-1]["items"][0]["toString"] == "Sprint 1"  # by name, as Jira shows it
        assert sync.pull().failures == []
        row = sync.store.load()[("story", "US-001")]
        assert row.remote_status == "Done"
        assert row.extra["done_at"] == done[-1]["created"]
        assert row.extra["sprint_since"] == moved[-1]["created"]
        not_done = sync.store.load()[("story", "US-002")]
        assert "done_at" not in not_done.extra
        live = live_issues(links_of(sync.store.engine, "jira"))["US-001"]
        assert live.done_at == datetime.fromisoformat(done[-1]["created"])
        assert live.sprint_since == datetime.fromisoformat(moved[-1]["created"])
        # reopened: no longer done, so no done time
        person.transition_issue(keys["US-001"], "21")
        sync.pull()
        assert "done_at" not in sync.store.load()[("story", "US-001")].extra


@pytest.fixture
def sandbox() -> Iterator[GitHubSandbox]:
    with GitHubSandbox() as sandbox:
        yield sandbox


def test_github_pull_reads_closed_at(sandbox: GitHubSandbox, sqlite_url: str) -> None:
    engine = migrated_engine(sqlite_url)
    with github_target(sandbox, engine) as target:
        target.sync.apply(load_backlog(REFERENCE))
    markers = sandbox.issues_by_marker()
    closed = sandbox.close_issue(markers["US-002"][0])
    assert closed["closed_at"]
    with github_target(sandbox, engine) as target:
        target.sync.pull()
    rows = {row.backlog_id: row for row in links_of(engine, "github")}
    assert rows["US-002"].extra["done_at"] == closed["closed_at"]
    assert "done_at" not in rows["US-001"].extra
    live = live_issues(links_of(engine, "github"), prefer="github")["US-002"]
    assert live.done_at == datetime.fromisoformat(closed["closed_at"].replace("Z", "+00:00"))
    sandbox.reopen_issue(markers["US-002"][0])
    with github_target(sandbox, engine) as target:
        target.sync.pull()
    rows = {row.backlog_id: row for row in links_of(engine, "github")}
    assert "done_at" not in rows["US-002"].extra
    engine.dispose()
