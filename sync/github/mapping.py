"""The GitHub picture of a backlog: pure desired state, no I/O.

Mapping (configurable in the ``[github]`` table of ``backlog-bot.toml``):

- epic  -> issue labelled ``epic``; its stories become its sub-issues;
- titles: ``US-001 · Observability Stack Deployment`` (``sync.issue_text``, as in Jira);
- story -> issue with the user story, acceptance criteria as a Gherkin block with the Then
  outcomes as a checklist, tasks and subtasks
  as a task list (or as sub-issues: ``tasks_as = "sub-issues"``, ``subtasks_as = ...``),
  labels for priority and roles and the story's own ``**Labels:**`` (the team's: created by
  GitHub on first use, their colours left to the team), the milestone of its sprint, and its
  dependencies as issue dependencies ("blocked by"; ``dependencies_as = "section"`` writes a
  "Blocked by #n" list); the ``**Assignee:**`` logins (comma-separated) as its assignees;
- sprint -> milestone with a due date (``sprint_start`` + ``sprint_length_days``);
- every epic and story -> a Projects v2 item with Story Points, Priority, Sprint, Epic; epics
  carry no points of their own (the board adds up their stories; the declared total is in
  the epic's body);
- stories outside any epic get no placeholder epic issue.

Every body starts with a hidden marker ``<!-- backlog-bot:id=US-001 -->`` so that a re-run
finds an issue created just before a crash.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from backlog.errors import ConfigurationError
from backlog.model import Backlog, Epic, Story
from sync.issue_text import (
    CHECK_LABELS,
    epic_name,
    is_placeholder_epic,
    issue_title,
    story_name,
    then_checklist,
)

MARKER_RE = re.compile(r"<!--\s*backlog-bot:id=([A-Za-z0-9_.:/-]+)\s*-->")
PRIORITY_ORDER = ("Critical", "High", "Medium", "Low")
PRIORITY_COLORS = {"Critical": "RED", "High": "ORANGE", "Medium": "YELLOW", "Low": "GREEN"}
LABEL_COLORS = {"epic": "3e4b9e", "story": "0e8a16", "task": "c5def5", "subtask": "bfdadc"}

FIELD_POINTS = "Story Points"
FIELD_PRIORITY = "Priority"
FIELD_SPRINT = "Sprint"
FIELD_EPIC = "Epic"
FIELD_STATUS = "Status"

ChildMode = Literal["tasklist", "sub-issues"]


def marker(backlog_id: str) -> str:
    return f"<!-- backlog-bot:id={backlog_id} -->"


def find_marker(body: str | None) -> str | None:
    """The backlog id hidden in an issue body, if any."""
    found = MARKER_RE.search(body or "")
    return found.group(1) if found else None


@dataclass(frozen=True, slots=True)
class GitHubOptions:
    """How the backlog maps onto GitHub; defaults suit most teams."""

    tasks_as: ChildMode = "tasklist"
    subtasks_as: ChildMode = "tasklist"
    dependencies_as: Literal["api", "section"] = "api"
    sprint_start: date | None = None
    sprint_length_days: int = 14
    project_fields: bool = True

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> GitHubOptions:
        """Options from the ``[github]`` config table; errors name the key to fix."""
        known = {name for name in cls.__dataclass_fields__}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ConfigurationError(
                f"[github] {unknown[0]}: unknown key (known: {', '.join(sorted(known))})"
            )
        values = dict(table)
        for key in ("tasks_as", "subtasks_as"):
            if key in values and values[key] not in ("tasklist", "sub-issues"):
                raise ConfigurationError(f'[github] {key}: use "tasklist" or "sub-issues"')
        if values.get("dependencies_as", "api") not in ("api", "section"):
            raise ConfigurationError('[github] dependencies_as: use "api" or "section"')
        start = values.get("sprint_start")
        if isinstance(start, str):
            try:
                values["sprint_start"] = date.fromisoformat(start)
            except ValueError as exc:
                raise ConfigurationError(
                    f"[github] sprint_start: {start!r} is not a date (YYYY-MM-DD)"
                ) from exc
        length = values.get("sprint_length_days", 14)
        if not isinstance(length, int) or length < 1:
            raise ConfigurationError("[github] sprint_length_days: a positive number of days")
        return cls(**values)

    def sprint_dates(self, number: int) -> tuple[date, date] | None:
        """First and last day of sprint ``number`` (1-based), if a start date is configured."""
        if self.sprint_start is None:
            return None
        first = self.sprint_start + timedelta(days=(number - 1) * self.sprint_length_days)
        return first, first + timedelta(days=self.sprint_length_days - 1)


@dataclass(frozen=True, slots=True)
class LabelSpec:
    name: str
    color: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class MilestoneSpec:
    backlog_id: str
    title: str
    description: str = ""
    due_on: date | None = None
    line: int = 0

    def content(self) -> dict[str, Any]:
        due = self.due_on.isoformat() if self.due_on else None
        return {"title": self.title, "description": self.description, "due_on": due}


@dataclass(frozen=True, slots=True)
class IssueSpec:
    """One issue we want: its content, its parent (sub-issue of) and what blocks it."""

    backlog_id: str
    kind: str
    title: str
    sections: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    milestone: str | None = None
    parent: str | None = None
    blocked_by: tuple[str, ...] = ()
    dependency_notes: tuple[str, ...] = ()
    project_fields: Mapping[str, Any] = field(default_factory=dict)
    line: int = 0
    assignees: tuple[str, ...] = ()  # logins, from the story's ``**Assignee:**``

    def body(
        self,
        numbers: Mapping[str, int],
        *,
        blocked_by_section: bool = False,
        jira_key: str | None = None,
        jira_url: str | None = None,
    ) -> str:
        """The Markdown body; ``numbers`` maps backlog ids to issue numbers known so far."""
        parts = [marker(self.backlog_id)]
        if jira_key:
            parts.append(f"Jira: [{jira_key}]({jira_url})" if jira_url else f"Jira: {jira_key}")
        parts.extend(self.sections)
        if blocked_by_section and self.blocked_by:
            lines = ["### Blocked by"]
            for ref in self.blocked_by:
                number = numbers.get(ref)
                lines.append(f"- [ ] #{number} ({ref})" if number else f"- [ ] {ref}")
            parts.append("\n".join(lines))
        if self.dependency_notes:
            parts.append("### Dependencies\n" + "\n".join(f"- {n}" for n in self.dependency_notes))
        return "\n\n".join(parts) + "\n"


@dataclass(frozen=True, slots=True)
class ProjectFieldSpec:
    """A Projects v2 custom field and, for single selects and iterations, its options."""

    name: str
    data_type: Literal["NUMBER", "TEXT", "SINGLE_SELECT", "ITERATION"]
    options: tuple[str, ...] = ()
    iterations: tuple[tuple[str, date, int], ...] = ()


@dataclass(frozen=True, slots=True)
class GitHubDesired:
    labels: tuple[LabelSpec, ...]
    milestones: tuple[MilestoneSpec, ...]
    issues: tuple[IssueSpec, ...]
    fields: tuple[ProjectFieldSpec, ...]
    options: GitHubOptions

    def issue(self, backlog_id: str) -> IssueSpec | None:
        return next((spec for spec in self.issues if spec.backlog_id == backlog_id), None)


def priority_name(raw: str | None) -> str | None:
    if not raw or not raw.strip():
        return None
    return raw.strip().split()[0].title()


def is_bot_label(name: str) -> bool:
    """A label the bot sets itself (``story``, ``priority: high``, ``role: qa``, and
    ``dor:failed`` / ``dod:failed`` from the service's checks)."""
    return (
        name in LABEL_COLORS
        or name.startswith(("priority: ", "role: "))
        or name in CHECK_LABELS.values()
    )


def team_labels(labels: Iterable[str]) -> tuple[str, ...]:
    """An issue's labels without the ones the mapping sets: the team's."""
    return tuple(label for label in labels if not is_bot_label(label))


def assignee_logins(assignee: str | None) -> tuple[str, ...]:
    """``**Assignee:** carol, @dave`` -> the logins ``("carol", "dave")``, sorted (GitHub
    keeps no order among assignees)."""
    logins = (part.strip().lstrip("@") for part in (assignee or "").split(","))
    return tuple(sorted({login for login in logins if login}, key=str.casefold))


def role_label(role: str) -> str:
    return f"role: {role.strip().split()[0].lower()}" if role.strip() else ""


def _story_sections(story: Story, options: GitHubOptions) -> tuple[str, ...]:
    sections: list[str] = []
    meta = [f"**Story ID:** {story.id}"]
    if story.points is not None:
        meta.append(f"**Story Points:** {story.points}")
    if story.priority:
        meta.append(f"**Priority:** {story.priority}")
    sections.append("  \n".join(meta))
    if story.user_story:
        sections.append("### User story\n> " + story.user_story.text)
    criteria = story.acceptance_criteria
    if criteria is not None:
        parts: list[str] = []
        if criteria.steps:
            parts.append("```gherkin\n" + _gherkin_text(criteria.raw, criteria.steps) + "\n```")
            parts.extend(f"- [ ] {item}" for item in then_checklist(criteria))
        parts.extend(f"- [{'x' if c.checked else ' '}] {c.text}" for c in criteria.checklist)
        if parts:
            sections.append("### Acceptance criteria\n" + "\n".join(parts))
    if story.tasks and options.tasks_as == "tasklist":
        lines = []
        for task in story.tasks:
            extra = ", ".join(part for part in (_hours(task.hours), ", ".join(task.roles)) if part)
            lines.append(f"- [ ] {task.title}" + (f" ({extra})" if extra else ""))
            lines.extend(f"  - {detail}" for detail in task.details)
        sections.append("### Tasks\n" + "\n".join(lines))
    if story.subtasks and options.subtasks_as == "tasklist":
        lines = [
            f"- [ ] {sub.number + ': ' if sub.number else ''}{sub.title}"
            + (f" ({_hours(sub.hours)})" if sub.hours is not None else "")
            for sub in story.subtasks
        ]
        sections.append("### Subtasks\n" + "\n".join(lines))
    return tuple(sections)


def _gherkin_text(raw: str, steps: Any) -> str:
    """The criteria's Gherkin as written (its steps rebuilt when the raw text is not there)."""
    text = raw.strip().removeprefix("```gherkin").removeprefix("```").removesuffix("```")
    if text.strip():
        return text.strip("\n")
    lines = []
    for step in steps:
        lines.append(f"{step.keyword} {step.text}".rstrip())
        lines.extend(f"  - {item}" for item in step.items)
    return "\n".join(lines)


def _hours(hours: float | None) -> str:
    if hours is None:
        return ""
    return f"{hours:g} h"


def _epic_sections(epic: Epic) -> tuple[str, ...]:
    meta = [f"**Epic ID:** {epic.id}"]
    if epic.points_raw or epic.points is not None:
        declared = f"**Story points (declared):** {epic.points_raw or epic.points}"
        meta.append(declared)
    sections = ["  \n".join(meta)]
    if epic.business_value:
        sections.append("### Business value\n" + epic.business_value)
    if epic.timeline:
        sections.append(f"**Timeline:** {epic.timeline}")
    if epic.acceptance_criteria:
        checks = [f"- [{'x' if c.checked else ' '}] {c.text}" for c in epic.acceptance_criteria]
        sections.append("### Acceptance criteria\n" + "\n".join(checks))
    return tuple(sections)


def _dependencies(story: Story, known: set[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(backlog ids that block the story, dependency texts that are not issues)."""
    blocked: list[str] = []
    notes: list[str] = []
    for dep in story.dependencies:
        targets = [t for t in ((dep.target,) if dep.target else ()) + dep.resolved if t]
        linked = [t for t in targets if t in known and t != story.id]
        blocked.extend(linked)
        if dep.kind == "phrase" or (dep.kind != "none" and not linked):
            notes.append(dep.raw)
    return tuple(dict.fromkeys(blocked)), tuple(notes)


def desired_state(backlog: Backlog, options: GitHubOptions | None = None) -> GitHubDesired:
    """Everything the backlog should look like on GitHub."""
    options = options or GitHubOptions()
    sprint_of = backlog.sprint_of()
    known = {epic.id for epic in backlog.epics if not is_placeholder_epic(epic)}
    known |= {s.id for s in backlog.iter_stories()}
    labels: dict[str, LabelSpec] = {
        name: LabelSpec(name, color, f"backlog-bot: {name}") for name, color in LABEL_COLORS.items()
    }
    priorities: set[str] = set()
    team_names: set[str] = set()  # the team's own labels: GitHub makes them on first use
    issues: list[IssueSpec] = []
    for epic in backlog.epics:
        placeholder = is_placeholder_epic(epic)
        if not placeholder:
            issues.append(
                IssueSpec(
                    backlog_id=epic.id,
                    kind="epic",
                    title=issue_title(epic.id, epic_name(epic)),
                    sections=_epic_sections(epic),
                    labels=("epic",),
                    project_fields=_fields(None, None, None, epic, options),
                    line=epic.line,
                )
            )
        for story in epic.stories:
            prio = priority_name(story.priority)
            story_labels = ["story"]
            if prio:
                priorities.add(prio)
                story_labels.append(f"priority: {prio.lower()}")
            roles = sorted({role_label(r) for task in story.tasks for r in task.roles} - {""})
            story_labels.extend(roles)
            team = [label for label in story.labels if label not in story_labels]
            story_labels.extend(team)
            team_names.update(team)
            blocked, notes = _dependencies(story, known)
            sprint = sprint_of.get(story.id)
            issues.append(
                IssueSpec(
                    backlog_id=story.id,
                    kind="story",
                    title=issue_title(story.id, story_name(story)),
                    sections=_story_sections(story, options),
                    labels=tuple(story_labels),
                    milestone=f"sprint-{sprint}" if sprint else None,
                    parent=None if placeholder else epic.id,
                    blocked_by=blocked,
                    dependency_notes=notes,
                    project_fields=_fields(
                        story.points, prio, sprint, None if placeholder else epic, options
                    ),
                    line=story.line,
                    assignees=assignee_logins(story.assignee),
                )
            )
            issues.extend(_children(story, sprint, options))
    for spec in issues:
        for name in spec.labels:
            if name not in labels and name not in team_names:
                labels[name] = LabelSpec(name, _label_color(name), f"backlog-bot: {name}")
    milestones = tuple(
        MilestoneSpec(
            backlog_id=sprint.id,
            title=f"Sprint {sprint.number}" + (f": {sprint.name}" if sprint.name else ""),
            description=sprint.goal or "",
            due_on=(options.sprint_dates(sprint.number) or (None, None))[1],
            line=sprint.line,
        )
        for sprint in backlog.sprints
    )
    return GitHubDesired(
        labels=tuple(labels[name] for name in sorted(labels)),
        milestones=milestones,
        issues=tuple(issues),
        fields=_field_specs(backlog, priorities, options) if options.project_fields else (),
        options=options,
    )


def _children(story: Story, sprint: int | None, options: GitHubOptions) -> list[IssueSpec]:
    children: list[IssueSpec] = []
    milestone = f"sprint-{sprint}" if sprint else None
    if options.tasks_as == "sub-issues":
        for index, task in enumerate(story.tasks, start=1):
            roles = tuple(sorted({role_label(r) for r in task.roles} - {""}))
            details = "\n".join(f"- {d}" for d in task.details)
            meta = f"**Story:** {story.id}" + (
                f"  \n**Hours:** {task.hours:g}" if task.hours else ""
            )
            children.append(
                IssueSpec(
                    backlog_id=f"{story.id}/task-{task.number or index}",
                    kind="task",
                    title=f"{story.id}: {task.title}",
                    sections=tuple(part for part in (meta, details) if part),
                    labels=("task", *roles),
                    milestone=milestone,
                    parent=story.id,
                    line=task.line,
                )
            )
    if options.subtasks_as == "sub-issues":
        for index, sub in enumerate(story.subtasks, start=1):
            hours = f"  \n**Hours:** {sub.hours:g}" if sub.hours is not None else ""
            children.append(
                IssueSpec(
                    backlog_id=f"{story.id}/subtask-{sub.number or index}",
                    kind="subtask",
                    title=f"{story.id}: {sub.title}",
                    sections=(f"**Story:** {story.id}{hours}",),
                    labels=("subtask",),
                    milestone=milestone,
                    parent=story.id,
                    line=sub.line,
                )
            )
    return children


def _fields(
    points: int | None,
    priority: str | None,
    sprint: int | None,
    epic: Epic | None,
    options: GitHubOptions,
) -> dict[str, Any]:
    if not options.project_fields:
        return {}
    return {
        FIELD_POINTS: points,
        FIELD_PRIORITY: priority,
        FIELD_SPRINT: f"Sprint {sprint}" if sprint else None,
        FIELD_EPIC: issue_title(epic.id, epic_name(epic)) if epic is not None else None,
    }


def _field_specs(
    backlog: Backlog, priorities: set[str], options: GitHubOptions
) -> tuple[ProjectFieldSpec, ...]:
    ordered = [p for p in PRIORITY_ORDER if p in priorities] + sorted(
        priorities - set(PRIORITY_ORDER)
    )
    sprint_names = tuple(f"Sprint {s.number}" for s in backlog.sprints)
    if options.sprint_start is not None:
        iterations = []
        for sprint in backlog.sprints:
            first, _ = options.sprint_dates(sprint.number) or (options.sprint_start, None)
            iterations.append((f"Sprint {sprint.number}", first, options.sprint_length_days))
        sprint_field = ProjectFieldSpec(FIELD_SPRINT, "ITERATION", iterations=tuple(iterations))
    else:
        sprint_field = ProjectFieldSpec(FIELD_SPRINT, "SINGLE_SELECT", options=sprint_names)
    specs = (
        ProjectFieldSpec(FIELD_POINTS, "NUMBER"),
        ProjectFieldSpec(FIELD_PRIORITY, "SINGLE_SELECT", options=tuple(ordered)),
        sprint_field,
        ProjectFieldSpec(FIELD_EPIC, "TEXT"),
    )
    # GitHub refuses a single select without options (a backlog with no sprints or priorities)
    return tuple(s for s in specs if s.data_type != "SINGLE_SELECT" or s.options)


def _label_color(name: str) -> str:
    if name.startswith("priority: "):
        level = name.removeprefix("priority: ").title()
        return {"Critical": "b60205", "High": "d93f0b", "Medium": "fbca04", "Low": "0e8a16"}.get(
            level, "ededed"
        )
    if name.startswith("role: "):
        return "5319e7"
    return "ededed"


def option_color(name: str) -> str:
    """A Projects v2 single-select option colour for a priority or sprint name."""
    return PRIORITY_COLORS.get(name, "GRAY")
