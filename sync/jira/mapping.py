"""Backlog -> desired Jira state: a pure mapping, configurable through ``[jira]`` in the
config file (``bot.settings.load_config_table("jira")``).

Defaults and choices:

- epic -> Epic; story -> Story under its epic (``parent``, or the Epic Link field on older
  company-managed projects) with summary, description, priority, labels and story points;
- task -> Sub-task with the original estimate (hours) and ``role-<role>`` labels;
- the backlog's "Subtasks" -> by default a checklist in the story's description
  (``subtasks = "checklist"``), because they refine the tasks' hours and would double-count
  them as estimated sub-tasks; ``subtasks = "issues"`` creates them as Sub-tasks instead;
- dependencies -> "Blocks" links (a story -> the story it blocks; "EPIC-001 completed" -> the
  epic blocks the story; phrases such as "All previous stories" -> the stories they resolve to);
- summaries: ``US-001 · Observability Stack Deployment`` (``sync.issue_text``, as on GitHub);
  epics carry no story points of their own (their declared total is in the description);
  stories outside any epic get no placeholder epic and no parent;
- acceptance criteria: the Gherkin in a code block, the Then outcomes as a checklist;
- the story's ``**Assignee:**`` -> the issue's assignee, the Jira user of that display name
  (or e-mail address), found when apply sends it;
- sprints -> Agile sprints named ``Sprint N`` (Jira allows 30 characters; no word is cut)
  with the sprint's title leading the goal, and dates from
  ``sprint_start`` (ISO date; ``[calendar] sprint1_start`` when unset) and
  ``sprint_length_days`` (default 14; "Weeks 3-4" in the plan places the sprint); without
  a start date sprints get no dates.

Every issue carries the labels ``backlog-bot`` and ``backlog-id-<ID>`` and an issue property
with the backlog id and the content hash: a crash between Jira's create and our database
record is repaired by searching for them. The hash covers the content, not the line number
the description cites, so moving text in the file does not rewrite every issue.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from backlog.errors import ConfigurationError
from backlog.model import Backlog, Epic, Story, Task
from sync.issue_text import (
    CHECK_LABELS,
    UNASSIGNED_EPIC,
    epic_name,
    is_placeholder_epic,
    issue_title,
    story_name,
    then_checklist,
)
from sync.jira.port import ID_LABEL_PREFIX, MANAGED_LABEL, id_label
from sync.jira.wiki import code_block, wiki_escape
from sync.plan import content_hash

IssueKind = Literal["epic", "story", "task", "subtask"]
DEFAULT_PRIORITIES = {
    "critical": "Highest",
    "highest": "Highest",
    "high": "High",
    "medium": "Medium",
    "low": "Low",
    "lowest": "Lowest",
    # the P-scale many teams write (P0 = drop everything)
    "p0": "Highest",
    "p1": "High",
    "p2": "Medium",
    "p3": "Low",
    "p4": "Lowest",
}


def jira_priority(raw: str | None, priorities: Mapping[str, str]) -> str | None:
    """The Jira priority a backlog's priority text names: the whole text (``Critical``), else
    its first word, so that ``High (Must Have)`` or ``P1 - soon`` map too; None when neither
    is known (the issue then keeps the project's default)."""
    text = (raw or "").strip().lower()
    if not text:
        return None
    if text in priorities:
        return priorities[text]
    first = re.split(r"[\s(/:,;|-]+", text, maxsplit=1)[0]
    return priorities.get(first)


@dataclass(frozen=True)
class JiraMappingConfig:
    subtasks: Literal["checklist", "issues"] = "checklist"
    sprint_start: date | None = None
    sprint_length_days: int = 14
    extra_labels: tuple[str, ...] = ()
    priorities: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_PRIORITIES))
    role_label_prefix: str = "role-"

    @classmethod
    def from_table(
        cls, table: Mapping[str, Any], calendar: Mapping[str, Any] | None = None
    ) -> JiraMappingConfig:
        """Build from the ``[jira]`` config table; errors name the key to fix. Sprint dates
        come from ``[calendar]`` (``sprint1_start``, ``sprint_length_days``) unless ``[jira]``
        sets its own ``sprint_start``."""
        if calendar and "sprint_start" not in table and calendar.get("sprint1_start"):
            table = {
                **table,
                "sprint_start": calendar["sprint1_start"],
                "sprint_length_days": calendar.get(
                    "sprint_length_days", table.get("sprint_length_days", 14)
                ),
            }
        subtasks = str(table.get("subtasks", "checklist"))
        if subtasks not in ("checklist", "issues"):
            raise ConfigurationError(
                f'[jira] subtasks must be "checklist" or "issues", not "{subtasks}"'
            )
        start = table.get("sprint_start")
        if isinstance(start, str):
            try:
                start = date.fromisoformat(start)
            except ValueError as exc:
                raise ConfigurationError(
                    f"[jira] sprint_start must be an ISO date (2026-01-05): {start}"
                ) from exc
        if isinstance(start, datetime):
            start = start.date()
        length = table.get("sprint_length_days", 14)
        if not isinstance(length, int) or length < 1:
            raise ConfigurationError("[jira] sprint_length_days must be a positive whole number")
        priorities = dict(DEFAULT_PRIORITIES)
        priorities.update(
            {str(k).lower(): str(v) for k, v in dict(table.get("priorities", {})).items()}
        )
        return cls(
            subtasks=subtasks,  # type: ignore[arg-type]
            sprint_start=start,
            sprint_length_days=length,
            extra_labels=tuple(str(label) for label in table.get("labels", ())),
            priorities=priorities,
        )


@dataclass(frozen=True)
class DesiredIssue:
    backlog_id: str
    kind: IssueKind
    summary: str
    description: str
    line: int
    parent_id: str | None = None
    priority: str | None = None
    labels: tuple[str, ...] = ()
    points: int | None = None
    estimate_hours: float | None = None
    assignee: str | None = None  # as the file names them (a display name); resolved on apply

    def content(self) -> dict[str, Any]:
        content = {
            "kind": self.kind,
            "summary": self.summary,
            "description": self.description,
            "parent": self.parent_id,
            "priority": self.priority,
            "labels": list(self.labels),
            "points": self.points,
            "estimate_hours": self.estimate_hours,
        }
        if self.assignee:  # only when set: the content of issues without one stays as it was
            content["assignee"] = self.assignee
        return content

    @property
    def hash(self) -> str:
        return content_hash(self.content())


@dataclass(frozen=True)
class DesiredLink:
    blocker_id: str
    blocked_id: str
    line: int

    @property
    def backlog_id(self) -> str:
        return f"{self.blocker_id}>{self.blocked_id}"


@dataclass(frozen=True)
class DesiredSprint:
    number: int
    name: str
    goal: str
    start: str | None
    end: str | None
    story_ids: tuple[str, ...]
    line: int

    @property
    def backlog_id(self) -> str:
        return f"sprint-{self.number}"

    def content(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "goal": self.goal,
            "start": self.start,
            "end": self.end,
            "stories": list(self.story_ids),
        }

    @property
    def hash(self) -> str:
        return content_hash(self.content())


@dataclass(frozen=True)
class DesiredState:
    source: str
    issues: tuple[DesiredIssue, ...]
    links: tuple[DesiredLink, ...]
    sprints: tuple[DesiredSprint, ...]
    warnings: tuple[str, ...] = ()

    def issue(self, backlog_id: str) -> DesiredIssue | None:
        return next((item for item in self.issues if item.backlog_id == backlog_id), None)


# --- building the desired state -----------------------------------------------------------


def desired_state(backlog: Backlog, source: str, config: JiraMappingConfig) -> DesiredState:
    issues: list[DesiredIssue] = [
        _epic(epic) for epic in backlog.epics if not is_placeholder_epic(epic)
    ]
    children: list[DesiredIssue] = []
    for story in backlog.iter_stories():
        issues.append(_story(story, config))
        children.extend(
            _task(story, task, number, config) for number, task in enumerate(story.tasks, 1)
        )
        if config.subtasks == "issues":
            for number, subtask in enumerate(story.subtasks, 1):
                children.append(
                    DesiredIssue(
                        backlog_id=f"{story.id}/subtask-{subtask.number or number}",
                        kind="subtask",
                        summary=_one_line(subtask.title),
                        description=f"Subtask {subtask.number or number} of {story.id}.",
                        line=subtask.line,
                        parent_id=story.id,
                        estimate_hours=subtask.hours,
                    )
                )
    issues.extend(children)
    extra = tuple(config.extra_labels)
    issues = [
        DesiredIssue(
            **{
                **item.__dict__,
                "labels": (MANAGED_LABEL, id_label(item.backlog_id), *extra, *item.labels),
            }
        )
        for item in issues
    ]
    links, warnings = _links(backlog)
    return DesiredState(source, tuple(issues), links, _sprints(backlog, config), warnings)


def _epic(epic: Epic) -> DesiredIssue:
    parts = []
    if epic.business_value:
        parts.append(f"*Business value:* {wiki_escape(epic.business_value)}")
    if epic.timeline:
        parts.append(f"*Timeline:* {wiki_escape(epic.timeline)}")
    if epic.points_raw or epic.points is not None:
        declared = f"*Story points (declared):* {wiki_escape(str(epic.points_raw or epic.points))}"
        parts.append(declared)
    if epic.acceptance_criteria:
        parts.append("h3. Acceptance criteria\n" + _checklist(epic.acceptance_criteria))
    return DesiredIssue(
        backlog_id=epic.id,
        kind="epic",
        summary=issue_title(epic.id, epic_name(epic)),
        description="\n\n".join(parts),
        line=epic.line,
    )


def _story(story: Story, config: JiraMappingConfig) -> DesiredIssue:
    parts = []
    if story.user_story:
        parts.append(f"*User story:* {wiki_escape(story.user_story.text)}")
    criteria = story.acceptance_criteria
    if criteria is not None and criteria.raw.strip():
        if criteria.is_gherkin:
            checks = "".join(f"\n* ( ) {wiki_escape(item)}" for item in then_checklist(criteria))
            gherkin = code_block("gherkin", criteria.raw.strip())
            parts.append("h3. Acceptance criteria\n" + gherkin + checks)
        elif criteria.checklist:
            parts.append("h3. Acceptance criteria\n" + _checklist(criteria.checklist))
        else:
            parts.append("h3. Acceptance criteria\n" + wiki_escape(criteria.raw.strip()))
    if story.tasks:
        lines = [f"# {wiki_escape(task.title + _task_suffix(task))}" for task in story.tasks]
        parts.append("h3. Tasks\n" + "\n".join(lines))
    if story.subtasks and config.subtasks == "checklist":
        lines = [
            "* ( ) "
            + wiki_escape(
                f"{('Subtask ' + s.number + ': ') if s.number else ''}{s.title}"
                + (f" ({jira_duration(s.hours)})" if s.hours is not None else "")
            )
            for s in story.subtasks
        ]
        parts.append("h3. Subtasks\n" + "\n".join(lines))
    if story.dependencies_raw:
        parts.append(f"*Dependencies:* {wiki_escape(story.dependencies_raw)}")
    priority = jira_priority(story.priority, config.priorities)
    return DesiredIssue(
        backlog_id=story.id,
        kind="story",
        summary=issue_title(story.id, story_name(story)),
        description="\n\n".join(parts),
        line=story.line,
        parent_id=None if story.epic_id == UNASSIGNED_EPIC else story.epic_id,
        priority=priority,
        labels=tuple(dict.fromkeys(jira_label(label) for label in story.labels)),
        points=story.points,
        assignee=story.assignee,
    )


def jira_label(label: str) -> str:
    """A team label as Jira can hold it: Jira labels have no spaces (``tech debt`` ->
    ``tech-debt``)."""
    return "-".join(label.split())


def team_labels(labels: Iterable[str], config: JiraMappingConfig) -> tuple[str, ...]:
    """An issue's labels without the ones the bot sets itself (``backlog-bot``, the
    ``backlog-id-…`` label, ``[jira] labels``, the checks' ``dor:failed``): the team's."""
    own = {MANAGED_LABEL, *config.extra_labels, *CHECK_LABELS.values()}
    return tuple(
        label for label in labels if label not in own and not label.startswith(ID_LABEL_PREFIX)
    )


def _task(story: Story, task: Task, number: int, config: JiraMappingConfig) -> DesiredIssue:
    labels = tuple(
        dict.fromkeys(config.role_label_prefix + _slug(role) for role in task.roles if _slug(role))
    )
    description = "\n".join(f"* {wiki_escape(detail)}" for detail in task.details)
    return DesiredIssue(
        backlog_id=f"{story.id}/task-{task.number or number}",
        kind="task",
        summary=_one_line(task.title),
        description=description,
        line=task.line,
        parent_id=story.id,
        labels=labels,
        estimate_hours=task.hours,
    )


def _links(backlog: Backlog) -> tuple[tuple[DesiredLink, ...], tuple[str, ...]]:
    known = {story.id for story in backlog.iter_stories()} | {epic.id for epic in backlog.epics}
    links: dict[str, DesiredLink] = {}
    warnings: list[str] = []
    for story in backlog.iter_stories():
        for dep in story.dependencies:
            if dep.kind == "story" and dep.target:
                blockers: tuple[str, ...] = (dep.target,)
            elif dep.kind == "epic" and dep.target:
                blockers = (dep.target,)
            elif dep.kind == "phrase":
                blockers = dep.resolved
            else:
                continue
            for blocker in blockers:
                if blocker == story.id:
                    continue
                if blocker not in known:
                    where = f"{story.id} (line {story.line})"
                    warnings.append(f"{where}: dependency {blocker} is not in the backlog; no link")
                    continue
                link = DesiredLink(blocker, story.id, story.line)
                links.setdefault(link.backlog_id, link)
    return tuple(links.values()), tuple(warnings)


def _sprints(backlog: Backlog, config: JiraMappingConfig) -> tuple[DesiredSprint, ...]:
    planned = backlog.sprint_of()
    sprints = []
    for sprint in backlog.sprints:
        label, goal = _sprint_name(sprint.number, sprint.name, sprint.goal or "")
        start, end = _sprint_dates(sprint.number, sprint.weeks, config)
        stories = tuple(
            story_id
            for story_id in sprint.committed_story_ids
            if planned.get(story_id) == sprint.number
        )
        sprints.append(DesiredSprint(sprint.number, label, goal, start, end, stories, sprint.line))
    return tuple(sprints)


def _sprint_name(number: int, name: str, goal: str) -> tuple[str, str]:
    """``Sprint 2`` (always within Jira's 30 characters, no word cut) and the sprint's title
    leading its goal: ``Foundation Completion: Complete observability ...``."""
    if not name:
        return f"Sprint {number}", goal
    return f"Sprint {number}", f"{name}: {goal}" if goal else name


def _sprint_dates(
    number: int, weeks: str | None, config: JiraMappingConfig
) -> tuple[str | None, str | None]:
    if config.sprint_start is None:
        return None, None
    match = re.match(r"\s*(\d+)\s*[-–]\s*(\d+)", weeks or "")
    if match:
        first, last = int(match.group(1)), int(match.group(2))
        start = config.sprint_start + timedelta(weeks=first - 1)
        end = config.sprint_start + timedelta(weeks=last) - timedelta(days=3)
    else:
        start = config.sprint_start + timedelta(days=(number - 1) * config.sprint_length_days)
        end = start + timedelta(days=config.sprint_length_days - 3)
    return f"{start.isoformat()}T09:00:00.000Z", f"{end.isoformat()}T17:00:00.000Z"


# --- text helpers -------------------------------------------------------------------------


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 255 else text[:254] + "…"


def _checklist(items: Any) -> str:
    return "\n".join(
        f"* {'(/)' if item.checked else '( )'} {wiki_escape(item.text)}" for item in items
    )


def _task_suffix(task: Task) -> str:
    details = []
    if task.hours is not None:
        details.append(jira_duration(task.hours))
    if task.roles:
        details.append(", ".join(task.roles))
    return f" ({'; '.join(details)})" if details else ""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.strip().lower()).strip("-")


def jira_duration(hours: float) -> str:
    """Hours in Jira's duration notation: ``1.5`` -> ``1h 30m``, ``0.5`` -> ``30m``."""
    whole = int(hours)
    minutes = round((hours - whole) * 60)
    if minutes and whole:
        return f"{whole}h {minutes}m"
    return f"{minutes}m" if minutes else f"{whole}h"
