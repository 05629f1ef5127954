"""What the GitHub sync engine needs from GitHub, as Protocols and plain data (no I/O).

``sync.github.adapter.GitHubRestAdapter`` (PyGithub) implements ``GitHubRestPort`` and
``sync.github.graphql.GitHubProjectsClient`` (httpx) implements ``GitHubProjectsPort``; the
engine (``sync.github.engine``) sees only this module.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sync.calls import CallCounter
from sync.github.mapping import ProjectFieldSpec, find_marker

IssueState = tuple[str, tuple[str, ...], str | None]  # state, assignees, closed at (ISO 8601)


@dataclass(frozen=True, slots=True)
class GitHubIssue:
    """An issue as the REST API returns it (``etag`` for conditional re-reads)."""

    number: int
    id: int
    node_id: str
    url: str
    state: str
    title: str
    body: str
    labels: tuple[str, ...]
    milestone: int | None
    assignees: tuple[str, ...]
    etag: str | None = None
    closed_at: str | None = None  # when it was last closed (ISO 8601), for the burndown
    milestone_title: str | None = None  # without a board, the story's sprint lives here
    parent_number: int | None = None  # the issue it is a sub-issue of
    blocked_by_count: int | None = None  # how many issues block it (None: not said)
    blocking_count: int | None = None  # how many issues it blocks (None: not said)
    updated_at: str | None = None  # ISO 8601, as GitHub says it

    @property
    def backlog_id(self) -> str | None:
        return find_marker(self.body)


@dataclass(frozen=True, slots=True)
class RemoteMilestone:
    number: int
    title: str
    description: str
    due_on: str | None
    state: str


@dataclass(frozen=True, slots=True)
class OpenPull:
    """An open pull request: number, title, body, head commit, web address."""

    number: int
    title: str
    body: str
    head_sha: str
    url: str


@dataclass(frozen=True, slots=True)
class CommitIdentity:
    """Who a commit names as its author and committer."""

    name: str
    email: str


@dataclass(frozen=True, slots=True)
class BranchCommit:
    """A commit as a comparison lists it: its committer and message tell whose it is."""

    sha: str
    message: str
    committer: CommitIdentity


@dataclass(frozen=True, slots=True)
class Comparison:
    """``head`` against ``base`` (GitHub's compare): the commits ``head`` has that ``base``
    lacks (oldest first; ``complete`` is False when GitHub listed only some) and how many
    commits of ``base`` ``head`` lacks."""

    merge_base: str
    ahead: tuple[BranchCommit, ...]
    behind_by: int
    complete: bool = True


class RepoFilesPort(Protocol):
    """A repository's files, branches and pull requests (the GitOps pull request)."""

    def default_branch(self) -> str: ...
    def branch_head(self, branch: str) -> str | None: ...
    def contents_text(self, path: str, ref: str) -> str | None: ...
    def compare(self, base: str, head: str) -> Comparison: ...
    def commit_file(
        self, branch: str, path: str, text: str, *, parent: str, message: str,
        identity: CommitIdentity, replace: str | None = None,
    ) -> str: ...  # fmt: skip
    def open_pull(self, branch: str, base: str) -> OpenPull | None: ...
    def pull_comments(self, number: int) -> list[str]: ...
    def comment_pull(self, number: int, body: str) -> None: ...
    def create_pull(self, branch: str, base: str, *, title: str, body: str) -> OpenPull: ...
    def edit_pull(
        self, number: int, *, title: str | None = None, body: str | None = None,
        state: str | None = None,
    ) -> None: ...  # fmt: skip
    def close(self) -> None: ...


class ProjectFieldPort(Protocol):
    id: str
    name: str
    data_type: str
    options: dict[str, str]
    iterations: dict[str, str]


class ProjectItemPort(Protocol):
    id: str
    content_id: str
    number: int | None
    state: str | None
    assignees: tuple[str, ...]
    values: dict[str, Any]


class GitHubRestPort(Protocol):
    calls: CallCounter

    def check_access(self) -> str: ...
    def ensure_access(self) -> str: ...
    def list_labels(self) -> dict[str, dict[str, str]]: ...
    def create_label(self, name: str, color: str, description: str) -> None: ...
    def update_label(self, name: str, color: str, description: str) -> None: ...
    def list_milestones(self) -> dict[str, RemoteMilestone]: ...
    def create_milestone(self, title: str, description: str, due_on: date | None) -> int: ...
    def update_milestone(
        self, number: int, title: str, description: str, due_on: date | None
    ) -> None: ...
    def iter_issues(self) -> Iterator[GitHubIssue]: ...
    def issue_event_actors(self, numbers: Collection[int]) -> dict[int, dict[str, str]]: ...
    def issues_by_marker(self) -> dict[str, GitHubIssue]: ...
    def create_issue(
        self,
        backlog_id: str,
        *,
        title: str,
        body: str,
        labels: list[str],
        milestone: int | None,
        assignees: list[str] | None = None,
    ) -> GitHubIssue: ...
    def update_issue(self, number: int, fields: dict[str, Any]) -> GitHubIssue: ...
    def get_issue(self, number: int, etag: str | None = None) -> GitHubIssue | None: ...
    def sub_issue_ids(self, parent: int) -> set[int]: ...
    def add_sub_issue(
        self, parent: int, child_id: int, *, replace_parent: bool = False
    ) -> None: ...
    def blocked_by_ids(self, number: int) -> set[int]: ...
    def blocked_by_list(self, number: int) -> list[GitHubIssue]: ...
    def add_blocked_by(self, number: int, blocker_id: int) -> None: ...
    def remove_blocked_by(self, number: int, blocker_id: int) -> None: ...
    def create_comment(self, number: int, body: str) -> int: ...


class GitHubProjectsPort(Protocol):
    def find_or_create_project(self, title: str) -> str: ...
    def ensure_fields(self, project_id: str, specs: list[ProjectFieldSpec]) -> dict[str, Any]: ...
    def add_items(self, project_id: str, content_ids: list[str]) -> dict[str, str]: ...
    def set_values(
        self, project_id: str, changes: list[tuple[str, str, dict[str, Any] | None]]
    ) -> None: ...
    def items(self, project_id: str) -> dict[str, Any]: ...
    def issue_states(self, node_ids: list[str]) -> dict[str, IssueState]: ...
