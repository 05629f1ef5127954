"""The Jira site the sandbox emulates: projects, fields, issues, links, boards and sprints.

Plain in-memory data guarded by one lock. Routes mutate it; tests read it through
``JiraSandbox.state``. Field ids, issue type names and field names follow Jira Cloud: a
team-managed project has ``Subtask`` and "Story point estimate" and attaches stories to
epics with ``parent``; a company-managed project has ``Sub-task``, "Story Points", and the
"Epic Link" / "Epic Name" custom fields.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Flavour = Literal["team", "company"]

SPRINT_FIELD = "customfield_10020"
STORY_POINT_ESTIMATE_FIELD = "customfield_10016"
STORY_POINTS_FIELD = "customfield_10028"
EPIC_LINK_FIELD = "customfield_10014"
EPIC_NAME_FIELD = "customfield_10011"

STATUSES: dict[str, dict[str, Any]] = {
    "To Do": {"id": "10000", "category": ("new", 2, "To Do")},
    "In Progress": {"id": "3", "category": ("indeterminate", 4, "In Progress")},
    "Done": {"id": "10001", "category": ("done", 3, "Done")},
}
TRANSITIONS: tuple[tuple[str, str], ...] = (("11", "To Do"), ("21", "In Progress"), ("31", "Done"))
PRIORITIES: tuple[tuple[str, str], ...] = (
    ("1", "Highest"),
    ("2", "High"),
    ("3", "Medium"),
    ("4", "Low"),
    ("5", "Lowest"),
)
LINK_TYPES: tuple[tuple[str, str, str, str], ...] = (
    ("10000", "Blocks", "is blocked by", "blocks"),
    ("10001", "Cloners", "is cloned by", "clones"),
    ("10003", "Relates", "relates to", "relates to"),
)


def now_iso() -> str:
    """Jira's timestamp format: ``2026-01-05T10:00:00.000+0000``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + "000+0000"


@dataclass(frozen=True)
class IssueTypeSpec:
    id: str
    name: str
    hierarchy_level: int
    subtask: bool = False


@dataclass
class ProjectSpec:
    """A project on the sandbox site. ``permitted=False`` answers 403 to everything in it."""

    key: str = "BSS"
    name: str = "BSS Modernization"
    flavour: Flavour = "team"
    permitted: bool = True
    id: str = "10000"
    missing_types: tuple[str, ...] = ()
    required_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    hidden_fields: tuple[str, ...] = ()  # field ids left off every create screen

    @property
    def issue_types(self) -> tuple[IssueTypeSpec, ...]:
        return tuple(t for t in self._all_issue_types() if t.name not in self.missing_types)

    def _all_issue_types(self) -> tuple[IssueTypeSpec, ...]:
        if self.flavour == "team":
            base = int(self.id) * 10
            return (
                IssueTypeSpec(str(base + 1), "Epic", 1),
                IssueTypeSpec(str(base + 2), "Story", 0),
                IssueTypeSpec(str(base + 3), "Task", 0),
                IssueTypeSpec(str(base + 4), "Subtask", -1, subtask=True),
            )
        return (
            IssueTypeSpec("10000", "Epic", 1),
            IssueTypeSpec("10001", "Story", 0),
            IssueTypeSpec("10002", "Task", 0),
            IssueTypeSpec("10003", "Sub-task", -1, subtask=True),
        )

    def issue_type(self, type_id: str) -> IssueTypeSpec | None:
        return next((spec for spec in self.issue_types if spec.id == type_id), None)

    @property
    def points_field(self) -> str:
        return STORY_POINT_ESTIMATE_FIELD if self.flavour == "team" else STORY_POINTS_FIELD

    def create_fields(self, issue_type: IssueTypeSpec) -> dict[str, bool]:
        """Field id -> required, for the create screen of ``issue_type``."""
        fields = {
            "summary": True,
            "issuetype": True,
            "project": True,
            "description": False,
            "labels": False,
            "priority": False,
            "assignee": False,
        }
        for name in self.required_fields.get(issue_type.name, ()):
            fields[name] = True
        fields = self._screen(issue_type, fields)
        return {
            name: required for name, required in fields.items() if name not in self.hidden_fields
        }

    def _screen(self, issue_type: IssueTypeSpec, fields: dict[str, bool]) -> dict[str, bool]:
        if issue_type.subtask:
            fields["parent"] = True
            fields["timetracking"] = False
            return fields
        fields["timetracking"] = False
        if issue_type.name != "Epic":
            fields[SPRINT_FIELD] = False
            fields[self.points_field] = False
        if self.flavour == "team":
            if issue_type.name != "Epic":
                fields["parent"] = False
        elif issue_type.name == "Epic":
            fields[EPIC_NAME_FIELD] = True
        else:
            fields[EPIC_LINK_FIELD] = False
        return fields


FIELD_DEFS: dict[str, dict[str, Any]] = {
    "summary": {"name": "Summary", "type": "string", "system": "summary"},
    "description": {"name": "Description", "type": "string", "system": "description"},
    "labels": {"name": "Labels", "type": "array", "items": "string", "system": "labels"},
    "priority": {"name": "Priority", "type": "priority", "system": "priority"},
    "issuetype": {"name": "Issue Type", "type": "issuetype", "system": "issuetype"},
    "project": {"name": "Project", "type": "project", "system": "project"},
    "parent": {"name": "Parent", "type": "issuelink", "system": "parent"},
    "status": {"name": "Status", "type": "status", "system": "status"},
    "assignee": {"name": "Assignee", "type": "user", "system": "assignee"},
    "timetracking": {"name": "Time tracking", "type": "timetracking", "system": "timetracking"},
    "components": {
        "name": "Component/s",
        "type": "array",
        "items": "component",
        "system": "components",
    },
    "issuelinks": {"name": "Linked Issues", "type": "array", "items": "issuelinks"},
    "subtasks": {"name": "Sub-tasks", "type": "array", "items": "issuelinks"},
    "created": {"name": "Created", "type": "datetime", "system": "created"},
    "updated": {"name": "Updated", "type": "datetime", "system": "updated"},
    SPRINT_FIELD: {
        "name": "Sprint",
        "type": "array",
        "items": "json",
        "custom": "com.pyxis.greenhopper.jira:gh-sprint",
        "customId": 10020,
    },
    STORY_POINT_ESTIMATE_FIELD: {
        "name": "Story point estimate",
        "type": "number",
        "custom": "com.pyxis.greenhopper.jira:jsw-story-points",
        "customId": 10016,
    },
    STORY_POINTS_FIELD: {
        "name": "Story Points",
        "type": "number",
        "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float",
        "customId": 10028,
    },
    EPIC_LINK_FIELD: {
        "name": "Epic Link",
        "type": "any",
        "custom": "com.pyxis.greenhopper.jira:gh-epic-link",
        "customId": 10014,
    },
    EPIC_NAME_FIELD: {
        "name": "Epic Name",
        "type": "string",
        "custom": "com.pyxis.greenhopper.jira:gh-epic-label",
        "customId": 10011,
    },
}


@dataclass
class Issue:
    id: int
    key: str
    project: ProjectSpec
    issue_type: IssueTypeSpec
    fields: dict[str, Any]
    status: str = "To Do"
    assignee: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    comments: list[dict[str, Any]] = field(default_factory=list)
    sprint_id: int | None = None
    created: str = field(default_factory=now_iso)
    updated: str = field(default_factory=now_iso)
    histories: list[dict[str, Any]] = field(default_factory=list)  # the changelog, oldest first


@dataclass
class Link:
    id: int
    type_id: str
    inward_key: str
    outward_key: str


@dataclass
class Sprint:
    id: int
    name: str
    board_id: int
    state: str = "future"
    goal: str = ""
    start_date: str | None = None
    end_date: str | None = None


@dataclass
class Board:
    id: int
    name: str
    project_key: str
    type: str = "scrum"


@dataclass(frozen=True)
class User:
    account_id: str
    email: str
    display_name: str


class SiteState:
    """Everything the sandbox site holds. Mutate only while holding ``lock``."""

    def __init__(self, projects: list[ProjectSpec]) -> None:
        self.lock = threading.RLock()
        self.deployment = "cloud"  # or "datacenter": what serverInfo and search answer
        self.projects: dict[str, ProjectSpec] = {project.key: project for project in projects}
        self.issues: dict[int, Issue] = {}
        self.keys: dict[str, int] = {}
        self.links: dict[int, Link] = {}
        self.sprints: dict[int, Sprint] = {}
        self.boards: dict[int, Board] = {}
        self.users: dict[str, User] = {}
        self.created_issue_count = 0
        self._next_issue_id = 10001
        self._next_link_id = 20001
        self._next_sprint_id = 1
        self._counters: dict[str, int] = {}
        for number, project in enumerate(projects, start=1):
            self.boards[number] = Board(number, f"{project.key} board", project.key)

    # --- lookups ------------------------------------------------------------------------

    def project(self, key_or_id: str) -> ProjectSpec | None:
        if key_or_id in self.projects:
            return self.projects[key_or_id]
        return next((p for p in self.projects.values() if p.id == key_or_id), None)

    def issue(self, id_or_key: str) -> Issue | None:
        issue_id = self.keys.get(id_or_key.upper())
        if issue_id is None and id_or_key.isdigit():
            issue_id = int(id_or_key)
        return self.issues.get(issue_id) if issue_id is not None else None

    def field_ids(self) -> list[str]:
        ids = [name for name in FIELD_DEFS if not name.startswith("customfield_")]
        ids.append(SPRINT_FIELD)
        flavours = {project.flavour for project in self.projects.values()}
        if "team" in flavours:
            ids.append(STORY_POINT_ESTIMATE_FIELD)
        if "company" in flavours:
            ids.extend((STORY_POINTS_FIELD, EPIC_LINK_FIELD, EPIC_NAME_FIELD))
        return ids

    def links_of(self, key: str) -> list[Link]:
        return [link for link in self.links.values() if key in (link.inward_key, link.outward_key)]

    def children_of(self, key: str) -> list[Issue]:
        return [issue for issue in self.issues.values() if issue.fields.get("parent") == key]

    # --- mutations ----------------------------------------------------------------------

    def add_issue(
        self, project: ProjectSpec, issue_type: IssueTypeSpec, fields: dict[str, Any]
    ) -> Issue:
        number = self._counters.get(project.key, 0) + 1
        self._counters[project.key] = number
        issue = Issue(self._next_issue_id, f"{project.key}-{number}", project, issue_type, fields)
        self._next_issue_id += 1
        self.issues[issue.id] = issue
        self.keys[issue.key] = issue.id
        self.created_issue_count += 1
        return issue

    def add_link(self, type_id: str, inward_key: str, outward_key: str) -> Link:
        link = Link(self._next_link_id, type_id, inward_key, outward_key)
        self._next_link_id += 1
        self.links[link.id] = link
        return link

    def add_sprint(self, name: str, board_id: int, **details: Any) -> Sprint:
        sprint = Sprint(self._next_sprint_id, name, board_id, **details)
        self._next_sprint_id += 1
        self.sprints[sprint.id] = sprint
        return sprint

    def summary(self) -> dict[str, Any]:
        """Counts for tests and the control endpoint."""
        by_type: dict[str, int] = {}
        for issue in self.issues.values():
            by_type[issue.issue_type.name] = by_type.get(issue.issue_type.name, 0) + 1
        return {
            "issues": len(self.issues),
            "issues_by_type": by_type,
            "links": len(self.links),
            "sprints": len(self.sprints),
            "issues_in_sprints": sum(1 for i in self.issues.values() if i.sprint_id),
        }
