"""The Jira sync engine: plan, apply (bulk, in dependency order, crash-safe) and pull.

It depends on the ``JiraPort`` protocol and the ``LinkStore``; the CLI builds both.
Each item's failure is isolated and reported (which backlog item, which field, what Jira
said); the run goes on and the next run completes the job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from backlog.model import Backlog
from sync.jira.apply import ApplyReport, JiraApplier, Progress
from sync.jira.mapping import JiraMappingConfig, desired_state
from sync.jira.plan import ISSUE_KINDS, JiraPlan, plan_jira
from sync.jira.port import MANAGED_LABEL, JiraPort, JiraProjectConfig, RemoteIssue
from sync.state.links import LinkStore, PulledState


@dataclass
class PullReport:
    issues: int
    changed: int
    http_calls: dict[str, int]
    run_id: int | None = None


class JiraSync:
    def __init__(self, port: JiraPort, store: LinkStore, mapping: JiraMappingConfig) -> None:
        self.port = port
        self.store = store
        self.mapping = mapping

    # --- plan ---------------------------------------------------------------------------

    def plan(self, backlog: Backlog, source: str, *, prune: bool = False) -> JiraPlan:
        """Read Jira (a few GETs and batched searches) and diff; writes nothing anywhere."""
        desired = desired_state(backlog, source, self.mapping)
        project = self.port.discover()
        remote = self._managed(project)
        links = self.store.load()
        remote_sprints = []
        missing = [s for s in desired.sprints if ("sprint", s.backlog_id) not in links]
        if missing and project.board_id is not None:
            remote_sprints = self.port.sprints(project.board_id)
        return plan_jira(desired, project, links, remote, remote_sprints, prune=prune)

    def _managed(self, project: JiraProjectConfig) -> list[RemoteIssue]:
        jql = f'project = "{project.project_key}" AND labels = "{MANAGED_LABEL}" ORDER BY key ASC'
        return self.port.search(project, jql)

    # --- apply --------------------------------------------------------------------------

    def apply(
        self,
        backlog: Backlog,
        source: str,
        *,
        prune: bool = False,
        progress: Progress | None = None,
        on_plan: Callable[[JiraPlan], None] | None = None,
    ) -> ApplyReport:
        run_id = self.store.start_run("push", source)
        try:
            planned = self.plan(backlog, source, prune=prune)
            if on_plan is not None:
                on_plan(planned)
            report = ApplyReport(planned, dict(planned.keys), run_id=run_id)
            self.store.record(planned.adopt)
            JiraApplier(self.port, self.store, planned, report, progress or _silent).run()
        except Exception as exc:  # the run record says it failed, whatever broke
            self._finish_failed(run_id, exc)
            raise
        report.http_calls = self.port.calls.snapshot()
        report.counts["unchanged"] = planned.plan.counts().get("unchanged", 0)
        self.store.finish_run(
            run_id,
            outcome=report.outcome,
            counts=report.counts,
            http_calls=report.http_calls,
            error="\n".join(report.failures) or None,
        )
        return report

    # --- pull ---------------------------------------------------------------------------

    def pull(self) -> PullReport:
        """Read status, assignee, points and sprint of every managed issue into the state."""
        run_id = self.store.start_run("pull", None)
        try:
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
                )
                for issue in remote
                if (rec := by_key.get(issue.key)) is not None
            ]
            changed = self.store.record_pulled(states)
        except Exception as exc:  # the run record says it failed, whatever broke
            self._finish_failed(run_id, exc)
            raise
        calls = self.port.calls.snapshot()
        counts = {"issues": len(states), "changed": changed}
        self.store.finish_run(run_id, outcome="ok", counts=counts, http_calls=calls)
        return PullReport(len(states), changed, calls, run_id)

    def _finish_failed(self, run_id: int, exc: Exception) -> None:
        self.store.finish_run(
            run_id,
            outcome="failed",
            counts={},
            http_calls=self.port.calls.snapshot(),
            error=str(exc),
        )


def _silent(description: str, advance: int) -> None:
    return None
