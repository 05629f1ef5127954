"""GitHub: milestone webhooks from the sandbox, Story Points read back from the Projects v2
board, and Definition-of-Ready enforcement (an unready issue given a milestone loses it again,
with the explanation in the one bot comment) — end to end over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox import oracles
from sandbox.github import GitHubSandbox
from tests.test_service_validation import World, open_world

EXAMPLES = oracles.ensure("webhooks-examples") / "api.github.com" / "index.json"


@pytest.fixture
def enforcing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with open_world(tmp_path, monkeypatch, enforce=("dor.estimated",)) as world:
        yield world


@pytest.fixture
def plain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with open_world(tmp_path, monkeypatch, enforce=()) as world:
        yield world


def new_milestone(world: World, title: str) -> int:
    return int(world.sandbox.repo.create_milestone({"title": title})["number"])


def set_board_points(world: World, number: int, points: float) -> None:
    """Someone estimates the issue on the board (Story Points field), as on github.com."""
    sandbox = world.sandbox
    project = sandbox.project()
    assert project is not None
    field = sandbox.projects.find_field(project["id"], "Story Points")
    item = sandbox.item_for_issue(number)
    assert field is not None and item is not None
    sandbox.app.graphql._set_value(
        {
            "projectId": project["id"],
            "itemId": item,
            "fieldId": field["id"],
            "value": {"number": points},
        }
    )


def example_keys(action: str) -> set[str]:
    events = json.loads(EXAMPLES.read_text())
    [issues] = [e for e in events if e["name"] == "issues"]
    return {k for ex in issues["examples"] if ex["action"] == action for k in ex} - {
        "organization",
        "installation",
        "enterprise",
    }


def test_sandbox_sends_milestoned_and_demilestoned_as_github_does() -> None:
    with GitHubSandbox() as sandbox:
        repo = sandbox.repo
        sent: list[tuple[str, dict[str, Any]]] = []
        repo.events.append(lambda event, payload: sent.append((event, payload)))
        first = repo.create_milestone({"title": "Sprint 1"})["number"]
        second = repo.create_milestone({"title": "Sprint 2"})["number"]
        number = repo.create_issue({"title": "Invoice PDF"})["number"]
        sent.clear()
        repo.update_issue(number, {"milestone": first})
        repo.update_issue(number, {"milestone": first, "title": "Invoice PDF!"})
        repo.update_issue(number, {"milestone": second})
        repo.update_issue(number, {"milestone": None})
    assert [(e, p["action"], p.get("milestone", {}).get("title")) for e, p in sent] == [
        ("issues", "milestoned", "Sprint 1"),
        ("issues", "edited", None),  # same milestone: no milestone event
        ("issues", "demilestoned", "Sprint 1"),
        ("issues", "milestoned", "Sprint 2"),
        ("issues", "demilestoned", "Sprint 2"),
    ]
    milestoned = sent[3][1]
    assert milestoned["issue"]["milestone"]["number"] == second
    assert sent[4][1]["issue"]["milestone"] is None
    # the sink adds repository and sender before sending, as for every event
    assert set(milestoned) | {"repository", "sender"} == example_keys("milestoned")
    assert set(sent[4][1]) | {"repository", "sender"} == example_keys("demilestoned")


def test_milestoned_triggers_dor_with_board_points(plain: World) -> None:
    world = plain
    number = world.number("US-002")
    sprint = new_milestone(world, "Sprint 2")
    world.sandbox.edit_issue(number, milestone=sprint)
    world.settle()
    deliveries = [(d.event, d.action) for d in world.sandbox.webhooks.deliveries]
    assert ("issues", "milestoned") in deliveries
    [report] = world.reports(number)
    assert "`dor.estimated`" in report["body"]
    assert "dor:failed" in world.issue(number)["labels"]
    assert world.issue(number)["milestone"] == sprint  # not enforced: it stays

    # Estimated on the board (the backlog still says TBD): the live value counts.
    set_board_points(world, number, 5)
    world.settle()
    [after] = world.reports(number)
    assert after["id"] == report["id"]
    assert "`dor.estimated`" not in after["body"]
    assert "`invest.valuable`" in after["body"]  # the missing benefit is still reported
    queries = [r for r in world.sandbox.requests() if r["graphql"] == "issueFieldValue"]
    assert queries, "Story Points were read through GraphQL"


def test_enforced_dor_takes_the_milestone_away_once(enforcing: World) -> None:
    world = enforcing
    number = world.number("US-002")
    sprint = new_milestone(world, "Sprint 2")
    world.sandbox.edit_issue(number, milestone=sprint)
    world.settle()
    issue = world.issue(number)
    assert issue["milestone"] is None  # moved back out of the sprint
    assert "dor:failed" in issue["labels"]
    [report] = world.reports(number)
    assert "Moved back (milestone Sprint 2 removed)" in report["body"]
    assert "the team enforces dor.estimated" in report["body"]

    # The bot's own demilestoned came back and was settled: it wrote nothing more.
    start = len(world.sandbox.requests())
    world.settle()
    assert world.writes_since(start) == []
    statuses = [r["status"] for r in world.app.state.service.inbox.list()]
    assert "failed" not in statuses and "parked" not in statuses

    # Estimated on the board: moving it into the sprint again now sticks.
    set_board_points(world, number, 5)
    world.settle()
    world.sandbox.edit_issue(number, milestone=sprint)
    world.settle()
    assert world.issue(number)["milestone"] == sprint
    [after] = world.reports(number)
    assert after["id"] == report["id"]
    assert "`dor.estimated`" not in after["body"]
    assert "Moved back" not in after["body"]


def test_a_ready_issue_keeps_its_milestone(enforcing: World) -> None:
    world = enforcing
    number = world.number("US-001")
    sprint = new_milestone(world, "Sprint 2")
    world.sandbox.edit_issue(number, milestone=sprint)
    world.settle()
    assert world.issue(number)["milestone"] == sprint
    assert world.reports(number) == []


def board_status(world: World, number: int) -> Any:
    item = world.sandbox.item_for_issue(number)
    assert item is not None
    return world.sandbox.projects.value_of(item, "Status")


def test_sandbox_card_move_reports_field_name_and_values(plain: World) -> None:
    world = plain
    number = world.number("US-001")
    repo = world.sandbox.repo
    sent: list[dict[str, Any]] = []
    repo.events.append(lambda event, payload: sent.append(payload))
    before = board_status(world, number)
    world.sandbox.move_status(number, "In Progress")
    [payload] = sent
    change = payload["changes"]["field_value"]
    assert change["field_name"] == "Status" and change["field_type"] == "single_select"
    assert change["to"]["name"] == "In Progress" and change["to"]["id"]
    assert (change["from"] or {}).get("name") == before
    assert change["project_number"] == world.sandbox.project()["number"]


def test_enforced_dor_puts_the_card_back_in_its_column(enforcing: World) -> None:
    world = enforcing
    number = world.number("US-002")
    before = board_status(world, number)
    assert before != "In Progress"
    world.sandbox.move_status(number, "In Progress")
    world.settle()
    assert board_status(world, number) == before
    [report] = world.reports(number)
    assert f"Moved back (Status In Progress back to {before or 'no status'})" in report["body"]
    start = len(world.sandbox.requests())
    world.settle()
    assert world.writes_since(start) == []

    # A ready story's card stays where it was put.
    ready = world.number("US-001")
    world.sandbox.move_status(ready, "In Progress")
    world.settle()
    assert board_status(world, ready) == "In Progress"
