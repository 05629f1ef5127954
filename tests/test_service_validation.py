"""Webhook-triggered validation end to end: sandbox GitHub -> signed webhook -> service ->
worker -> rules -> one comment edited in place and a label set/cleared on the sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from backlog.parse import load_backlog
from bot.service.app import create_app
from bot.settings import load_settings
from bot.validation.report_text import MARKER
from bot.wiring.container import build_service
from sandbox.github import GitHubSandbox
from tests.github_support import github_target, migrated_engine
from tests.service_support import GITHUB_SECRET, LiveApp, github_delivery, wait_until

ROOT = Path(__file__).resolve().parent.parent
BILLING = ROOT / "tests" / "data" / "billing-backlog.md"
UNREADY = (
    "**Story Points:** 5\n**Priority:** Medium",
    "**Story Points:** TBD\n**Priority:** Medium",
)
BENEFIT = (
    "> As a customer, I want to download an invoice as PDF.",
    "> As a customer, I want to download an invoice as PDF so that I can file it.",
)
BOT_LOGIN = "backlog-bot[bot]"


def unready_backlog() -> str:
    text = BILLING.read_text()
    assert UNREADY[0] in text
    return text.replace(*UNREADY)


def fixed_backlog() -> str:
    return BILLING.read_text().replace(*BENEFIT)


class World:
    def __init__(
        self, sandbox: GitHubSandbox, engine: Any, backlog: Path, app: Any, url: str
    ) -> None:
        self.url = url
        self.sandbox = sandbox
        self.engine = engine
        self.backlog = backlog
        self.app = app

    def sync(self) -> None:
        with github_target(self.sandbox, self.engine) as target:
            report = target.sync.apply(load_backlog(self.backlog))
            assert not report.failures, report.failures

    def number(self, story: str) -> int:
        [number] = self.sandbox.issues_by_marker()[story]
        return number

    def issue(self, number: int) -> dict[str, Any]:
        return self.sandbox.repo.issue(number)

    def reports(self, number: int) -> list[dict[str, Any]]:
        return [
            c
            for c in self.sandbox.repo.comments.values()
            if c["issue"] == number and MARKER in c["body"]
        ]

    def settle(self) -> None:
        """Wait until the sandbox delivered its webhooks and the worker processed them."""
        inbox = self.app.state.service.inbox
        for _ in range(2):  # what the bot's own writes sent in turn is settled too
            self.sandbox.webhooks.drain()
            wait_until(
                lambda: inbox.counts()["queued"] == 0 and inbox.counts()["processing"] == 0,
                timeout=20,
                what="inbox drained",
            )

    def deliver(self, payload: dict[str, Any], event: str) -> str:
        body, headers = github_delivery(payload, event)
        response = httpx.post(self.url + "/webhooks/github", content=body, headers=headers)
        assert response.status_code == 202, response.text
        self.settle()
        inbox = self.app.state.service.inbox
        return str(
            next(r for r in inbox.list() if r["delivery_id"] == headers["X-GitHub-Delivery"])[
                "status"
            ]
        )

    def writes_since(self, start: int) -> list[dict[str, Any]]:
        """REST writes and GraphQL mutations (GraphQL reads are POSTs too)."""
        return [
            r
            for r in self.sandbox.requests()[start:]
            if r["method"] in ("POST", "PATCH")
            and not (r["path"] == "/graphql" and "mutation" not in str(r["body"]))
        ]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with open_world(tmp_path, monkeypatch, enforce=("dod.reviewed",)) as world:
        yield world


@contextmanager
def open_world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, enforce: tuple[str, ...]
) -> Iterator[World]:
    """The synced billing backlog on a sandbox GitHub whose webhooks reach a live service."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = migrated_engine(url)
    backlog = tmp_path / "backlog.md"
    backlog.write_text(unready_backlog())
    config = tmp_path / "backlog-bot.toml"
    config.write_text(
        f'[validation]\nbot-logins = ["{BOT_LOGIN}"]\nenforce = {json.dumps(list(enforce))}\n'
        'backlog-path = "backlog.md"\n'
    )
    monkeypatch.setenv("BACKLOG_BOT_CONFIG", str(config))
    with GitHubSandbox() as sandbox:
        settings = load_settings(
            database_url=url,
            github_webhook_secret=GITHUB_SECRET,
            backlog_file=str(backlog),
            webhook_poll_seconds=0.2,
            **{k.lower(): v for k, v in sandbox.env().items()},
        )
        app = create_app(build_service(settings, engine=engine, scheduler=False))
        with LiveApp(app) as live:
            world = World(sandbox, engine, backlog, app, live.url)
            world.sync()  # issues exist before the hook is installed, as after `apply`
            sandbox.webhooks.configure(live.url + "/webhooks/github", GITHUB_SECRET)
            yield world
    engine.dispose()


def test_unready_story_moved_on_the_board_gets_comment_and_label_then_fix_clears_it(
    world: World,
) -> None:
    number = world.number("US-002")
    assert world.number("US-001") != number
    # The team moves the unready story on the board (projects_v2_item edited).
    world.sandbox.move_status(number, "In Progress")
    world.settle()
    [report] = world.reports(number)
    assert "dor:failed" in world.issue(number)["labels"]
    assert "❌ US-002 does not meet the Definition of Ready / INVEST" in report["body"]
    assert "`dor.estimated`" in report["body"] and "`invest.valuable`" in report["body"]
    assert "backlog line" in report["body"]
    comment_id = report["id"]
    metrics = world.app.state.service.metrics.render()
    assert b'backlog_bot_findings_total{rule="dor.estimated",severity="warning"} 1.0' in metrics

    # Same state, another hint (an edit by a person): nothing is written again.
    start = len(world.sandbox.requests())
    world.sandbox.edit_issue(number, title=world.issue(number)["title"] + " ")
    world.settle()
    assert world.writes_since(start) == [
        r
        for r in world.writes_since(start)
        if r["path"].endswith(f"/issues/{number}") and "title" in (r["body"] or {})
    ]
    assert len(world.reports(number)) == 1

    # The team fixes the story in the backlog and applies it: the issue body changes,
    # GitHub sends `issues edited`, the bot re-checks, clears the label, edits its comment.
    world.backlog.write_text(fixed_backlog())
    world.sync()
    world.settle()
    [report] = world.reports(number)
    assert report["id"] == comment_id
    assert "✅ US-002 meets the Definition of Ready / INVEST" in report["body"]
    assert "dor:failed" not in world.issue(number)["labels"]

    # A ready story that never failed gets no comment at all.
    ready = world.number("US-001")
    world.sandbox.move_status(ready, "In Progress")
    world.settle()
    assert world.reports(ready) == []


def test_the_bots_own_events_are_ignored(world: World) -> None:
    number = world.number("US-002")
    issue = world.sandbox.repo.issue_shape(number)
    payload = {
        "action": "edited",
        "issue": issue,
        "changes": {},
        "repository": world.sandbox.repo.repo_shape(),
        "sender": {"login": BOT_LOGIN, "type": "Bot"},
    }
    assert world.deliver(payload, "issues") == "ignored"
    assert world.reports(number) == []
    # The same event from a person is a trigger.
    payload["sender"] = {"login": "octocat", "type": "User"}
    assert world.deliver(payload, "issues") == "done"
    assert len(world.reports(number)) == 1


def test_closing_without_review_runs_dod_and_reopens_when_enforced(world: World) -> None:
    number = world.number("US-001")
    for n in range(3):  # other work in the repository: the check must not page through it
        world.sandbox.open_pull_request(f"Other {n}", branch=f"other-{n}", closes=None)
    pull = world.sandbox.open_pull_request("Invoice list", closes=number)
    world.sandbox.check_run(pull["number"], "ci", "success")
    world.settle()
    world.sandbox.clear_requests()
    world.sandbox.close_issue(number)  # closed by hand, PR neither reviewed nor merged
    world.settle()
    asked = [(r["method"], r["path"]) for r in world.sandbox.requests()]
    assert ("GET", "/repos/acme/bss/pulls") not in asked  # found through the issue instead
    assert asked.count(("POST", "/graphql")) >= 1
    [report] = world.reports(number)
    assert "❌ US-001 does not meet the Definition of Done" in report["body"]
    assert "`dod.reviewed`" in report["body"]
    assert "Reopened: the team enforces dod.reviewed" in report["body"]
    issue = world.issue(number)
    assert "dod:failed" in issue["labels"]
    assert issue["state"] == "open"  # enforcement reopened it

    # Tick the acceptance checklist, review, merge (which closes the issue): the DoD holds;
    # the label is cleared and the same comment edited.
    body = world.issue(number)["body"]
    assert "- [ ]" in body
    world.sandbox.edit_issue(number, body=body.replace("- [ ]", "- [x]"))
    world.sandbox.review(pull["number"])
    world.sandbox.merge(pull["number"])
    world.settle()
    [after] = world.reports(number)
    assert after["id"] == report["id"]
    assert "✅ US-001 meets the Definition of Done" in after["body"], after["body"]
    issue = world.issue(number)
    assert issue["state"] == "closed" and "dod:failed" not in issue["labels"]


def test_events_of_other_repositories_are_ignored(world: World) -> None:
    payload = {
        "action": "opened",
        "issue": {"number": 1, "body": ""},
        "repository": {"full_name": "someone/else"},
        "sender": {"login": "x"},
    }
    assert world.deliver(payload, "issues") == "ignored"


def check_runs(world: World) -> list[dict[str, Any]]:
    return [
        r["body"] for r in world.sandbox.requests()
        if r["method"] == "POST" and r["path"].endswith("/check-runs")
    ]  # fmt: skip


def test_pull_request_changing_the_backlog_gets_an_annotated_check_run(world: World) -> None:
    pull = world.sandbox.open_pull_request(
        "Plan sprint 1", branch="plan", files={"backlog.md": BILLING.read_text()}
    )
    world.settle()
    [run] = check_runs(world)
    assert run["name"] == "backlog-bot/validate"
    assert run["head_sha"] == world.sandbox.flow.pull(pull["number"])["head_sha"]
    assert run["conclusion"] == "failure"
    notes = {
        (a["title"], a["start_line"], a["annotation_level"]) for a in run["output"]["annotations"]
    }
    assert ("capacity.points", 69, "failure") in notes
    assert ("consistency.epic-points", 12, "failure") in notes
    assert ("invest.valuable", 53, "warning") in notes
    assert all(a["path"] == "backlog.md" for a in run["output"]["annotations"])
    assert run["output"]["title"].startswith("4 error(s), 2 warning(s)")

    # A pull request that leaves the backlog alone gets no check run.
    world.sandbox.open_pull_request("Code", branch="code", files={"src/app.py": "print(1)\n"})
    world.settle()
    assert len(check_runs(world)) == 1


def test_push_to_the_default_branch_validates_and_plans(world: World) -> None:
    sha = world.sandbox.push_files({"backlog.md": fixed_backlog()})
    world.settle()
    [run] = check_runs(world)
    assert (run["name"], run["head_sha"], run["conclusion"]) == ("backlog-bot/plan", sha, "failure")
    assert "github: plan" in run["output"]["summary"]
    assert " update, " in run["output"]["summary"]  # US-002's text changed
    # Other branches, and pushes that do not touch the backlog, are not planned.
    world.sandbox.push_files({"backlog.md": fixed_backlog() + "\n"}, branch="topic")
    world.sandbox.push_files({"README.md": "hello"})
    world.settle()
    assert len(check_runs(world)) == 1


def test_reconcile_pulls_every_configured_target(world: World) -> None:
    from bot.validation.backlog_check import configured_targets
    from bot.validation.reconcile import reconcile

    settings = world.app.state.service.settings
    metrics = world.app.state.service.metrics
    assert reconcile(settings, configured_targets(settings), metrics) == [
        "github: read 3 issues, 3 changed"  # first pull records every issue's state
    ]
    assert reconcile(settings, None, metrics) == ["github: read 3 issues, 0 changed"]
    world.sandbox.webhooks.configure(None)  # the next change's webhook is "missed"
    world.sandbox.add_assignee(world.number("US-001"), "alice")
    assert reconcile(settings, None, metrics) == ["github: read 3 issues, 1 changed"]
    assert b'backlog_bot_sync_runs_total{direction="pull",outcome="ok",target="github"} 3.0' in (
        metrics.render()
    )
