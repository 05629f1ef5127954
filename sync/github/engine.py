"""The GitHub sync engine: mapping -> plan -> apply -> record -> report, and pull.

``GitHubSync`` gets its parts injected: the REST port (and optionally the Projects v2 port)
of ``sync.github.port`` (never a concrete adapter), the mapping options and the
``LinkStore``. Each write is recorded right after it succeeds (``sync.github.apply``); the
board step is ``sync.github.board.ProjectBoard``. A failing item is reported and the run goes
on; ``apply`` plans again after each round, so items that failed (or bodies that reference
issues created later in the run) are retried, up to ``rounds`` times.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

from backlog.errors import AuthenticationError, PermissionDeniedError, RemoteError
from backlog.model import Backlog
from sync.github.apply import GitHubApplier, Links
from sync.github.board import ProjectBoard
from sync.github.mapping import (
    FIELD_EPIC,
    FIELD_POINTS,
    FIELD_PRIORITY,
    FIELD_SPRINT,
    FIELD_STATUS,
    GitHubDesired,
    GitHubOptions,
    desired_state,
    is_bot_label,
)
from sync.github.plan import (
    TARGET,
    board_in_issue,
    issue_content,
    issue_numbers,
    milestone_number,
    plan_github,
    project_enabled,
    snapshot,
)
from sync.github.port import GitHubProjectsPort, GitHubRestPort, IssueState
from sync.link_record import LinkRecord
from sync.plan import ISSUE_KINDS, Plan, content_hash
from sync.report import Progress, SilentProgress, SyncReport, recorded_run
from sync.state.links import LinkStore, PulledState

PROJECT_KINDS = frozenset({"project", "project-item", "project-fields"})
KEYLESS_KINDS = frozenset({"label", "milestone"})  # not issues: no key to print


class GitHubSync:
    """Plan, apply and pull for one repository (and optionally one project board).

    ``jira`` maps a backlog id to its Jira issue (key, URL): each GitHub issue body names it.
    """

    def __init__(
        self,
        port: GitHubRestPort,
        store: LinkStore,
        mapping: GitHubOptions,
        *,
        projects: GitHubProjectsPort | None = None,
        project_title: str | None = None,
        jira: Mapping[str, tuple[str, str]] | None = None,
    ) -> None:
        self.port = port
        self.store = store
        self.mapping = mapping
        self.projects = projects
        self.project_title = project_title if projects is not None else None
        self.jira = dict(jira or {})
        self.links: Links = {}

    # --- plan ----------------------------------------------------------------------------

    def plan(
        self, backlog: Backlog, source: str | None = None, *, prune: bool = False
    ) -> SyncReport:
        """Diff the backlog against the recorded links; sends no request at all."""
        planned = self._plan(desired_state(backlog, self.mapping), prune)
        return SyncReport(TARGET, planned, http_calls=self.port.calls.snapshot())

    def _plan(self, desired: GitHubDesired, prune: bool) -> Plan:
        self.links = self.store.load()
        return plan_github(
            desired, self.links, project_title=self.project_title, jira=self.jira, prune=prune
        )

    # --- apply ---------------------------------------------------------------------------

    def apply(
        self,
        backlog: Backlog,
        source: str | None = None,
        *,
        prune: bool = False,
        progress: Progress | None = None,
        rounds: int = 3,
    ) -> SyncReport:
        """Run the plan; re-plan and retry what failed, at most ``rounds`` times."""
        progress = progress or SilentProgress()
        desired = desired_state(backlog, self.mapping)
        report = SyncReport(TARGET, Plan(TARGET))
        with recorded_run(self.store, self.port.calls, report, "push", source or backlog.source):
            report.plan = first = self._plan(desired, prune)
            progress.start(len(first.writes))
            if not first.is_noop:
                self.port.ensure_access()  # one GET: a wrong repository fails once, clearly
            self._rounds(desired, report, rounds, prune, progress)
            report.counts["unchanged"] = first.counts().get("unchanged", 0)
        report.keys, report.urls = self._changed_keys(report.plan)
        report.warnings = [
            f"{c.backlog_id}: {c.summary}" for c in report.plan.changes if c.action == "orphan"
        ]
        return report

    def _rounds(
        self,
        desired: GitHubDesired,
        report: SyncReport,
        rounds: int,
        prune: bool,
        progress: Progress,
    ) -> None:
        plan = report.plan
        for _ in range(rounds):
            if plan.is_noop:
                return
            report.rounds += 1
            report.failures = []
            shown = progress if report.rounds == 1 else SilentProgress()  # later rounds retry
            applier = GitHubApplier(self.port, self.store, desired, self.links, self.jira)
            for change in plan.writes:
                if change.kind in PROJECT_KINDS:
                    continue
                try:
                    applier.execute(change)
                except (AuthenticationError, PermissionDeniedError):
                    raise  # every other step would fail the same way
                except RemoteError as exc:
                    where = f" (backlog line {change.line})" if change.line else ""
                    report.failures.append(f"{change.kind} {change.backlog_id}{where}: {exc}")
                else:
                    # a "create" that found its item already there (a fresh database against
                    # a populated repository) adopted it: say so, it created nothing
                    adopted = (
                        change.action == "create"
                        and (change.kind, change.backlog_id) in applier.adopted
                    )
                    report.count_change("adopt" if adopted else change.action, change.kind)
                shown.advance(f"{change.action} {change.backlog_id}", 1)
            board = [change for change in plan.writes if change.kind in PROJECT_KINDS]
            if board and self._sync_project(desired, report, applier):
                for change in board:
                    report.count_change(change.action, change.kind)
            shown.advance("project board", len(board))
            plan = self._plan(desired, prune)

    def _sync_project(
        self, desired: GitHubDesired, report: SyncReport, applier: GitHubApplier
    ) -> bool:
        title = self.project_title
        if not project_enabled(desired, title) or self.projects is None or title is None:
            return False
        try:
            ProjectBoard(self.projects, title, self.links, applier.save).sync(desired)
        except (AuthenticationError, PermissionDeniedError):
            raise
        except RemoteError as exc:
            report.failures.append(f"project {title!r}: {exc}")
            return False
        return True

    def _changed_keys(self, plan: Plan) -> tuple[dict[str, str], dict[str, str]]:
        """The issue key (``#12``) and URL of each item the plan created or updated."""
        changed = {c.backlog_id for c in plan.changes if c.action in ("create", "update")}
        keys = {
            backlog_id: str(link.remote_key)
            for (kind, backlog_id), link in self.links.items()
            if backlog_id in changed and link.remote_key and kind not in KEYLESS_KINDS
        }
        urls = {
            backlog_id: str(link.remote_url)
            for (_kind, backlog_id), link in self.links.items()
            if backlog_id in keys and link.remote_url
        }
        return keys, urls

    # --- after a pull into the file -------------------------------------------------------

    def record_held(self, backlog: Backlog, held: Mapping[str, Set[str]]) -> int:
        """After GitHub's values were written into the file: record as pushed what GitHub
        already holds, so that the next ``apply`` writes nothing for it.

        ``held``: backlog id -> the two-way fields whose value is now the same in the file
        and on GitHub. An issue's new content (title, body, labels, milestone) and its board
        values are recorded only when everything else in them is what was last pushed; what
        follows from a pulled value but GitHub does not hold yet (the ``priority: …`` label
        of a priority changed on the board) is left for ``apply`` to write.
        """
        desired = desired_state(backlog, self.mapping)
        plan = self._plan(desired, prune=False)
        numbers = issue_numbers(self.links)
        board = project_enabled(desired, self.project_title)
        updates: list[LinkRecord] = []
        for change in plan.changes:
            fields = held.get(change.backlog_id)
            spec = desired.issue(change.backlog_id)
            if change.kind == "dependency" and fields and "dependencies" in fields:
                link = self.links.get(("story", change.backlog_id))
                if link is not None:  # GitHub holds the blockers the file now names
                    have = set(link.extra.get("blocked_by") or ())
                    new = (have | set(change.fields["add"])) - set(change.fields["remove"])
                    link.extra["blocked_by"] = sorted(new)
                    updates.append(link)
                continue
            if change.kind == "sub-issue" and fields and "epic" in fields:
                link = self.links.get(("story", change.backlog_id))
                if link is not None:  # GitHub has it under the epic the file now names
                    link.extra["parent"] = change.fields["parent"]
                    updates.append(link)
                continue
            if change.action != "update" or not fields or spec is None:
                continue
            link = self.links.get((spec.kind, spec.backlog_id))
            if link is None:
                continue
            allowed = {key for name in fields for key in held_keys(name, board)}
            if "labels" in change.diff and not _team_labels_only(change.diff["labels"]):
                allowed.discard("labels")  # the bot's own labels moved: apply writes them
            if change.kind in ISSUE_KINDS and set(change.diff) <= allowed:
                ms = milestone_number(self.links, spec.milestone)
                content = issue_content(spec, desired, numbers, ms, self.jira)
                link.content_hash = content_hash(content)
                link.extra["pushed"] = snapshot(content)
                link.extra["board_in_issue"] = board_in_issue(spec)
                updates.append(link)
            elif change.kind == "project-fields" and set(change.diff) <= allowed:
                link.extra["fields_pushed"] = dict(spec.project_fields)
                updates.append(link)
        self.store.record(updates)
        return len({(link.kind, link.backlog_id) for link in updates})

    def pushed_as_is(self, backlog: Backlog) -> set[str]:
        """The issues whose content ``backlog`` wants is what was last pushed (no request)."""
        plan = self._plan(desired_state(backlog, self.mapping), prune=False)
        return {
            change.backlog_id
            for change in plan.changes
            if change.kind in ISSUE_KINDS and change.action == "unchanged"
        }

    # --- pull ----------------------------------------------------------------------------

    def pull(self) -> SyncReport:
        """Read open/closed, assignees and the board's Status, Points, Sprint into the links."""
        report = SyncReport(TARGET, Plan(TARGET))
        with recorded_run(self.store, self.port.calls, report, "pull", None):
            self.links = self.store.load()
            issues = {key: link for key, link in self.links.items() if key[0] in ISSUE_KINDS}
            states, board = self._read_states(issues)
            pulled = [_pulled(link, board, states) for link in issues.values()]
            self.store.record(issues.values())  # the etag and open/closed state, in ``extra``
            changed = self.store.record_pulled(pulled)
            report.counts = {"issues": len(issues), "changed": changed}
        return report

    def _read_states(self, issues: Links) -> tuple[dict[str, IssueState], dict[str, Any]]:
        """Board items by issue node id, and open/closed + assignees of issues off the board
        (from GraphQL with a board, else by conditional REST reads that cost nothing when the
        issue did not change)."""
        project = self.links.get(("project", "project"))
        if self.projects is not None and project is not None:
            board = self.projects.items(project.remote_id)
            others = [
                x.extra["node_id"] for x in issues.values() if x.extra.get("node_id") not in board
            ]
            return (self.projects.issue_states(others) if others else {}), board
        states: dict[str, IssueState] = {}
        for link in issues.values():
            fresh = self.port.get_issue(link.number or 0, link.extra.get("etag"))
            if fresh is not None:
                states[fresh.node_id] = (fresh.state.upper(), fresh.assignees, fresh.closed_at)
                link.extra["etag"] = fresh.etag
        return states, {}


# the parts of an issue (``snapshot`` keys) and of its board item (field names) that each
# two-way field decides
HELD_KEYS: Mapping[str, tuple[str, ...]] = {
    "title": ("title",),
    "points": (FIELD_POINTS,),
    "priority": (FIELD_PRIORITY,),
    "sprint": (FIELD_SPRINT,),  # with a board; without one the milestone is the sprint
    "story": ("body",),  # the sentence is one part of the body
    "labels": ("labels",),
    "assignee": ("assignees",),
    "criteria": ("body",),  # the ticks are one part of the body
    # the body lists the dependencies no issue stands for (held once they were pulled); the
    # blockers are recorded apart (``blocked_by``)
    "dependencies text": ("body",),
    # the board's Epic text follows the parent with the item's next change of board fields
    "epic": (FIELD_EPIC,),
}


def _team_labels_only(change: tuple[Any, Any]) -> bool:
    """Whether only team labels differ between two label lists (the two-way ``labels``
    field holds those alone; ``priority: …`` and the like follow other fields)."""
    old, new = ({label for label in labels or () if is_bot_label(label)} for labels in change)
    return old == new


def held_keys(name: str, board: bool) -> tuple[str, ...]:
    """The parts of an issue and its board item that hold two-way field ``name``: without a
    board, the sprint is the issue's milestone."""
    if name == "sprint" and not board:
        return ("milestone",)
    return HELD_KEYS.get(name, ())


def _pulled(
    link: LinkRecord, board: Mapping[str, Any], states: Mapping[str, IssueState]
) -> PulledState:
    """The pulled state of one issue link; unchanged when GitHub said nothing new."""
    node = str(link.extra.get("node_id"))
    status, assignee = link.remote_status, link.remote_assignee
    points, sprint = link.remote_points, link.remote_sprint
    done_at = link.extra.get("done_at")
    if node in board:
        item = board[node]
        done_at = item.closed_at
        link.extra["state"] = (item.state or "").lower()
        status = item.values.get(FIELD_STATUS) or link.extra["state"]
        assignee = ",".join(item.assignees) or None
        value = item.values.get(FIELD_POINTS)
        points = float(value) if value is not None else None
        sprint = item.values.get(FIELD_SPRINT)
    elif node in states:
        state, assignees, done_at = states[node]
        link.extra["state"] = state.lower()
        status = state.lower()
        assignee = ",".join(assignees) or None
    if link.extra.get("state") != "closed":
        done_at = None  # done, for the burndown, from when GitHub closed it (closed_at)
    return PulledState(
        link.kind, link.backlog_id, status, assignee, points, sprint, done_at=done_at
    )
