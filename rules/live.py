"""Snapshots of live issues, filled by the service from Jira or GitHub data.

The DoD rules (``rules.done``) read only these plain records, so they can be tested without
any service and the service can build them from whichever tracker it talks to. Field values
are what the tracker reports at the moment of the check; ``None`` means "not known" and makes
the corresponding rule stay silent rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CheckConclusion = Literal[
    "success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required"
]
CheckState = Literal["queued", "in_progress", "completed"]


@dataclass(frozen=True, slots=True)
class CheckRun:
    """A CI check or commit status on a pull request's head commit."""

    name: str
    state: CheckState = "completed"
    conclusion: CheckConclusion | None = None
    required: bool = True

    @property
    def is_green(self) -> bool:
        return self.state == "completed" and self.conclusion in ("success", "neutral", "skipped")


@dataclass(frozen=True, slots=True)
class PullRequestSnapshot:
    """A pull request linked to the issue."""

    number: int
    url: str = ""
    merged: bool = False
    state: Literal["open", "closed"] = "open"
    approvals: int = 0
    changes_requested: int = 0
    checks: tuple[CheckRun, ...] = ()
    coverage_pct: float | None = None
    changed_files: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LiveSubtask:
    key: str
    title: str = ""
    done: bool = False


@dataclass(frozen=True, slots=True)
class ChecklistEntry:
    """An acceptance-criteria checklist item in the issue body (``- [x] ...``)."""

    text: str
    checked: bool = False


@dataclass(frozen=True, slots=True)
class LiveIssue:
    """A Jira issue or GitHub issue as the DoD rules see it.

    ``story_id`` links it to the backlog story (``US-001``) when known; findings use it as their
    item, else ``key``. ``done`` is true when the issue is (being) moved to a done status: the
    DoD rules check only such issues.
    """

    key: str
    story_id: str | None = None
    title: str = ""
    url: str = ""
    status: str = ""
    done: bool = False
    pull_requests: tuple[PullRequestSnapshot, ...] = ()
    subtasks: tuple[LiveSubtask, ...] = ()
    checklist: tuple[ChecklistEntry, ...] = ()

    @property
    def item(self) -> str:
        return self.story_id or self.key
