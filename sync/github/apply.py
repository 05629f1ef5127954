"""Executing the steps of a GitHub plan: labels, milestones, issues, sub-issues, dependencies
and pruning, each recorded in the link store right after it succeeded.

An issue created just before a crash is found again by its hidden body marker
(``issues_by_marker``) instead of being created twice. A step that fails raises; the engine
reports it against its item and goes on (``sync.github.engine``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backlog.errors import RemoteError
from sync.github.mapping import GitHubDesired, IssueSpec
from sync.github.plan import (
    TARGET,
    board_in_issue,
    issue_content,
    issue_link,
    issue_numbers,
    milestone_number,
    snapshot,
)
from sync.github.port import GitHubIssue, GitHubRestPort, RemoteMilestone
from sync.link_record import LinkRecord
from sync.plan import ISSUE_KINDS, Change, content_hash
from sync.state.links import LinkStore

Links = dict[tuple[str, str], LinkRecord]


class GitHubApplier:
    """Executes the repository steps of one round; ``links`` is updated as steps land."""

    def __init__(
        self,
        port: GitHubRestPort,
        store: LinkStore,
        desired: GitHubDesired,
        links: Links,
        jira: Mapping[str, tuple[str, str]],
    ) -> None:
        self.port = port
        self.store = store
        self.desired = desired
        self.links = links
        self.jira = jira
        # one listing per round, not one per item
        self._markers: dict[str, GitHubIssue] | None = None
        self._labels: dict[str, dict[str, str]] | None = None
        self._milestones: dict[str, RemoteMilestone] | None = None
        # (kind, backlog id) whose "create" found the item already there: adopted (an issue
        # by its hidden marker, a label by its name, a milestone by its title)
        self.adopted: set[tuple[str, str]] = set()

    def execute(self, change: Change) -> None:
        if change.action == "close":
            self._close_orphan(change)
        elif change.kind == "label":
            self._label(change)
        elif change.kind == "milestone":
            self._milestone(change)
        elif change.kind in ISSUE_KINDS:
            spec = self.desired.issue(change.backlog_id)
            if spec is not None:
                self._issue(spec)
        elif change.kind == "sub-issue":
            self._sub_issue(change)
        elif change.kind == "dependency":
            self._dependency(change)

    def save(self, record: LinkRecord) -> None:
        """Record one link now (its own transaction) and keep it for the next steps."""
        self.store.record([record])
        self.links[(record.kind, record.backlog_id)] = record

    # --- labels and milestones ----------------------------------------------------------------

    def _label(self, change: Change) -> None:
        name = change.backlog_id
        fields = dict(change.fields)
        if self._labels is None:
            self._labels = self.port.list_labels()
        remote = self._labels
        if name not in remote:
            self.port.create_label(name, fields["color"], fields["description"])
        else:
            if change.action == "create":
                self.adopted.add(("label", name))
            if remote[name] != {"color": fields["color"], "description": fields["description"]}:
                self.port.update_label(name, fields["color"], fields["description"])
        record = LinkRecord("label", name, name, content_hash=content_hash(fields))
        record.extra["content"] = fields
        self.save(record)

    def _milestone(self, change: Change) -> None:
        spec = next(m for m in self.desired.milestones if m.backlog_id == change.backlog_id)
        content = spec.content()
        link = self.links.get(("milestone", spec.backlog_id))
        number = link.number if link else None
        if number is None:
            if self._milestones is None:
                self._milestones = self.port.list_milestones()
            existing = self._milestones.get(spec.title)
            number = existing.number if existing else None
            if number is not None:
                self.adopted.add(("milestone", spec.backlog_id))
            if number is None:
                number = self.port.create_milestone(spec.title, spec.description, spec.due_on)
            elif existing is not None and (existing.description, existing.due_on) != (
                spec.description,
                content["due_on"],
            ):
                self.port.update_milestone(number, spec.title, spec.description, spec.due_on)
        else:
            self.port.update_milestone(number, spec.title, spec.description, spec.due_on)
        record = LinkRecord("milestone", spec.backlog_id, str(number), f"%{number}")
        record.content_hash = content_hash(content)
        record.extra.update(number=number, content=content)
        self.save(record)

    # --- issues ------------------------------------------------------------------------------

    def _issue(self, spec: IssueSpec) -> None:
        numbers = issue_numbers(self.links)
        ms = milestone_number(self.links, spec.milestone)
        content = issue_content(spec, self.desired, numbers, ms, self.jira)
        link = self.links.get((spec.kind, spec.backlog_id))
        if link is None:
            issue = self._find_or_create(spec, content)
        else:
            fields = dict(content)
            if "assignees" not in fields and (link.extra.get("pushed") or {}).get("assignees"):
                fields["assignees"] = []  # the file took the assignees it had pushed away
            issue = self.port.update_issue(link.number or 0, fields)
        record = link or LinkRecord(spec.kind, spec.backlog_id, str(issue.id))
        record.remote_id = str(issue.id)
        record.remote_key = f"#{issue.number}"
        record.remote_url = issue.url
        record.content_hash = content_hash(content)
        record.extra.update(number=issue.number, node_id=issue.node_id, pushed=snapshot(content))
        record.extra["board_in_issue"] = board_in_issue(spec)
        self.save(record)

    def _find_or_create(self, spec: IssueSpec, content: dict[str, Any]) -> GitHubIssue:
        if self._markers is None:
            self._markers = self.port.issues_by_marker()
        found = self._markers.get(spec.backlog_id)
        if found is not None:
            self.adopted.add((spec.kind, spec.backlog_id))
        if found is None:
            return self.port.create_issue(
                spec.backlog_id,
                title=content["title"],
                body=content["body"],
                labels=list(content["labels"]),
                milestone=content["milestone"],
                assignees=list(content.get("assignees") or []),
            )
        same = (
            found.title == content["title"]
            and found.body == content["body"]
            and sorted(found.labels) == content["labels"]
            and found.milestone == content["milestone"]
            and sorted(found.assignees) == sorted(content.get("assignees") or found.assignees)
        )
        return found if same else self.port.update_issue(found.number, dict(content))

    def _close_orphan(self, change: Change) -> None:
        link = self.links[(change.kind, change.backlog_id)]
        self.port.update_issue(link.number or 0, {"state": "closed", "state_reason": "not_planned"})
        link.extra["pruned"] = True
        self.save(link)

    def _sub_issue(self, change: Change) -> None:
        parent_id = str(change.fields["parent"])
        child = issue_link(self.links, change.backlog_id)
        parent = issue_link(self.links, parent_id)
        if child is None or parent is None or parent.number is None:
            raise RemoteError(f"waiting for {parent_id} to be created", service=TARGET)
        child_id = int(child.remote_id)
        moved = bool(child.extra.get("parent"))
        try:
            self.port.add_sub_issue(parent.number, child_id, replace_parent=moved)
        except RemoteError as exc:
            if exc.status != 422 or child_id not in self.port.sub_issue_ids(parent.number):
                raise
        child.extra["parent"] = parent_id
        self.save(child)

    def _dependency(self, change: Change) -> None:
        link = issue_link(self.links, change.backlog_id)
        if link is None or link.number is None:
            raise RemoteError("waiting for the issue to be created", service=TARGET)
        linked = set(link.extra.get("blocked_by") or [])
        for ref in change.fields["add"]:
            blocker = issue_link(self.links, ref)
            if blocker is None:
                continue
            try:
                self.port.add_blocked_by(link.number, int(blocker.remote_id))
            except RemoteError as exc:
                if exc.status != 422 or int(blocker.remote_id) not in self.port.blocked_by_ids(
                    link.number
                ):
                    raise
            linked.add(ref)
            link.extra["blocked_by"] = sorted(linked)
            self.save(link)
        for ref in change.fields["remove"]:
            blocker = issue_link(self.links, ref)
            if blocker is not None:
                self.port.remove_blocked_by(link.number, int(blocker.remote_id))
            linked.discard(ref)
        link.extra["blocked_by"] = sorted(linked)
        self.save(link)
