"""Webhook-triggered validation on Jira, end to end against the Jira sandbox: an unestimated
story moved into a sprint gets one comment and ``dor:failed``; estimating it in Jira clears
the label and edits the same comment; the bot's own label writes trigger nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from backlog.parse import load_backlog
from bot.service.app import create_app
from bot.settings import load_settings
from bot.validation.jira import REPORT_PROPERTY
from bot.wiring.container import build_service
from sandbox.jira import JiraSandbox, ProjectSpec
from sync.jira.adapter import JiraAdapter
from sync.jira.engine import JiraSync
from sync.jira.port import IssueWrite
from sync.state.db import make_engine, upgrade
from sync.state.links import LinkStore
from tests.jira_support import MAPPING, login_email
from tests.service_support import JIRA_SECRET, LiveApp, wait_until
from tests.test_service_validation import BENEFIT, UNREADY

pytestmark = pytest.mark.usefixtures("jira_deployment")  # Cloud and Data Center

BILLING = Path(__file__).resolve().parent / "data" / "billing-backlog.md"


class Site:
    def __init__(self, sandbox: JiraSandbox, app: Any, adapter: JiraAdapter, url: str) -> None:
        self.url = url  # the live service
        self.sandbox = sandbox
        self.app = app
        self.adapter = adapter
        self.config = adapter.discover()

    def key(self, story: str) -> str:
        [key] = self.sandbox.issues_by_label(f"backlog-id-{story}")
        return key

    def reports(self, key: str) -> list[dict[str, Any]]:
        issue = self.sandbox.state.issue(key)
        assert issue is not None
        return [dict(c) for c in issue.comments if REPORT_PROPERTY in c["properties"]]

    def labels(self, key: str) -> list[str]:
        issue = self.sandbox.state.issue(key)
        assert issue is not None
        return list(issue.fields.get("labels") or [])

    def settle(self) -> None:
        """Deliveries sent, processed, and what processing sent in turn (two rounds)."""
        inbox = self.app.state.service.inbox
        for _ in range(2):
            self.sandbox.webhooks.flush()
            wait_until(
                lambda: inbox.counts()["queued"] + inbox.counts()["processing"] == 0,
                timeout=20,
                what="inbox drained",
            )

    def writes(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.sandbox.requests if r.method in ("POST", "PUT")]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with open_site(tmp_path) as site:
        yield site


@contextmanager
def open_site(tmp_path: Path) -> Iterator[Site]:
    """The synced billing backlog on a sandbox Jira whose webhooks reach a live service."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)
    engine = make_engine(url)
    backlog = tmp_path / "backlog.md"
    backlog.write_text(BILLING.read_text().replace(*BENEFIT).replace(*UNREADY))
    with JiraSandbox([ProjectSpec("BSS", flavour="team")]) as sandbox:
        adapter = JiraAdapter(
            sandbox.url, login_email(sandbox), sandbox.token, "BSS", requests_per_second=0
        )
        report = JiraSync(adapter, LinkStore(engine, "jira"), MAPPING).apply(
            load_backlog(backlog), str(backlog)
        )
        assert not getattr(report, "errors", None)
        settings = load_settings(
            database_url=url,
            jira_webhook_secret=JIRA_SECRET,
            backlog_file=str(backlog),
            webhook_poll_seconds=0.2,
            **{k.lower(): v for k, v in sandbox.env().items()},
        )
        app = create_app(build_service(settings, engine=engine, scheduler=False))
        with LiveApp(app) as live:
            sandbox.webhooks.configure(live.url + "/webhooks/jira", JIRA_SECRET)
            yield Site(sandbox, app, adapter, live.url)
        adapter.close()
    engine.dispose()


def test_unestimated_story_moved_into_a_sprint_then_estimated_in_jira(site: Site) -> None:
    key = site.key("US-002")
    board = site.config.board_id
    assert board is not None
    sprint = site.adapter.create_sprint(board, "Sprint 2", "Invoices, continued", None, None)
    site.adapter.move_to_sprint(sprint.id, [key])
    site.settle()
    [report] = site.reports(key)
    # wiki markup (sent through v2), the marker in a comment property, not in the text
    assert report["body"].startswith(
        "h3. (x) US-002 does not meet the Definition of Ready / INVEST\n"
    )
    assert "* *warning* {{dor.estimated}} (backlog line 45): " in report["body"]
    assert not any(md in report["body"] for md in ("<!--", "**", "`", "###", "❌"))
    assert report["properties"][REPORT_PROPERTY]["stamp"].startswith("dor:")
    assert "dor:failed" in site.labels(key)

    # The bot's own label write came back as jira:issue_updated (labels only): ignored.
    statuses = [row["status"] for row in site.app.state.service.inbox.list()]
    assert statuses == ["ignored", "done"]

    # The team estimates the story in Jira: the live estimate counts, the report is edited.
    points_field = site.config.points_field
    assert points_field
    site.adapter.update_issue(key, IssueWrite("US-002", {points_field: 5}))
    site.settle()
    [after] = site.reports(key)
    assert after["id"] == report["id"]
    assert after["body"].startswith("h3. (/) US-002 meets the Definition of Ready / INVEST")
    assert "dor:failed" not in site.labels(key)
