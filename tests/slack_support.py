"""Shared set-up of the Slack tests: a migrated database, the Slack sandbox, a small team
backlog (``tests/data/slack-team.md``), live issue state as a pull sync leaves it, and a
frozen team clock (Thursday 19 Nov 2026, 09:30 in Berlin: day 4 of sprint 1)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import App
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.digests.context import SlackConfig, SlackContext
from bot.settings import Settings, load_settings
from sandbox.slack import SlackSandbox
from sync.state.tables import SyncLink

DATA = Path(__file__).resolve().parent / "data"
TEAM_BACKLOG = DATA / "slack-team.md"
BERLIN = ZoneInfo("Europe/Berlin")
FROZEN = datetime(2026, 11, 19, 9, 30, tzinfo=BERLIN)
ADMIN = "U0ADMIN001"
MEMBER = "U0MEMBER01"
CALENDAR = {"sprint1_start": "2026-11-16", "sprint_length_days": 14}

# The standup digest of the frozen team data, line by line (terminal rendering); the CLI and
# the digest tests both compare against it.
EXPECTED_STANDUP_LINES = [
    "Standup · Sprint 1: Take Payments",
    "Day 4 of 10 (Mon 16 Nov – Fri 27 Nov)",
    "13 of 26 points done (50%)",
    "Ideal by today: 10.4 points done, 2.6 points ahead of the ideal line",
    "",
    "Done so far (1)",
    "  - US-001 Payment Gateway · 13 pts · Bob",
    "In progress (1)",
    "  - US-002 Refunds <!channel> · 8 pts · Alice <Ops> & Co",
    "Blocked (1)",
    "  - US-003 Payment Reports · waiting for US-002 (In progress)",
    "Sprint 2 stories not ready (1)",
    "  - US-005 Saved Cards · dor.acceptance-criteria, dor.prioritized, dor.user-story",
]


def slack_settings(database_url: str, slack: SlackSandbox, **extra: Any) -> Settings:
    return load_settings(
        database_url=database_url,
        backlog_file=str(TEAM_BACKLOG),
        timezone="Europe/Berlin",
        slack_admins=ADMIN,
        **{key.lower(): value for key, value in slack.env().items()},
        **extra,
    )


def slack_context(settings: Settings, engine: Engine, clock: Any = None) -> SlackContext:
    config = SlackConfig(admins=(ADMIN,), warn_pct=85.0, calendar=CALENDAR)
    return SlackContext(settings, engine, config=config, clock=clock or (lambda: FROZEN))


def link(target: str, story: str, key: str, status: str, **fields: Any) -> SyncLink:
    base = {
        "jira": f"https://jira.example.test/browse/{key}",
        "github": f"https://github.example.test/acme/payments/issues/{key.lstrip('#')}",
    }[target]
    values: dict[str, Any] = {
        "target": target,
        "kind": "story",
        "backlog_id": story,
        "remote_id": key,
        "remote_key": key,
        "remote_url": base,
        "remote_status": status,
        "created_at": datetime(2026, 11, 16, 8, 0, tzinfo=UTC),
        "updated_at": datetime(2026, 11, 16, 8, 0, tzinfo=UTC),
    }
    return SyncLink(**{**values, **fields})


def pulled_state() -> list[SyncLink]:
    """What a pull sync recorded: US-001 done on Wednesday, US-002 in progress, ..."""
    return [
        link(
            "jira",
            "US-001",
            "PAY-1",
            "Done",
            remote_assignee="Bob",
            remote_sprint="PAY Sprint 1",
            remote_updated_at=datetime(2026, 11, 18, 15, 0, tzinfo=UTC),
        ),
        link("github", "US-001", "#1", "closed"),
        link(
            "jira",
            "US-002",
            "PAY-2",
            "In Progress",
            remote_assignee="Alice <Ops> & Co",
            remote_sprint="PAY Sprint 1",
        ),
        link("jira", "US-003", "PAY-3", "To Do", remote_sprint="PAY Sprint 1"),
        link("jira", "US-004", "PAY-4", "To Do", remote_sprint="PAY Sprint 2"),
        link("jira", "US-005", "PAY-5", "To Do", remote_sprint="PAY Sprint 2"),
    ]


def store_links(engine: Engine, links: list[SyncLink]) -> None:
    with Session(engine) as session:
        for row in links:
            session.add(row)
        session.commit()


def set_live(engine: Engine, story: str, target: str = "jira", **values: Any) -> None:
    """Change what the trackers say about one story (as a later pull or webhook would)."""
    from sqlmodel import select

    with Session(engine) as session:
        row = session.exec(
            select(SyncLink).where(SyncLink.backlog_id == story, SyncLink.target == target)
        ).one()
        for key, value in values.items():
            setattr(row, key, value)
        session.add(row)
        session.commit()


def finish_lazy_listeners(app: App, timeout: float = 10.0) -> None:
    """Return once every lazy listener bolt has started so far has finished.

    The positive signal behind "this command posted no reply": bolt submits a command's lazy
    listeners to its listener executor before it answers the request, so once that executor
    has shut down with ``wait=True`` every reply the bot was going to send has been sent (and
    recorded by the sandbox, which records before it answers). The app takes no new lazy work
    afterwards: call this last in a test.
    """
    done = threading.Event()

    def shut_down() -> None:
        app.listener_runner.listener_executor.shutdown(wait=True)
        done.set()

    threading.Thread(target=shut_down, daemon=True).start()
    if not done.wait(timeout):
        raise AssertionError(f"bolt's lazy listeners still running after {timeout} s")
