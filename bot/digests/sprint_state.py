"""Where a sprint stands: its calendar, and the backlog joined with the live issue state.

The backlog says what each sprint commits; the ``sync_link`` rows pulled from Jira and GitHub
say what is done, in progress and who works on it, and which sprint an issue is in now (a
story moved into a running sprint by a webhook counts there). ``sprint_progress`` joins both
into a ``SprintProgress`` that the digest, ``/backlog status`` and the burndown chart read.

Sprint dates come from the ``[calendar]`` config table (``sprint1_start``, ``sprint_length_days``)
or from Jira sprint dates pulled into ``sync_link`` (kind ``sprint``, ``extra.start_date`` /
``extra.end_date``, or the ``start``/``end`` the Jira sync pushed), which win when present;
working days and holidays come from ``[calendar]`` too (``bot.digests.team_calendar``).

When a story reached done and when it moved into the sprint come from the trackers' history
where a pull recorded it (``extra.done_at`` / ``extra.sprint_since``: Jira's changelog, GitHub's
``closed_at``), else from the time the tracker last changed the issue.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from backlog.errors import ConfigurationError
from backlog.model import Backlog, Sprint, SprintCommitment, Story
from bot.digests.burndown_data import Burndown, ScopeEvent, compute_burndown
from bot.digests.team_calendar import WorkCalendar, work_calendar

DONE_STATUSES = frozenset({"done", "closed", "resolved", "complete", "completed", "merged"})
PROGRESS_STATUSES = frozenset(
    {"in progress", "in review", "review", "doing", "in development", "in_progress", "testing"}
)
DEFAULT_SPRINT_DAYS = 14
_WEEKS = re.compile(r"weeks?\s*(\d+)\s*(?:[-–]\s*(\d+))?", re.IGNORECASE)
_WEEK_RANGE = re.compile(r"(\d+)\s*(?:[-–]\s*(\d+))?")
_NUMBER = re.compile(r"(\d+)")
_SPRINT_NUMBER = re.compile(r"sprint[\s_-]*(\d+)", re.IGNORECASE)


class Status(StrEnum):
    done = "done"
    in_progress = "in_progress"
    todo = "todo"


def normalise_status(raw: str | None) -> Status:
    """Jira/GitHub workflow names to three buckets (``Done``, ``closed`` -> done ...)."""
    value = (raw or "").strip().casefold().replace("-", " ")
    if value in DONE_STATUSES:
        return Status.done
    if value in PROGRESS_STATUSES:
        return Status.in_progress
    return Status.todo


@dataclass(frozen=True)
class LiveIssue:
    """What the last pull sync saw of one story, merged over Jira and GitHub."""

    story_id: str
    status_raw: str | None = None
    assignee: str | None = None
    points: float | None = None
    sprint: str | None = None
    updated_at: datetime | None = None
    urls: tuple[tuple[str, str], ...] = ()  # (target, url), Jira first
    done_at: datetime | None = None  # when it reached done, per the tracker's history
    sprint_since: datetime | None = None  # when it moved into its current sprint

    @property
    def status(self) -> Status:
        return normalise_status(self.status_raw)

    @property
    def sprint_number(self) -> int | None:
        """``Sprint 3: API`` / ``BSS Sprint 3`` / ``sprint-3`` -> 3."""
        return sprint_number_of(self.sprint)


def sprint_number_of(name: str | None) -> int | None:
    match = _SPRINT_NUMBER.search(name or "") or _NUMBER.search(name or "")
    return int(match.group(1)) if match else None


def live_issues(links: Iterable[Any], prefer: str = "jira") -> dict[str, LiveIssue]:
    """Merge ``SyncLink`` rows (kind story) by backlog id; ``prefer`` decides on conflicts."""
    by_story: dict[str, list[Any]] = {}
    for link in links:
        if link.kind == "story":
            by_story.setdefault(link.backlog_id, []).append(link)
    merged: dict[str, LiveIssue] = {}
    for story_id, rows in by_story.items():
        rows.sort(key=lambda row: (row.target != prefer, row.target))
        first = next((row for row in rows if row.remote_status), rows[0])
        updated_at = first.remote_updated_at or first.updated_at
        merged[story_id] = LiveIssue(
            story_id=story_id,
            status_raw=first.remote_status,
            assignee=next((r.remote_assignee for r in rows if r.remote_assignee), None),
            points=next((r.remote_points for r in rows if r.remote_points is not None), None),
            sprint=_latest_sprint(rows),
            # when the tracker changed it, else when a pull first saw the current state
            updated_at=updated_at,
            urls=tuple((row.target, row.remote_url) for row in rows if row.remote_url),
            done_at=_history_time(first, "done_at") or updated_at,
            sprint_since=_sprint_since(rows),
        )
    return merged


def _history_time(row: Any, key: str) -> datetime | None:
    raw = (row.extra or {}).get(key)
    if not raw:
        return None
    try:
        return _aware(datetime.fromisoformat(str(raw)))
    except ValueError:
        return None


def _sprint_since(rows: list[Any]) -> datetime | None:
    """When the issue entered its current sprint: the tracker's history, else the last pull
    that changed it (an approximation the next pull with history replaces)."""
    known = [row for row in rows if row.remote_sprint]
    if not known:
        return None
    epoch = datetime.min.replace(tzinfo=UTC)
    latest = max(known, key=lambda row: _aware(row.updated_at) or epoch)
    return _history_time(latest, "sprint_since") or _aware(latest.updated_at)


def _latest_sprint(rows: list[Any]) -> str | None:
    """Sprint membership from the tracker that changed last (a webhook just moved it)."""
    known = [row for row in rows if row.remote_sprint]
    if not known:
        return None
    epoch = datetime.min.replace(tzinfo=UTC)
    return str(max(known, key=lambda row: _aware(row.updated_at) or epoch).remote_sprint)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


# --- calendar -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SprintDates:
    start: date
    end: date  # inclusive
    calendar: WorkCalendar = field(default_factory=WorkCalendar, compare=False)

    def working_days(self) -> list[date]:
        return self.calendar.working_days(self.start, self.end)


def sprint_calendar(
    backlog: Backlog, config: Mapping[str, Any], links: Iterable[Any] = ()
) -> dict[int, SprintDates]:
    """Dates of every sprint: Jira's sprint dates where pulled, else the configured calendar."""
    calendar: dict[int, SprintDates] = {}
    work = work_calendar(config)
    start_raw = config.get("sprint1_start")
    length = int(config.get("sprint_length_days", DEFAULT_SPRINT_DAYS))
    if start_raw:
        try:
            first = date.fromisoformat(str(start_raw))
        except ValueError as exc:
            raise ConfigurationError(
                f"[calendar] sprint1_start = {start_raw!r}: use a date like 2026-11-16"
            ) from exc
        for sprint in backlog.sprints:
            calendar[sprint.number] = _planned_dates(sprint, first, length, work)
    for link in links:
        if link.kind != "sprint":
            continue
        extra = link.extra or {}
        content = extra.get("content") or {}  # what the Jira sync pushed for the sprint
        start = extra.get("start_date") or content.get("start")
        end = extra.get("end_date") or content.get("end")
        number = sprint_number_of(link.backlog_id)
        if start and end and number is not None:
            calendar[number] = SprintDates(
                date.fromisoformat(str(start)[:10]), date.fromisoformat(str(end)[:10]), work
            )
    return calendar


def _planned_dates(sprint: Sprint, first: date, length: int, work: WorkCalendar) -> SprintDates:
    weeks = _WEEK_RANGE.fullmatch((sprint.weeks or "").strip()) or _WEEKS.search(
        sprint.weeks or sprint.name or ""
    )
    if weeks:
        first_week = int(weeks.group(1))
        last_week = int(weeks.group(2) or first_week)
        start = first + timedelta(weeks=first_week - 1)
        return SprintDates(start, first + timedelta(weeks=last_week) - timedelta(days=1), work)
    start = first + timedelta(days=length * (sprint.number - 1))
    return SprintDates(start, start + timedelta(days=length - 1), work)


def current_sprint_number(calendar: Mapping[int, SprintDates], today: date) -> int | None:
    for number, dates in sorted(calendar.items()):
        if dates.start <= today <= dates.end:
            return number
    return None


# --- progress -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SprintItem:
    """One story of a sprint with its live state."""

    story_id: str
    title: str
    points: float
    status: Status
    status_raw: str | None
    assignee: str | None
    urls: tuple[tuple[str, str], ...]
    done_at: datetime | None
    depends_on: tuple[str, ...]
    added_live: bool = False  # in the sprint per Jira/GitHub, not per the backlog's plan
    joined_at: datetime | None = None  # when an added story moved in (None: planned)


@dataclass(frozen=True)
class SprintProgress:
    sprint: Sprint
    dates: SprintDates | None
    today: date
    items: tuple[SprintItem, ...]
    removed: tuple[str, ...] = ()  # planned here but moved to another sprint in Jira/GitHub
    chart: Burndown = field(default_factory=lambda: Burndown(0.0, 0.0, ()))

    @property
    def burndown(self) -> tuple[tuple[date, float], ...]:
        """Points remaining at the end of each elapsed working day."""
        return tuple((point.day, point.remaining) for point in self.chart.days)

    @property
    def committed_points(self) -> float:
        return sum(item.points for item in self.items)

    @property
    def done_points(self) -> float:
        return sum(item.points for item in self.items if item.status is Status.done)

    @property
    def working_days(self) -> list[date]:
        return self.dates.working_days() if self.dates else []

    @property
    def day(self) -> int:
        """Working day number of ``today`` (1-based; 0 before the sprint starts)."""
        return sum(1 for day in self.working_days if day <= self.today)

    @property
    def days(self) -> int:
        return len(self.working_days)

    def ideal_remaining(self, day: int) -> float:
        """Points the ideal line leaves after ``day`` working days."""
        if not self.days:
            return self.committed_points
        return self.committed_points * max(0.0, 1 - day / self.days)


def sprint_progress(
    backlog: Backlog,
    sprint_number: int,
    live: Mapping[str, LiveIssue],
    calendar: Mapping[int, SprintDates],
    today: date,
    zone: tzinfo | None = None,
) -> SprintProgress:
    """The sprint's stories (plan, plus live additions, minus live removals) and burndown.

    ``zone`` is the team's time zone: a story done at 23:30 in Berlin is done that day.
    """
    sprint = next((s for s in backlog.sprints if s.number == sprint_number), None)
    if sprint is None:
        known = ", ".join(str(s.number) for s in backlog.sprints) or "none"
        raise ConfigurationError(f"sprint {sprint_number} is not in the backlog (sprints: {known})")
    stories = backlog.stories_by_id()
    planned = {item.story_id: item for item in sprint.committed if not item.continued}
    members: dict[str, bool] = {}
    removed: list[str] = []
    for story_id in planned:
        moved_to = live[story_id].sprint_number if story_id in live else None
        if moved_to is not None and moved_to != sprint_number:
            removed.append(story_id)
        else:
            members[story_id] = False
    for story_id, issue in live.items():
        if issue.sprint_number == sprint_number and story_id not in members:
            members[story_id] = True
    items = []
    for story_id, added in members.items():
        story = stories.get(story_id)
        items.append(
            _item(story_id, story, planned.get(story_id), live.get(story_id), added, backlog)
        )
    dates = calendar.get(sprint_number)
    departures = [
        _item(
            story_id, stories.get(story_id), planned[story_id], live.get(story_id), False, backlog
        )
        for story_id in removed
    ]
    events = [_event(item, zone) for item in items]
    events.extend(
        # moved out at an unknown time: out from today
        ScopeEvent(item.story_id, item.points, left=_day(_left_at(live, item), zone) or date.max)
        for item in departures
    )
    chart = compute_burndown(dates.working_days() if dates else [], today, events)
    return SprintProgress(sprint, dates, today, tuple(items), tuple(removed), chart)


def _left_at(live: Mapping[str, LiveIssue], item: SprintItem) -> datetime | None:
    issue = live.get(item.story_id)
    return issue.sprint_since if issue else None


def _day(moment: datetime | None, zone: tzinfo | None) -> date | None:
    if moment is None:
        return None
    return (moment.astimezone(zone) if zone and moment.tzinfo else moment).date()


def _event(item: SprintItem, zone: tzinfo | None) -> ScopeEvent:
    done = None
    if item.status is Status.done:
        # done at an unknown time: counted today (the slot of ``None``)
        done = _day(item.done_at, zone) if item.done_at else None
    joined = _day(item.joined_at, zone) if item.added_live else None
    if item.added_live and joined is None:
        joined = date.max  # moved in at an unknown time: counted from today
    if item.status is Status.done and done is None:
        done = date.max
    return ScopeEvent(item.story_id, item.points, joined=joined, done=done)


def _item(
    story_id: str,
    story: Story | None,
    commitment: SprintCommitment | None,
    issue: LiveIssue | None,
    added: bool,
    backlog: Backlog,
) -> SprintItem:
    points: float | None = issue.points if issue else None
    if points is None and story is not None:
        points = story.points
    if points is None and commitment is not None:
        points = commitment.points
    status = issue.status if issue else Status.todo
    return SprintItem(
        story_id=story_id,
        title=(story_name(story) if story else getattr(commitment, "title", "")) or story_id,
        points=float(points or 0),
        status=status,
        status_raw=issue.status_raw if issue else None,
        assignee=issue.assignee if issue else None,
        urls=issue.urls if issue else (),
        done_at=issue.done_at if issue and status is Status.done else None,
        depends_on=dependencies_of(backlog, story_id),
        added_live=added,
        joined_at=issue.sprint_since if issue and added else None,
    )


def story_name(story: Story) -> str:
    """A short name: the heading without its ``Story 1.1:`` label, else the title."""
    heading = re.sub(r"^\s*story\s+[\w.-]+\s*[:\-–]\s*", "", story.heading, flags=re.IGNORECASE)
    return heading.strip() or story.title or story.id


def dependencies_of(backlog: Backlog, story_id: str) -> tuple[str, ...]:
    """Story ids ``story_id`` depends on: its own field and the dependency matrix."""
    ids: list[str] = []
    story = backlog.story(story_id)
    if story is not None:
        ids.extend(story.story_dependency_ids)
    for row in backlog.dependency_matrix:
        if row.story_id == story_id:
            for dep in row.depends_on:
                if dep.kind == "story" and dep.target:
                    ids.append(dep.target)
                ids.extend(dep.resolved)
    return tuple(dict.fromkeys(i for i in ids if i != story_id))


def pts(value: float | None) -> str:
    """Story points as people write them: ``5``, ``2.5``, ``?`` when unknown."""
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def sprint_title(progress: SprintProgress) -> str:
    """``Sprint 2: Customer Self-Service`` (the digest's, the chart's and the page's title)."""
    name = progress.sprint.name or progress.sprint.goal or ""
    return f"Sprint {progress.sprint.number}" + (f": {name}" if name else "")
