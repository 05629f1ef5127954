"""Composition root of the Jira target: settings and ``[jira]`` config -> a ``TargetRunner``.

``[jira]`` keys (all optional): ``subtasks`` ("checklist" | "issues"), ``sprint_start``
(ISO date), ``sprint_length_days``, ``labels``, ``priorities`` (backlog -> Jira name),
``timeout_connect`` / ``timeout_read`` (seconds), ``requests_per_second``,
``retry_attempts``, ``retry_base_delay`` (seconds).
"""

from __future__ import annotations

from typing import Any

from backlog.errors import ConfigurationError
from backlog.model import Backlog
from bot.settings import Settings, load_config_table
from bot.targets.registry import ApplyOutcome, PlanOutcome, Progress, PullOutcome


class JiraTarget:
    name = "jira"

    def __init__(self, settings: Settings, table: dict[str, Any] | None = None) -> None:
        from sync.calls import CallCounter
        from sync.http_transport import RetryPolicy
        from sync.jira.adapter import SAFE_POSTS, JiraAdapter
        from sync.jira.engine import JiraSync
        from sync.jira.mapping import JiraMappingConfig
        from sync.state.db import make_engine
        from sync.state.links import LinkStore

        missing = [
            name
            for name, value in (
                ("JIRA_URL", settings.jira_url),
                ("JIRA_EMAIL", settings.jira_email),
                ("JIRA_API_TOKEN", settings.jira_api_token),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                f"the Jira target needs {', '.join(missing)} (environment or [settings] in "
                "backlog-bot.toml); `backlog-bot sandbox` prints values for a local sandbox"
            )
        table = load_config_table("jira") if table is None else table
        self.calls = CallCounter()
        self.database_url = settings.database_url
        self.engine = make_engine(settings.database_url)
        retry = RetryPolicy(
            attempts=_number(table, "retry_attempts", 5, int),
            base_delay=_number(table, "retry_base_delay", 0.5, float),
            max_delay=_number(table, "retry_max_delay", 30.0, float),
            safe_post_paths=SAFE_POSTS,
        )
        adapter = JiraAdapter(
            str(settings.jira_url),
            str(settings.jira_email),
            settings.jira_api_token.get_secret_value() if settings.jira_api_token else "",
            settings.jira_project,
            board_id=settings.jira_board,
            counter=self.calls,
            timeout=(
                _number(table, "timeout_connect", 5.0, float),
                _number(table, "timeout_read", 30.0, float),
            ),
            requests_per_second=_number(table, "requests_per_second", 20.0, float),
            retry=retry,
        )
        self.engine_sync = JiraSync(
            adapter,
            LinkStore(self.engine, "jira"),
            JiraMappingConfig.from_table(table, calendar=load_config_table("calendar")),
        )

    def plan(self, backlog: Backlog, source: str, *, prune: bool) -> PlanOutcome:
        planned = self.engine_sync.plan(backlog, source, prune=prune)
        return PlanOutcome(planned.plan, list(planned.warnings), self.calls.snapshot())

    def apply(
        self, backlog: Backlog, source: str, *, prune: bool, progress: Progress | None
    ) -> ApplyOutcome:
        from sync.state import db

        db.upgrade(self.database_url)
        report = self.engine_sync.apply(
            backlog,
            source,
            prune=prune,
            progress=progress.advance if progress else None,
            on_plan=(lambda planned: progress.start(len(planned.plan.writes)))
            if progress
            else None,
        )
        project = report.plan.project
        changed = {
            c.backlog_id for c in report.plan.plan.changes if c.action in ("create", "update")
        }
        keys = {bid: key for bid, key in report.keys.items() if bid in changed}
        return ApplyOutcome(
            plan=report.plan.plan,
            keys=keys,
            urls={bid: project.issue_url(key) for bid, key in keys.items()},
            counts=dict(report.counts),
            failures=list(report.failures),
            warnings=list(report.plan.warnings),
            http_calls=report.http_calls,
        )

    def pull(self) -> PullOutcome:
        from sync.state import db

        db.upgrade(self.database_url)
        report = self.engine_sync.pull()
        return PullOutcome("jira", report.issues, report.changed, report.http_calls)


def build(settings: Settings) -> JiraTarget:
    return JiraTarget(settings)


def _number(table: dict[str, Any], key: str, default: Any, kind: type) -> Any:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigurationError(f"[jira] {key} must be a non-negative number, not {value!r}")
    return kind(value)
