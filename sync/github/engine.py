"""The GitHub sync engine: apply a plan step by step, recording each step, and pull state back.

``GitHubSync`` works through the ports of ``sync.github.port`` (never a concrete adapter)
and the ``SyncLink``/``SyncRun`` tables. Each write is recorded in its own transaction right
after it succeeds; an issue created just before a crash is found again by its hidden body
marker (``issues_by_marker``) instead of being created twice. A failing item is reported and
the run goes on; ``apply`` plans again after each round, so items that failed (or bodies that
reference issues created later in the run) are retried, up to ``rounds`` times. The
Projects v2 board step is ``sync.github.board.ProjectBoard``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from backlog.errors import AuthenticationError, PermissionDeniedError, RemoteError
from sync.github.board import ProjectBoard
from sync.github.links import LinkStore, finish_run, start_run
from sync.github.mapping import FIELD_POINTS, FIELD_SPRINT, FIELD_STATUS, GitHubDesired, IssueSpec
from sync.github.plan import (
    ISSUE_KINDS,
    TARGET,
    issue_content,
    issue_link,
    issue_numbers,
    milestone_number,
    plan_github,
    project_enabled,
    snapshot,
)
from sync.github.port import GitHubProjectsPort, GitHubRestPort, RemoteIssue, RemoteMilestone
from sync.link_record import LinkRecord
from sync.plan import Change, Plan, content_hash

PROJECT_KINDS = frozenset({"project", "project-item", "project-fields"})


@dataclass
class SyncReport:
    """What a run did: counts by step, per-item errors, HTTP calls, the run id."""

    plan: Plan
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    run_id: int | None = None
    rounds: int = 0

    @property
    def outcome(self) -> str:
        return "partial" if self.errors else "ok"


class GitHubSync:
    """Plan, apply and pull for one repository (and optionally one project board)."""

    def __init__(
        self,
        rest: GitHubRestPort,
        engine: Engine,
        *,
        projects: GitHubProjectsPort | None = None,
        project_title: str | None = None,
        jira: Mapping[str, tuple[str, str]] | None = None,
    ) -> None:
        self.rest = rest
        self.projects = projects
        self.project_title = project_title if projects is not None else None
        self.store = LinkStore(engine)
        self.engine = engine
        self.jira = dict(jira or {})
        self.links: dict[tuple[str, str], LinkRecord] = {}
        self._markers: dict[str, RemoteIssue] | None = None
        self._labels: dict[str, dict[str, str]] | None = None
        self._milestones: dict[str, RemoteMilestone] | None = None
        self.prune = False

    # --- plan and apply ----------------------------------------------------------------------

    def plan(self, desired: GitHubDesired, *, prune: bool = False) -> Plan:
        self.links = self.store.load()
        return plan_github(
            desired, self.links, project_title=self.project_title, jira=self.jira, prune=prune
        )

    def apply(
        self,
        desired: GitHubDesired,
        *,
        rounds: int = 3,
        source: str | None = None,
        prune: bool = False,
    ) -> SyncReport:
        """Run the plan; re-plan and retry what failed, at most ``rounds`` times."""
        self.prune = prune
        first = self.plan(desired, prune=prune)
        report = SyncReport(first)
        run_id = self._start_run("push", source)
        try:
            if not first.is_noop:
                self.rest.ensure_access()  # one GET: a wrong repository fails once, clearly
            self._rounds(desired, first, report, rounds)
        except BaseException as exc:
            report.errors.append(f"run stopped: {exc}")
            report.calls = self.rest.counter.snapshot()
            self._finish_run(run_id, report, outcome="failed")
            raise
        report.calls = self.rest.counter.snapshot()
        report.run_id = self._finish_run(run_id, report)
        return report

    def _rounds(self, desired: GitHubDesired, plan: Plan, report: SyncReport, rounds: int) -> None:
        for _ in range(rounds):
            if plan.is_noop:
                return
            report.rounds += 1
            report.errors = []
            self._markers = self._labels = self._milestones = None
            for change in plan.writes:
                if change.kind in PROJECT_KINDS:
                    continue
                try:
                    self._execute(change, desired)
                except (AuthenticationError, PermissionDeniedError):
                    raise  # every other step would fail the same way
                except RemoteError as exc:
                    where = f" (backlog line {change.line})" if change.line else ""
                    report.errors.append(f"{change.kind} {change.backlog_id}{where}: {exc}")
                else:
                    _count(report, change)
            if self._project_pending(plan) and self._sync_project(desired, report):
                for change in plan.writes:
                    if change.kind in PROJECT_KINDS:
                        _count(report, change)
            plan = self.plan(desired, prune=self.prune)

    def _project_pending(self, plan: Plan) -> bool:
        return any(change.kind in PROJECT_KINDS for change in plan.writes)

    def _execute(self, change: Change, desired: GitHubDesired) -> None:
        if change.action == "close":
            self._close_orphan(change)
        elif change.kind == "label":
            self._label(change)
        elif change.kind == "milestone":
            self._milestone(change, desired)
        elif change.kind in ISSUE_KINDS:
            spec = desired.issue(change.backlog_id)
            if spec is not None:
                self._issue(spec, desired)
        elif change.kind == "sub-issue":
            self._sub_issue(change)
        elif change.kind == "dependency":
            self._dependency(change)

    # --- labels and milestones ----------------------------------------------------------------

    def _label(self, change: Change) -> None:
        name = change.backlog_id
        fields = dict(change.fields)
        if self._labels is None:  # one listing per round, not one per label
            self._labels = self.rest.list_labels()
        remote = self._labels
        if name not in remote:
            self.rest.create_label(name, fields["color"], fields["description"])
        elif remote[name] != {"color": fields["color"], "description": fields["description"]}:
            self.rest.update_label(name, fields["color"], fields["description"])
        record = LinkRecord("label", name, name, content_hash=content_hash(fields))
        record.extra["content"] = fields
        self._save(record)

    def _milestone(self, change: Change, desired: GitHubDesired) -> None:
        spec = next(m for m in desired.milestones if m.backlog_id == change.backlog_id)
        content = spec.content()
        link = self.links.get(("milestone", spec.backlog_id))
        number = link.number if link else None
        if number is None:
            if self._milestones is None:
                self._milestones = self.rest.list_milestones()
            existing = self._milestones.get(spec.title)
            number = existing.number if existing else None
            if number is None:
                number = self.rest.create_milestone(spec.title, spec.description, spec.due_on)
            elif existing is not None and (existing.description, existing.due_on) != (
                spec.description,
                content["due_on"],
            ):
                self.rest.update_milestone(number, spec.title, spec.description, spec.due_on)
        else:
            self.rest.update_milestone(number, spec.title, spec.description, spec.due_on)
        record = LinkRecord("milestone", spec.backlog_id, str(number), f"%{number}")
        record.content_hash = content_hash(content)
        record.extra.update(number=number, content=content)
        self._save(record)

    # --- issues ------------------------------------------------------------------------------

    def _issue(self, spec: IssueSpec, desired: GitHubDesired) -> None:
        numbers = issue_numbers(self.links)
        ms = milestone_number(self.links, spec.milestone)
        content = issue_content(spec, desired, numbers, ms, self.jira)
        link = self.links.get((spec.kind, spec.backlog_id))
        if link is None:
            issue = self._find_or_create(spec, content)
        else:
            issue = self.rest.update_issue(link.number or 0, dict(content))
        record = link or LinkRecord(spec.kind, spec.backlog_id, str(issue.id))
        record.remote_id = str(issue.id)
        record.remote_key = f"#{issue.number}"
        record.remote_url = issue.url
        record.content_hash = content_hash(content)
        record.extra.update(number=issue.number, node_id=issue.node_id, pushed=snapshot(content))
        self._save(record)

    def _find_or_create(self, spec: IssueSpec, content: dict[str, Any]) -> RemoteIssue:
        if self._markers is None:
            self._markers = self.rest.issues_by_marker()
        found = self._markers.get(spec.backlog_id)
        if found is None:
            return self.rest.create_issue(
                spec.backlog_id,
                title=content["title"],
                body=content["body"],
                labels=list(content["labels"]),
                milestone=content["milestone"],
            )
        same = (
            found.title == content["title"]
            and found.body == content["body"]
            and sorted(found.labels) == content["labels"]
            and found.milestone == content["milestone"]
        )
        return found if same else self.rest.update_issue(found.number, dict(content))

    def _close_orphan(self, change: Change) -> None:
        link = self.links[(change.kind, change.backlog_id)]
        self.rest.update_issue(link.number or 0, {"state": "closed", "state_reason": "not_planned"})
        link.extra["pruned"] = True
        self._save(link)

    def _issue_link(self, backlog_id: str) -> LinkRecord | None:
        return issue_link(self.links, backlog_id)

    def _sub_issue(self, change: Change) -> None:
        parent_id = str(change.fields["parent"])
        child = self._issue_link(change.backlog_id)
        parent = self._issue_link(parent_id)
        if child is None or parent is None or parent.number is None:
            raise RemoteError(f"waiting for {parent_id} to be created", service=TARGET)
        child_id = int(child.remote_id)
        moved = bool(child.extra.get("parent"))
        try:
            self.rest.add_sub_issue(parent.number, child_id, replace_parent=moved)
        except RemoteError as exc:
            if exc.status != 422 or child_id not in self.rest.sub_issue_ids(parent.number):
                raise
        child.extra["parent"] = parent_id
        self._save(child)

    def _dependency(self, change: Change) -> None:
        link = self._issue_link(change.backlog_id)
        if link is None or link.number is None:
            raise RemoteError("waiting for the issue to be created", service=TARGET)
        linked = set(link.extra.get("blocked_by") or [])
        for ref in change.fields["add"]:
            blocker = self._issue_link(ref)
            if blocker is None:
                continue
            try:
                self.rest.add_blocked_by(link.number, int(blocker.remote_id))
            except RemoteError as exc:
                if exc.status != 422 or int(blocker.remote_id) not in self.rest.blocked_by_ids(
                    link.number
                ):
                    raise
            linked.add(ref)
            link.extra["blocked_by"] = sorted(linked)
            self._save(link)
        for ref in change.fields["remove"]:
            blocker = self._issue_link(ref)
            if blocker is not None:
                self.rest.remove_blocked_by(link.number, int(blocker.remote_id))
            linked.discard(ref)
        link.extra["blocked_by"] = sorted(linked)
        self._save(link)

    # --- the project board -------------------------------------------------------------------

    def _sync_project(self, desired: GitHubDesired, report: SyncReport) -> bool:
        title = self.project_title
        if not project_enabled(desired, title) or self.projects is None or title is None:
            return False
        try:
            ProjectBoard(self.projects, title, self.links, self._save).sync(desired)
        except (AuthenticationError, PermissionDeniedError):
            raise
        except RemoteError as exc:
            report.errors.append(f"project {self.project_title!r}: {exc}")
            return False
        return True

    # --- pull --------------------------------------------------------------------------------

    def pull(self, *, source: str | None = None) -> SyncReport:
        """Read open/closed, assignees and the board's Status, Points, Sprint into the links."""
        self.links = self.store.load()
        report = SyncReport(Plan(TARGET))
        run_id = self._start_run("pull", source)
        issues = {key: link for key, link in self.links.items() if key[0] in ISSUE_KINDS}
        board: dict[str, Any] = {}
        project = self.links.get(("project", "project"))
        if self.projects is not None and project is not None:
            board = self.projects.items(project.remote_id)
            others = [
                x.extra["node_id"] for x in issues.values() if x.extra.get("node_id") not in board
            ]
            states = self.projects.issue_states(others) if others else {}
        else:
            states = {}
            for link in issues.values():
                fresh = self.rest.get_issue(link.number or 0, link.extra.get("etag"))
                if fresh is not None:
                    states[fresh.node_id] = (fresh.state.upper(), fresh.assignees)
                    link.extra["etag"] = fresh.etag
        changed = 0
        for link in issues.values():
            node = link.extra.get("node_id")
            before = (
                link.remote_status,
                link.remote_assignee,
                link.remote_points,
                link.remote_sprint,
            )
            if node in board:
                item = board[node]
                link.extra["state"] = (item.state or "").lower()
                link.remote_status = item.values.get(FIELD_STATUS) or link.extra["state"]
                link.remote_assignee = ",".join(item.assignees) or None
                points = item.values.get(FIELD_POINTS)
                link.remote_points = float(points) if points is not None else None
                link.remote_sprint = item.values.get(FIELD_SPRINT)
            elif node in states:
                state, assignees = states[node]
                link.extra["state"] = state.lower()
                link.remote_status = state.lower()
                link.remote_assignee = ",".join(assignees) or None
            after = (
                link.remote_status,
                link.remote_assignee,
                link.remote_points,
                link.remote_sprint,
            )
            if after != before:
                changed += 1
            self._save(link)
        report.counts = {"pulled": len(issues), "changed": changed}
        report.calls = self.rest.counter.snapshot()
        report.run_id = self._finish_run(run_id, report)
        return report

    # --- records -----------------------------------------------------------------------------

    def _save(self, record: LinkRecord) -> None:
        self.store.save(record)
        self.links[(record.kind, record.backlog_id)] = record

    def _start_run(self, direction: str, source: str | None) -> int | None:
        return start_run(self.engine, direction, source)

    def _finish_run(
        self, run_id: int | None, report: SyncReport, outcome: str | None = None
    ) -> int | None:
        counts = {**report.counts, "errors": len(report.errors)}
        finish_run(
            self.engine, run_id, outcome or report.outcome, counts, report.calls, report.errors
        )
        return run_id


def _count(report: SyncReport, change: Change) -> None:
    key = f"{change.action} {change.kind}"
    report.counts[key] = report.counts.get(key, 0) + 1
