"""The records that the Slack messages and the terminal render: the standup digest, a capacity
alert and a story's readiness report.

They sit below ``bot.slack.messages`` (and below the modules that compute them: ``standup``,
``alerts``, ``bot.slack.commands``), so the renderer never imports the code that builds what
it renders and no import cycle runs through the messages module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from backlog.model import Sprint
from bot.digests.sprint_state import SprintItem, SprintProgress, Status
from rules.base import Finding

ALERT_PREFIX = "capacity:"  # the alert_sent conditions of capacity alerts start with it


@dataclass(frozen=True)
class Blocker:
    story_id: str
    title: str
    status: Status
    urls: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class BlockedItem:
    item: SprintItem
    blockers: tuple[Blocker, ...]


@dataclass(frozen=True)
class NotReadyStory:
    story_id: str
    title: str
    urls: tuple[tuple[str, str], ...]
    rules: tuple[str, ...]


@dataclass(frozen=True)
class StandupDigest:
    progress: SprintProgress
    since: datetime | None
    moved_to_done: tuple[SprintItem, ...]
    in_progress: tuple[SprintItem, ...]
    blocked: tuple[BlockedItem, ...]
    next_sprint: Sprint | None
    not_ready: tuple[NotReadyStory, ...]
    chart_note: str = ""

    @property
    def done_ids(self) -> list[str]:
        return sorted(i.story_id for i in self.progress.items if i.status is Status.done)


@dataclass(frozen=True)
class CapacityAlert:
    kind: ClassVar[str] = "role"
    sprint: int
    role: str
    role_key: str
    level: str  # error | warning
    hours: float
    capacity: float
    load_pct: float
    threshold: float
    biggest: tuple[tuple[str, float], ...] = ()

    @property
    def condition(self) -> str:
        return f"{ALERT_PREFIX}{self.sprint}:{self.role_key}:{self.level}"


POINTS_ROLE = "points"  # the alert table's role column for points alerts


@dataclass(frozen=True)
class PointsAlert:
    """A sprint's committed points over its capacity (error) or recent velocity (warning)."""

    kind: ClassVar[str] = "points"
    sprint: int
    level: str  # error: over capacity | warning: over recent velocity
    points: float
    limit: float  # the capacity (error) or the recent velocity (warning)
    recent: tuple[tuple[str, float], ...] = ()  # most recently added stories, newest first
    role: str = POINTS_ROLE

    @property
    def condition(self) -> str:
        return f"{ALERT_PREFIX}{self.sprint}:{POINTS_ROLE}:{self.level}"

    @property
    def load_pct(self) -> float:
        return 100.0 * self.points / self.limit if self.limit else 0.0


Alert = CapacityAlert | PointsAlert


@dataclass(frozen=True)
class ReadyReport:
    """``/backlog ready``: one story's DoR and INVEST findings and what the trackers say."""

    story_id: str
    title: str
    urls: tuple[tuple[str, str], ...]
    where: str
    live_line: str
    findings: tuple[Finding, ...]
