"""What the Jira sync engine needs from Jira, as a Protocol and plain data (no I/O here).

``sync.jira.adapter.JiraAdapter`` implements ``JiraPort`` with the ``jira`` library; the
planner and applier (``sync.jira.plan``, ``sync.jira.engine``) only see this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from backlog.errors import TransientError
from sync.calls import CallCounter

MANAGED_LABEL = "backlog-bot"
ID_LABEL_PREFIX = "backlog-id-"
PROPERTY_KEY = "backlog-bot"
BULK_LIMIT = 50


class AmbiguousWriteError(TransientError):
    """A create got no usable answer: it may or may not have happened. Look before retrying."""


def id_label(backlog_id: str) -> str:
    """The label that finds an element's issue after a crash: ``backlog-id-US-001-task-1``."""
    return ID_LABEL_PREFIX + backlog_id.replace("/", "-").replace(" ", "_")


@dataclass(frozen=True)
class JiraProjectConfig:
    """What discovery learnt about the project; the mapping builds fields from it."""

    site_url: str
    project_key: str
    project_id: str
    team_managed: bool
    epic_type_id: str
    story_type_id: str
    subtask_type_id: str
    subtask_type_name: str
    points_field: str | None
    points_field_name: str | None
    epic_link_field: str | None
    epic_name_field: str | None
    sprint_field: str | None
    timetracking: bool
    priorities: Mapping[str, str]
    blocks_link_type: str
    board_id: int | None
    account: str = ""

    @property
    def epic_mode(self) -> str:
        """``parent`` (team-managed and current company-managed) or ``epic-link`` (older)."""
        return "epic-link" if self.epic_link_field else "parent"

    def issue_url(self, key: str) -> str:
        return f"{self.site_url}/browse/{key}"


@dataclass(frozen=True)
class JiraIssue:
    """An issue as the batched search returns it (``blocks``: blocked key -> link id;
    ``blocked_by``: blocker key -> link id)."""

    id: str
    key: str
    issue_type: str
    labels: tuple[str, ...] = ()
    backlog_id: str | None = None
    content_hash: str | None = None
    parent_key: str | None = None
    status: str | None = None
    status_category: str | None = None
    assignee: str | None = None
    points: float | None = None
    sprint_id: int | None = None
    sprint_name: str | None = None
    # the issue's sprint for the backlog's sprint plan: its open sprint, else the last one it
    # was in (a completed sprint keeps its stories)
    plan_sprint: str | None = None
    blocks: Mapping[str, str] = field(default_factory=dict)
    blocked_by: Mapping[str, str] = field(default_factory=dict)
    updated: str | None = None
    done_at: str | None = None  # the changelog's last move into the current (done) status
    sprint_since: str | None = None  # the changelog's last change of the Sprint field
    summary: str | None = None
    priority: str | None = None
    description: Any = None  # when asked for: wiki text (REST v2) or a document (v3)
    # who made the latest change of each field, per the changelog: field id (and, where Jira
    # gives no id, the field's name) -> the author's display name
    changed_by: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IssueWrite:
    """The fields (Jira field ids) and issue properties of one create or update."""

    backlog_id: str
    fields: Mapping[str, Any]
    properties: Mapping[str, Any] = field(default_factory=dict)
    line: int | None = None


@dataclass(frozen=True)
class CreateResult:
    backlog_id: str
    key: str | None = None
    id: str | None = None
    errors: Mapping[str, str] = field(default_factory=dict)
    messages: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.key is not None


@dataclass(frozen=True)
class RemoteSprint:
    id: int
    name: str
    state: str = "future"
    goal: str = ""
    start: str | None = None
    end: str | None = None


class JiraPort(Protocol):
    calls: CallCounter

    def discover(self) -> JiraProjectConfig: ...

    def search(
        self, config: JiraProjectConfig, jql: str, *, description: bool = False
    ) -> list[JiraIssue]: ...

    def create_issues(self, writes: Sequence[IssueWrite]) -> list[CreateResult]: ...

    def update_issue(self, key: str, write: IssueWrite) -> None: ...

    def find_user(self, name: str) -> Mapping[str, str] | None:
        """The reference that assigns an issue to the user of display name (or e-mail
        address) ``name``: ``{"accountId": ...}`` (Cloud) or ``{"name": ...}`` (Data
        Center); None when no user has it."""
        ...

    def create_link(self, link_type: str, blocker_key: str, blocked_key: str) -> None: ...

    def delete_link(self, link_id: str) -> None: ...

    def close_issue(self, key: str) -> None: ...

    def sprints(self, board_id: int) -> list[RemoteSprint]: ...

    def create_sprint(
        self, board_id: int, name: str, goal: str, start: str | None, end: str | None
    ) -> RemoteSprint: ...

    def update_sprint(
        self, sprint_id: int, name: str, goal: str, start: str | None, end: str | None
    ) -> None: ...

    def move_to_sprint(self, sprint_id: int, keys: Sequence[str]) -> None: ...
