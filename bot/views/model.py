"""What the sprint planning page shows, as plain data (no HTML here).

The numbers are the ones the rest of the bot uses: sprint loads from ``rules.capacity`` over
the backlog with the live sprint membership applied (as the capacity alerts see it), the
burndown of ``bot.digests.sprint_state`` (as the standup digest), the Monte Carlo forecast of
``rules.forecast`` (as ``backlog-bot capacity``) and the findings of the rules engine.

Only public links end up on the page: the issues' browse URLs that Jira and GitHub returned
and, when configured, the web address of the backlog file; never an API URL or a setting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from backlog.model import Backlog
from bot.digests.alerts import with_live_sprints
from bot.digests.sprint_state import (
    LiveIssue,
    SprintDates,
    SprintProgress,
    sprint_progress,
    story_name,
)
from rules.base import Finding, Severity
from rules.capacity import sprint_loads, velocities
from rules.config import RulesConfig
from rules.context import RuleContext
from rules.forecast import Forecast, monte_carlo

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
TARGET_LABEL = {"jira": "Jira", "github": "GitHub"}


@dataclass(frozen=True)
class Load:
    """One heat map cell: ``value`` of ``capacity`` (points or hours) and its level."""

    value: float
    capacity: float | None
    level: str  # ok | warn | over | none

    @property
    def pct(self) -> float | None:
        return 100.0 * self.value / self.capacity if self.capacity else None


@dataclass(frozen=True)
class SprintColumn:
    number: int
    name: str
    goal: str
    dates: SprintDates | None
    points: Load
    roles: Mapping[str, Load]
    stories: tuple[str, ...]
    running: bool = False


@dataclass(frozen=True)
class HeatMap:
    roles: tuple[tuple[str, str], ...]  # (key, name) in the team table's order
    sprints: tuple[SprintColumn, ...]


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class FindingGroup:
    item: str
    title: str
    line: int
    links: tuple[Link, ...]
    findings: tuple[Finding, ...]

    @property
    def worst(self) -> str:
        return min((f.severity.value for f in self.findings), key=SEVERITY_ORDER.__getitem__)


@dataclass(frozen=True)
class PlanningPage:
    title: str
    backlog_name: str
    today: date
    heat: HeatMap
    progress: SprintProgress | None
    forecast: Forecast | None
    findings: tuple[FindingGroup, ...]
    warn_pct: float
    counts: Mapping[str, int] = field(default_factory=dict)


def level(value: float, capacity: float | None, warn_pct: float) -> str:
    if not capacity:
        return "none"
    share = 100.0 * value / capacity
    if share > 100:
        return "over"
    return "warn" if share > warn_pct else "ok"


def heat_map(
    backlog: Backlog, live: Mapping[str, LiveIssue], warn_pct: float, running: int | None
) -> HeatMap:
    """Points and each role's hours per sprint, against capacity (live membership applied)."""
    planned = with_live_sprints(backlog, live)
    ctx = RuleContext(planned)
    team = [(role.key, role.name) for role in ctx.team.roles]
    extra: list[tuple[str, str]] = []
    columns = []
    for load in sprint_loads(ctx):
        roles = {}
        for role in load.roles:
            if role.key not in dict(team) and role.hours and (role.key, role.name) not in extra:
                extra.append((role.key, role.name))
            roles[role.key] = Load(
                role.hours, role.capacity, level(role.hours, role.capacity, warn_pct)
            )
        cap = load.sprint.capacity_points
        columns.append(
            SprintColumn(
                number=load.sprint.number,
                name=load.sprint.name,
                goal=load.sprint.goal or "",
                dates=None,
                points=Load(float(load.points), cap, level(load.points, cap, warn_pct)),
                roles=roles,
                stories=tuple(story for story, _ in load.by_story),
                running=load.sprint.number == running,
            )
        )
    return HeatMap(tuple(team + extra), tuple(columns))


def finding_groups(
    backlog: Backlog,
    findings: Iterable[Finding],
    live: Mapping[str, LiveIssue],
    backlog_url: str | None,
) -> tuple[FindingGroup, ...]:
    """Findings by story (epic, sprint, ...), worst first, with links to the issues and line."""
    stories = backlog.stories_by_id()
    epics = {epic.id: epic for epic in backlog.epics}
    sprints = {sprint.id: sprint for sprint in backlog.sprints}
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.item or "backlog", []).append(finding)
    groups = []
    for item, found in grouped.items():
        found.sort(key=lambda f: (SEVERITY_ORDER.get(f.severity.value, 3), f.line, f.rule))
        line = 0
        title = ""  # an item that is no story, epic or sprint ("backlog") is its own title
        if item in stories:
            title, line = story_name(stories[item]), stories[item].line
        elif item in epics:
            title, line = epics[item].name or item, epics[item].line
        elif item in sprints:
            sprint = sprints[item]
            title = f"Sprint {sprint.number}" + (f": {sprint.name}" if sprint.name else "")
            line = sprint.line
        line = line or min((f.line for f in found if f.line), default=0)
        links = [
            Link(TARGET_LABEL.get(target, target), url)
            for target, url in (live[item].urls if item in live else ())
            if url.startswith(("https://", "http://"))
        ]
        if backlog_url and line:
            links.append(Link(f"backlog line {line}", f"{backlog_url}#L{line}"))
        groups.append(FindingGroup(item, title, line, tuple(links), tuple(found)))
    groups.sort(key=lambda g: (SEVERITY_ORDER.get(g.worst, 3), g.line, g.item))
    return tuple(groups)


def build_page(
    backlog: Backlog,
    *,
    backlog_name: str,
    live: Mapping[str, LiveIssue],
    calendar: Mapping[int, SprintDates],
    today: date,
    running: int | None,
    findings: Sequence[Finding],
    rules_config: RulesConfig,
    warn_pct: float = 85.0,
    backlog_url: str | None = None,
    progress: SprintProgress | None = None,
) -> PlanningPage:
    """The page's data; ``running`` is the sprint whose burndown is shown (None: none runs)."""
    heat = heat_map(backlog, live, warn_pct, running)
    heat = HeatMap(
        heat.roles,
        tuple(
            SprintColumn(**{**column.__dict__, "dates": calendar.get(column.number)})
            for column in heat.sprints
        ),
    )
    if progress is None and running is not None:
        progress = sprint_progress(backlog, running, live, calendar, today)
    ctx = RuleContext(backlog, config=rules_config)
    remaining = sum(story.points or 0 for story in ctx.stories)
    forecast = monte_carlo(remaining, velocities(ctx), rules_config.forecast)
    counts = {severity.value: 0 for severity in Severity}
    for finding in findings:
        counts[finding.severity.value] = counts.get(finding.severity.value, 0) + 1
    return PlanningPage(
        title=backlog.title or "Backlog",
        backlog_name=backlog_name,
        today=today,
        heat=heat,
        progress=progress,
        forecast=forecast,
        findings=finding_groups(backlog, findings, live, backlog_url),
        warn_pct=warn_pct,
        counts=counts,
    )
