"""Executing a Jira plan: bulk creates by level (epics, stories, sub-tasks), updates, links,
sprints and pruning, recording each step in the state right after it happened.

A create that got no usable answer (timeout, dropped connection, 5xx) is never sent again
blindly: the batch's ``backlog-id-…`` labels are searched first and only the missing items
are created again. Every other failure is isolated to its item and reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from backlog.errors import RemoteError
from sync.jira.fields import issue_write
from sync.jira.mapping import DesiredIssue
from sync.jira.plan import JiraPlan
from sync.jira.port import (
    BULK_LIMIT,
    AmbiguousWriteError,
    CreateResult,
    JiraPort,
    JiraProjectConfig,
    id_label,
)
from sync.link_record import LinkRecord
from sync.plan import ISSUE_KINDS, Change
from sync.report import Progress, SyncReport
from sync.state.links import LinkStore

LEVELS: tuple[tuple[str, ...], ...] = (("epic",), ("story",), ("task", "subtask"))
MAX_CREATE_ATTEMPTS = 4  # per item, when Jira keeps giving no usable answer


class JiraApplier:
    """Executes one plan: creates by level in bulk, updates, links, sprints, prune.

    Counts and failures go to ``report``; ``keys`` ends with the Jira key of every issue of
    the backlog that exists (found by the plan or created here).
    """

    def __init__(
        self,
        port: JiraPort,
        store: LinkStore,
        planned: JiraPlan,
        report: SyncReport,
        progress: Progress,
    ) -> None:
        self.port = port
        self.store = store
        self.planned = planned
        self.project = planned.project
        self.report = report
        self.progress = progress
        self.source = planned.desired.source
        self.keys: dict[str, str] = dict(planned.keys)
        self.failed: set[str] = set()
        self.sprint_ids: dict[str, int] = dict(planned.sprint_ids)
        self._users: dict[str, Mapping[str, str] | None] = {}  # assignee name -> reference

    def run(self) -> None:
        changes = self.planned.plan.changes
        creates = {c.backlog_id for c in changes if c.action == "create" and c.kind in ISSUE_KINDS}
        for kinds in LEVELS:
            items = [
                i
                for i in self.planned.desired.issues
                if i.kind in kinds and i.backlog_id in creates
            ]
            self._create_level(items)
        for change in changes:
            if change.action == "update" and change.kind in ISSUE_KINDS:
                self._update(change)
        for change in changes:
            if change.kind == "link" and change.action == "link":
                self._link(change)
        for change in changes:
            if change.kind == "sprint" and change.action in ("create", "update", "move"):
                self._sprint(change)
        for change in changes:
            if change.action in ("close", "delete"):
                self._prune(change)

    # --- issues -------------------------------------------------------------------------

    def _create_level(self, items: list[DesiredIssue]) -> None:
        pending: list[DesiredIssue] = []
        for item in items:
            if item.parent_id and item.parent_id not in self.keys:
                self._fail(
                    item.backlog_id,
                    item.line,
                    f"not created: its parent {item.parent_id} does not exist in Jira",
                )
            else:
                pending.append(item)
        for _attempt in range(MAX_CREATE_ATTEMPTS):
            if not pending:
                return
            retry: list[DesiredIssue] = []
            for start in range(0, len(pending), BULK_LIMIT):
                retry.extend(self._create_batch(pending[start : start + BULK_LIMIT]))
            pending = retry
        for item in pending:
            self._fail(
                item.backlog_id, item.line, "not created: Jira kept failing; the next run retries"
            )

    def _assignee(self, item: DesiredIssue) -> Mapping[str, str] | None:
        """The Jira user reference of ``item``'s assignee (one search per name and run);
        raises ``RemoteError`` naming the item, its line and what to write when no user has
        that name."""
        if not item.assignee:
            return None
        if item.assignee not in self._users:
            self._users[item.assignee] = self.port.find_user(item.assignee)
        found = self._users[item.assignee]
        if found is None:
            raise RemoteError(
                f"assignee {item.assignee!r} (line {item.line}) is no Jira user of that "
                "display name or e-mail address; write the name Jira shows, or remove the "
                "**Assignee:** line",
                service="jira",
            )
        return found

    def _create_batch(self, batch: Sequence[DesiredIssue]) -> list[DesiredIssue]:
        """Create one batch; returns the items to try again (after an ambiguous failure)."""
        writes = []
        for item in list(batch):
            try:
                assignee = self._assignee(item)
            except RemoteError as exc:
                self._fail(item.backlog_id, item.line, f"not created: {exc}")
                batch = [other for other in batch if other is not item]
                continue
            parent_key = self.keys.get(item.parent_id or "")
            writes.append(
                issue_write(
                    item, self.project, self.source, parent_key, creating=True, assignee=assignee
                )
            )
        if not writes:
            return []
        try:
            results = self.port.create_issues(writes)
        except AmbiguousWriteError:
            return self._recover(batch)
        except RemoteError as exc:
            for item in batch:
                self._fail(item.backlog_id, item.line, f"not created: {exc}")
            return []
        by_id = {item.backlog_id: item for item in batch}
        updates, created = [], []
        for result in results:
            item = by_id[result.backlog_id]
            if result.ok:
                updates.append(self._issue_record(item, result.key or "", result.id or ""))
                created.append(item)
            else:
                self._fail(item.backlog_id, item.line, _bulk_error(item, result, self.project))
        self.store.record(updates)
        for item in created:
            self.report.count_change("create", item.kind)
        self.progress.advance("creating issues", len(batch))
        return []

    def _recover(self, batch: Sequence[DesiredIssue]) -> list[DesiredIssue]:
        """After a create that may or may not have happened: find what exists, retry the rest."""
        labels = ", ".join(f'"{id_label(item.backlog_id)}"' for item in batch)
        try:
            found = self.port.search(
                self.project, f'project = "{self.project.project_key}" AND labels in ({labels})'
            )
        except RemoteError:
            return list(batch)
        by_label = {label: issue for issue in found for label in issue.labels}
        updates, missing, found_items = [], [], []
        for item in batch:
            issue = by_label.get(id_label(item.backlog_id))
            if issue is None:
                missing.append(item)
            else:
                updates.append(self._issue_record(item, issue.key, issue.id))
                found_items.append(item)
        self.store.record(updates)
        for item in found_items:
            self.report.count_change("adopt", item.kind)  # found by its label, not created again
        self.progress.advance("creating issues", len(updates))
        return missing

    def _issue_record(self, item: DesiredIssue, key: str, remote_id: str) -> LinkRecord:
        self.keys[item.backlog_id] = key
        return LinkRecord(
            item.kind,
            item.backlog_id,
            remote_id,
            key,
            self.project.issue_url(key),
            item.hash,
            {"content": item.content()},
        )

    def _update(self, change: Change) -> None:
        item = self.planned.desired.issue(change.backlog_id)
        key = change.remote_key
        if item is None or key is None:
            return
        parent_key = self.keys.get(item.parent_id or "")
        try:
            write = issue_write(
                item,
                self.project,
                self.source,
                parent_key,
                creating=False,
                assignee=self._assignee(item),
                unassign="assignee" in change.diff and not item.assignee,
            )
            self.port.update_issue(key, write)
        except RemoteError as exc:
            self._fail(item.backlog_id, item.line, f"{key} not updated: {exc}")
            return
        remote_id = next(
            (r.remote_id for r in self.planned.adopt if r.backlog_id == item.backlog_id), None
        )
        existing = (
            self.store.load().get((item.kind, item.backlog_id)) if remote_id is None else None
        )
        self.store.record(
            [self._issue_record(item, key, remote_id or (existing.remote_id if existing else key))]
        )
        self.report.count_change("update", item.kind)
        self.progress.advance(f"updating {key}", 1)

    # --- links --------------------------------------------------------------------------

    def _link(self, change: Change) -> None:
        blocker_id, blocked_id = change.fields["blocker"], change.fields["blocked"]
        blocker, blocked = self.keys.get(blocker_id), self.keys.get(blocked_id)
        if blocker is None or blocked is None:
            self._fail(
                change.backlog_id, change.line, "link not created: an issue it joins does not exist"
            )
            return
        for _attempt in range(2):
            try:
                self.port.create_link(self.project.blocks_link_type, blocker, blocked)
                break
            except AmbiguousWriteError:
                if self._link_exists(blocker, blocked):
                    break
            except RemoteError as exc:
                self._fail(
                    change.backlog_id, change.line, f"{blocker} blocks {blocked} not linked: {exc}"
                )
                return
        else:
            self._fail(
                change.backlog_id,
                change.line,
                f"{blocker} blocks {blocked}: no answer; the next run retries",
            )
            return
        self.store.record(
            [LinkRecord("link", change.backlog_id, f"{blocker}>{blocked}", f"{blocker}>{blocked}")]
        )
        self.report.count("link dependency")
        self.progress.advance(f"linking {blocker} -> {blocked}", 1)

    def _link_exists(self, blocker: str, blocked: str) -> bool:
        try:
            found = self.port.search(self.project, f'key = "{blocker}"')
        except RemoteError:
            return False
        return any(blocked in issue.blocks for issue in found)

    # --- sprints ------------------------------------------------------------------------

    def _sprint(self, change: Change) -> None:
        sprint = next(
            (s for s in self.planned.desired.sprints if s.backlog_id == change.backlog_id), None
        )
        board = self.project.board_id
        if sprint is None or board is None:
            return
        ids = self.sprint_ids
        has_move = any(
            c.kind == "sprint" and c.action == "move" and c.backlog_id == sprint.backlog_id
            for c in self.planned.plan.changes
        )
        try:
            if change.action == "create":
                ids[sprint.backlog_id] = self._create_sprint(
                    board, sprint.name, sprint.goal, sprint.start, sprint.end
                )
                self.report.count("create sprint")
            elif change.action == "update":
                ids[sprint.backlog_id] = int(change.remote_key or 0)
                self.port.update_sprint(
                    ids[sprint.backlog_id], sprint.name, sprint.goal, sprint.start, sprint.end
                )
                self.report.count("update sprint")
            else:
                if sprint.backlog_id not in ids:
                    self._fail(
                        sprint.backlog_id,
                        sprint.line,
                        "stories not moved: the sprint does not exist",
                    )
                    return
                keys = [self.keys[s] for s in change.fields.get("stories", []) if s in self.keys]
                if keys:
                    self.port.move_to_sprint(ids[sprint.backlog_id], keys)
                    self.report.count("move to sprint", len(keys))
        except RemoteError as exc:
            self._fail(sprint.backlog_id, sprint.line, f"{sprint.name}: {exc}")
            return
        # The hash is recorded once the sprint and its stories are in place.
        done = change.action == "move" or not has_move
        content_hash = sprint.hash if done else None
        self.store.record(
            [
                LinkRecord(
                    "sprint",
                    sprint.backlog_id,
                    str(ids[sprint.backlog_id]),
                    sprint.name,
                    None,
                    content_hash,
                    {"content": sprint.content()} if done else {},
                )
            ]
        )
        self.progress.advance(f"{change.action} {sprint.name}", 1)

    def _create_sprint(
        self, board: int, name: str, goal: str, start: str | None, end: str | None
    ) -> int:
        try:
            return self.port.create_sprint(board, name, goal, start, end).id
        except AmbiguousWriteError:
            existing = next((s for s in self.port.sprints(board) if s.name == name), None)
            if existing is not None:
                return existing.id
            return self.port.create_sprint(board, name, goal, start, end).id

    # --- prune --------------------------------------------------------------------------

    def _prune(self, change: Change) -> None:
        try:
            if change.action == "close" and change.remote_key:
                self.port.close_issue(change.remote_key)
                self.report.count_change("close", change.kind)
            elif change.action == "delete" and change.kind == "link":
                remote_id = change.fields.get("link_id") or self._link_id(change.remote_key or "")
                if remote_id:
                    self.port.delete_link(remote_id)
                self.report.count("unlink dependency")
        except RemoteError as exc:
            self._fail(change.backlog_id, change.line, f"not pruned: {exc}")
            return
        self.store.forget([(change.kind, change.backlog_id)])
        self.progress.advance(f"{change.action} {change.backlog_id}", 1)

    def _link_id(self, pair: str) -> str | None:
        blocker, _, blocked = pair.partition(">")
        if not blocker:
            return None
        found = self.port.search(self.project, f'key = "{blocker}"')
        return next((issue.blocks[blocked] for issue in found if blocked in issue.blocks), None)

    def _fail(self, backlog_id: str, line: int | None, message: str) -> None:
        where = f"{self.source}:{line}" if line else self.source
        self.failed.add(backlog_id)
        self.report.failures.append(f"{where}: {backlog_id}: {message}")


def _bulk_error(item: DesiredIssue, result: CreateResult, project: JiraProjectConfig) -> str:
    names = {
        project.points_field: project.points_field_name,
        project.epic_link_field: "Epic Link",
        project.epic_name_field: "Epic Name",
    }
    parts = [
        f"field '{names.get(f) or f}' ({f}): {message}" for f, message in result.errors.items()
    ]
    parts.extend(result.messages)
    said = "; ".join(parts) or "no reason given"
    return f"{item.kind} not created; Jira said: {said}"
