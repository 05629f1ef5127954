"""The Jira sync engine: mapping -> plan -> apply -> record -> report, and pull.

``JiraSync`` gets its parts injected: the ``JiraPort`` (never a concrete adapter), the
mapping config and the ``LinkStore``. Applying is bulk, in dependency order and crash-safe
(``sync.jira.apply``). Each item's failure is isolated and reported (which backlog item,
which field, what Jira said); the run goes on and the next run completes the job.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

from backlog.model import Backlog
from sync.jira.apply import JiraApplier
from sync.jira.mapping import DesiredState, JiraMappingConfig, desired_state, team_labels
from sync.jira.plan import TARGET, JiraPlan, plan_jira
from sync.jira.port import MANAGED_LABEL, JiraIssue, JiraPort, JiraProjectConfig
from sync.link_record import LinkRecord
from sync.plan import ISSUE_KINDS, Plan
from sync.report import Progress, SilentProgress, SyncReport, recorded_run
from sync.state.links import LinkStore, PulledState


class JiraSync:
    """Plan, apply and pull for one Jira project (and its scrum board)."""

    def __init__(self, port: JiraPort, store: LinkStore, mapping: JiraMappingConfig) -> None:
        self.port = port
        self.store = store
        self.mapping = mapping

    # --- plan ---------------------------------------------------------------------------

    def plan(
        self, backlog: Backlog, source: str | None = None, *, prune: bool = False
    ) -> SyncReport:
        """Read Jira (a few GETs and batched searches) and diff; writes nothing anywhere."""
        planned = self._plan(backlog, _source(backlog, source), prune)
        return SyncReport(
            TARGET,
            planned.plan,
            warnings=list(planned.warnings),
            http_calls=self.port.calls.snapshot(),
        )

    def _plan(self, backlog: Backlog, source: str, prune: bool) -> JiraPlan:
        desired = desired_state(backlog, source, self.mapping)
        project = self.port.discover()
        remote = self._managed(project)
        links = self.store.load()
        remote_sprints = []
        missing = [s for s in desired.sprints if ("sprint", s.backlog_id) not in links]
        if missing and project.board_id is not None:
            remote_sprints = self.port.sprints(project.board_id)
        return plan_jira(desired, project, links, remote, remote_sprints, prune=prune)

    def _managed(self, project: JiraProjectConfig) -> list[JiraIssue]:
        jql = f'project = "{project.project_key}" AND labels = "{MANAGED_LABEL}" ORDER BY key ASC'
        return self.port.search(project, jql)

    # --- apply --------------------------------------------------------------------------

    def apply(
        self,
        backlog: Backlog,
        source: str | None = None,
        *,
        prune: bool = False,
        progress: Progress | None = None,
    ) -> SyncReport:
        source = _source(backlog, source)
        report = SyncReport(TARGET, Plan(TARGET))
        with recorded_run(self.store, self.port.calls, report, "push", source):
            planned = self._plan(backlog, source, prune)
            report.plan, report.warnings = planned.plan, list(planned.warnings)
            (progress or SilentProgress()).start(len(planned.plan.writes))
            self.store.record(planned.adopt)
            # Found in Jira by their backlog id (dependencies: by their two issues) but not
            # linked in this database (a fresh database against a populated project): adopted,
            # which is neither a create nor "unchanged" — say so.
            adopted = {(r.kind, r.backlog_id) for r in planned.adopt}
            order = {kind: index for index, kind in enumerate(ISSUE_KINDS)}
            for kind, _ in sorted(adopted, key=lambda pair: order.get(pair[0], len(order))):
                report.count_change("adopt", kind)  # epics, stories, tasks, then dependencies
            applier = JiraApplier(
                self.port, self.store, planned, report, progress or SilentProgress()
            )
            applier.run()
            report.rounds = 1 if planned.plan.writes else 0
            report.counts["unchanged"] = sum(
                1
                for c in planned.plan.changes
                if c.action == "unchanged" and (c.kind, c.backlog_id) not in adopted
            )
        changed = {c.backlog_id for c in report.plan.changes if c.action in ("create", "update")}
        report.keys = {bid: key for bid, key in applier.keys.items() if bid in changed}
        report.urls = {bid: planned.project.issue_url(key) for bid, key in report.keys.items()}
        return report

    # --- pull ---------------------------------------------------------------------------

    def pull(self) -> SyncReport:
        """Read status, assignee, points and sprint of every managed issue into the state."""
        report = SyncReport(TARGET, Plan(TARGET))
        with recorded_run(self.store, self.port.calls, report, "pull", None):
            project = self.port.discover()
            remote = self._managed(project)
            links = self.store.load()
            by_key = {rec.remote_key: rec for rec in links.values() if rec.kind in ISSUE_KINDS}
            states = [
                PulledState(
                    rec.kind,
                    rec.backlog_id,
                    issue.status,
                    issue.assignee,
                    issue.points,
                    issue.sprint_name,
                    done_at=issue.done_at,
                    sprint_since=issue.sprint_since,
                )
                for issue in remote
                if (rec := by_key.get(issue.key)) is not None
            ]
            changed = self.store.record_pulled(states)
            report.counts = {"issues": len(states), "changed": changed}
        return report

    # --- after a pull into the file ------------------------------------------------------

    def record_held(self, backlog: Backlog, held: Mapping[str, Set[str]]) -> int:
        """After tracker values were written into the file: record as pushed the content the
        tracker already holds, so that the next ``apply`` writes nothing for it.

        ``held``: backlog id -> the two-way fields (``sync.jira.drift.FIELDS``) whose value
        is now the same in the file and in Jira. A story's new content is recorded only when
        everything else in it is what was last pushed (a file-side change elsewhere is still
        pushed by ``apply``). Returns how many links were brought up to date.
        """
        desired = desired_state(backlog, _source(backlog, None), self.mapping)
        links = self.store.load()
        updates = []
        for item in desired.issues:
            fields = held.get(item.backlog_id)
            rec = links.get((item.kind, item.backlog_id))
            if not fields or rec is None or rec.content_hash == item.hash:
                continue
            previous = rec.extra.get("content")
            if not isinstance(previous, dict):
                continue  # adopted after a crash: what was pushed is not known
            new = item.content()
            allowed = {key for name in fields for key in CONTENT_KEYS.get(name, ())}
            if self._own_labels(previous.get("labels")) != self._own_labels(new["labels"]):
                allowed.discard("labels")  # the bot's own labels moved: apply writes them
            if {key for key, value in new.items() if previous.get(key) != value} <= allowed:
                rec.content_hash = item.hash
                rec.extra = {**rec.extra, "content": new}
                updates.append(rec)
        updates += self._held_sprints(desired, links, held)
        self.store.record(updates)
        return len(updates)

    def pushed_as_is(self, backlog: Backlog) -> set[str]:
        """The issues whose content ``backlog`` wants is what was last pushed (no request)."""
        desired = desired_state(backlog, _source(backlog, None), self.mapping)
        links = self.store.load()
        return {
            item.backlog_id
            for item in desired.issues
            if (rec := links.get((item.kind, item.backlog_id))) is not None
            and rec.content_hash == item.hash
        }

    def _own_labels(self, labels: Any) -> set[str]:
        """The labels the bot sets itself (the two-way ``labels`` field holds the rest)."""
        labels = list(labels or ())
        return set(labels) - set(team_labels(labels, self.mapping))

    def _held_sprints(
        self,
        desired: DesiredState,
        links: Mapping[tuple[str, str], LinkRecord],
        held: Mapping[str, Set[str]],
    ) -> list[LinkRecord]:
        """Sprints whose stories changed only by moves Jira already holds."""
        moved = {item for item, fields in held.items() if "sprint" in fields}
        updates = []
        for sprint in desired.sprints:
            rec = links.get(("sprint", sprint.backlog_id))
            if rec is None or rec.content_hash == sprint.hash or not moved:
                continue
            previous = rec.extra.get("content")
            if not isinstance(previous, dict):
                continue
            new = sprint.content()
            changed = {key for key, value in new.items() if previous.get(key) != value}
            stories = set(previous.get("stories") or ()) ^ set(new["stories"])
            if changed <= {"stories"} and stories <= moved:
                rec.content_hash = sprint.hash
                rec.extra = {**rec.extra, "content": new}
                updates.append(rec)
        return updates


# the parts of an issue's content (``DesiredIssue.content``) each two-way field decides
CONTENT_KEYS: Mapping[str, tuple[str, ...]] = {
    "title": ("summary",),
    "points": ("points",),
    "priority": ("priority",),
    "story": ("description",),  # the sentence is one part of the description
    "labels": ("labels",),
    "assignee": ("assignee",),
    "criteria": ("description",),  # the ticks are one part of the description
    # the description quotes the dependencies as written (held once they were pulled); the
    # links themselves are read live
    "dependencies text": ("description",),
    "epic": ("parent",),
}


def _source(backlog: Backlog, source: str | None) -> str:
    """The file name failures point at: the one given, else the backlog's own."""
    return source or backlog.source or "backlog"
