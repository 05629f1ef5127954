"""Jira: Definition-of-Ready enforcement end to end against the Jira sandbox. An unestimated
story moved into a sprint goes back to the backlog (Agile API); moved to a ready status it is
transitioned back to the changelog's previous status; the one bot comment says why, and the
bot's own move back triggers no further round."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sync.jira.live import JiraLiveAdapter
from sync.jira.port import IssueWrite
from tests.jira_support import login_email
from tests.service_support import jira_delivery
from tests.test_service_validation_jira import Site, open_site

pytestmark = pytest.mark.usefixtures("jira_deployment")  # Cloud and Data Center


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    config = tmp_path / "backlog-bot.toml"
    config.write_text('[validation]\nenforce = ["dor.estimated"]\n')
    monkeypatch.setenv("BACKLOG_BOT_CONFIG", str(config))
    with open_site(tmp_path) as site:
        yield site


def person(site: Site) -> JiraLiveAdapter:
    """Someone working in Jira (through the same REST API as anyone)."""
    sandbox = site.sandbox
    return JiraLiveAdapter(
        sandbox.url, login_email(sandbox), sandbox.token, "BSS", requests_per_second=0
    )


def status(site: Site, key: str) -> str:
    issue = site.sandbox.state.issue(key)
    assert issue is not None
    return str(issue.status)


def test_unready_story_moved_into_a_sprint_goes_back_to_the_backlog(site: Site) -> None:
    key = site.key("US-002")
    board = site.config.board_id
    assert board is not None
    sprint = site.adapter.create_sprint(board, "Sprint 2", "Invoices, continued", None, None)
    site.adapter.move_to_sprint(sprint.id, [key])
    site.settle()
    issue = site.sandbox.state.issue(key)
    assert issue is not None and issue.sprint_id is None  # moved back to the backlog
    [report] = site.reports(key)
    assert f"Moved back (removed from sprint {sprint.id}, back to the backlog)" in report["body"]
    assert "the team enforces dor.estimated" in report["body"]
    assert "dor:failed" in site.labels(key)
    moves = [r.path for r in site.sandbox.requests if r.path.endswith("/backlog/issue")]
    assert moves == ["/rest/agile/1.0/backlog/issue"]

    # The bot's own move came back as jira:issue_updated (Sprint emptied): checked, nothing
    # written, no second move.
    writes = site.writes()
    site.settle()
    assert site.writes() == writes
    statuses = sorted(row["status"] for row in site.app.state.service.inbox.list())
    assert statuses == ["done", "done", "ignored"]  # sprint move, move back, label write


def test_unready_story_moved_to_in_progress_is_moved_back(site: Site) -> None:
    key = site.key("US-002")
    assert status(site, key) == "To Do"
    jira = person(site)
    try:
        assert jira.transition_to(key, "In Progress")
    finally:
        jira.close()
    site.settle()
    assert status(site, key) == "To Do"
    [report] = site.reports(key)
    assert "Moved back (status In Progress back to To Do)" in report["body"]
    writes = site.writes()
    site.settle()
    assert site.writes() == writes

    # Estimated in Jira: now the move to In Progress sticks, and the same comment says so.
    points_field = site.config.points_field
    assert points_field
    site.adapter.update_issue(key, IssueWrite("US-002", {points_field: 5}))
    site.settle()
    jira = person(site)
    try:
        assert jira.transition_to(key, "In Progress")
    finally:
        jira.close()
    site.settle()
    assert status(site, key) == "In Progress"
    [after] = site.reports(key)
    assert after["id"] == report["id"]
    assert "Moved back" not in after["body"] and "`dor.estimated`" not in after["body"]


def test_a_stale_changelog_moves_nothing(site: Site) -> None:
    """The webhook says "moved to In Progress" but the issue is in To Do now: re-read wins."""
    key = site.key("US-002")
    payload = {
        "webhookEvent": "jira:issue_updated",
        "user": {"accountId": "someone", "displayName": "Someone"},
        "issue": {"key": key},
        "changelog": {
            "items": [
                {"field": "status", "fromString": "To Do", "toString": "In Progress"},
            ]
        },
    }
    body, headers = jira_delivery(payload)
    response = httpx.post(site.url + "/webhooks/jira", content=body, headers=headers)
    assert response.status_code == 202, response.text
    site.settle()
    assert status(site, key) == "To Do"
    [report] = site.reports(key)  # reported, not moved
    assert "Moved back" not in report["body"]
    assert not [r for r in site.sandbox.requests if r.path.endswith("/transitions")]
