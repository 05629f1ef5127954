"""Composition root of the GitHub target: settings and ``[github]`` config -> a ``TargetRunner``.

Settings: ``GITHUB_TOKEN`` or a GitHub App (``GITHUB_APP_ID``, ``GITHUB_APP_PRIVATE_KEY`` or
``GITHUB_APP_PRIVATE_KEY_FILE``, optional ``GITHUB_APP_INSTALLATION_ID``),
``GITHUB_REPOSITORY`` (owner/name), ``GITHUB_API_URL`` (default
https://api.github.com; GitHub Enterprise ``https://HOST/api/v3``; the sandbox), and
``GITHUB_PROJECT`` (title of the Projects v2 board; no board when unset).

``[github]`` keys (all optional): ``tasks_as`` / ``subtasks_as`` ("tasklist" | "sub-issues"),
``dependencies_as`` ("api" | "section"), ``sprint_start`` (ISO date: milestone due dates and
an iteration Sprint field), ``sprint_length_days``, ``project_fields`` (bool), and pacing:
``pacing`` (bool; default on, off for a loopback ``GITHUB_API_URL``),
``creates_per_minute`` (80), ``creates_per_hour`` (500), ``seconds_between_writes`` (1),
``max_wait`` (seconds to wait for a rate limit before failing, 3600).

When the state database holds Jira links (``--target all`` runs Jira first), each GitHub
issue body names its Jira issue: the two trackers are cross-linked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from backlog.errors import ConfigurationError
from backlog.model import Backlog
from bot.github_credentials import github_credential, has_github_credentials
from bot.settings import Settings, load_config_table
from bot.targets.registry import ApplyOutcome, PlanOutcome, Progress, PullOutcome

if TYPE_CHECKING:
    from sync.github.engine import GitHubSync

PACING_KEYS = (
    "pacing",
    "creates_per_minute",
    "creates_per_hour",
    "seconds_between_writes",
    "max_wait",
)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class GitHubTarget:
    name = "github"

    def __init__(self, settings: Settings, table: dict[str, Any] | None = None) -> None:
        from sync.calls import CallCounter
        from sync.github.adapter import GitHubRestAdapter
        from sync.github.graphql import GitHubProjectsClient
        from sync.github.limits import RateGovernor
        from sync.github.mapping import GitHubOptions
        from sync.state.db import make_engine

        missing = [
            name
            for name, value in (
                ("GITHUB_TOKEN", has_github_credentials(settings)),
                ("GITHUB_REPOSITORY", settings.github_repository),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                f"the GitHub target needs {', '.join(missing)} (environment or [settings] in "
                "backlog-bot.toml); `backlog-bot sandbox` prints values for a local sandbox"
                + ("; a GitHub App uses GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY instead of "
                   "GITHUB_TOKEN" if "GITHUB_TOKEN" in missing else "")
            )  # fmt: skip
        repository = str(settings.github_repository)
        if repository.count("/") != 1 or not all(repository.split("/")):
            raise ConfigurationError(f"GITHUB_REPOSITORY must be OWNER/NAME, not {repository!r}")
        table = dict(load_config_table("github") if table is None else table)
        pacing = pacing_policy(table, settings.github_api_url)
        self.options = GitHubOptions.from_table(
            {k: v for k, v in table.items() if k not in PACING_KEYS}
        )
        self.calls = CallCounter()
        self.database_url = settings.database_url
        self.engine = make_engine(settings.database_url)
        governor = RateGovernor(pacing)
        # a token, or a GitHub App's installation tokens shared by REST and GraphQL
        token = github_credential(settings, counter=self.calls)
        api_url = settings.github_api_url
        self.rest = GitHubRestAdapter(
            api_url=api_url,
            token=token,
            repository=repository,
            counter=self.calls,
            governor=governor,
        )
        self.projects = (
            GitHubProjectsClient(
                api_url=api_url,
                token=token,
                repository=repository,
                counter=self.calls,
                governor=governor,
            )
            if settings.github_project
            else None
        )
        self.project_title = settings.github_project
        self.settings = settings

    def _sync(self) -> GitHubSync:
        from sync.github.engine import GitHubSync

        return GitHubSync(
            self.rest,
            self.engine,
            projects=self.projects,
            project_title=self.project_title,
            jira=jira_links(self.engine),
        )

    def plan(self, backlog: Backlog, source: str, *, prune: bool) -> PlanOutcome:
        from sync.github.mapping import desired_state
        from sync.state import db

        db.upgrade(self.database_url)
        try:
            plan = self._sync().plan(desired_state(backlog, self.options), prune=prune)
        finally:
            self.close()
        return PlanOutcome(plan, [], self.calls.snapshot())

    def apply(
        self, backlog: Backlog, source: str, *, prune: bool, progress: Progress | None
    ) -> ApplyOutcome:
        from sync.github.mapping import desired_state
        from sync.state import db

        db.upgrade(self.database_url)
        engine = self._sync()
        desired = desired_state(backlog, self.options)
        if progress:
            progress.start(len(engine.plan(desired, prune=prune).writes))
        try:
            report = engine.apply(desired, source=source, prune=prune)
            failures = list(report.errors) + self.cross_link_jira(engine)
        finally:
            self.close()
        changed = {c.backlog_id for c in report.plan.changes if c.action in ("create", "update")}
        keys = {
            backlog_id: str(link.remote_key)
            for (kind, backlog_id), link in engine.links.items()
            if backlog_id in changed and link.remote_key and kind not in ("label", "milestone")
        }
        urls = {
            backlog_id: str(link.remote_url)
            for (_kind, backlog_id), link in engine.links.items()
            if backlog_id in keys and link.remote_url
        }
        warnings = [
            f"{c.backlog_id}: {c.summary}" for c in report.plan.changes if c.action == "orphan"
        ]
        if progress:
            progress.advance("done", len(report.plan.writes))
        return ApplyOutcome(
            plan=report.plan,
            keys=keys,
            urls=urls,
            counts=dict(report.counts),
            failures=failures,
            warnings=warnings,
            http_calls=self.calls.snapshot(),
        )

    def cross_link_jira(self, engine: Any) -> list[str]:
        """Give each Jira issue a remote link to its GitHub issue (once; repeats are updates).

        The GitHub side names its Jira issue in the body (see ``GitHubSync``); this is the
        other direction, sent through the Jira adapter when Jira is configured.
        """
        from backlog.errors import RemoteError
        from sync.jira.adapter import JiraAdapter

        jira = jira_links(self.engine)
        pending = [
            (link, jira[backlog_id][0])
            for (kind, backlog_id), link in engine.links.items()
            if kind in ("epic", "story")
            and backlog_id in jira
            and link.remote_url
            and link.extra.get("jira_linked") != jira[backlog_id][0]
        ]
        settings = self.settings
        if not pending or not (
            settings.jira_url and settings.jira_email and settings.jira_api_token
        ):
            return []
        adapter = JiraAdapter(
            settings.jira_url,
            settings.jira_email,
            settings.jira_api_token.get_secret_value(),
            settings.jira_project,
            counter=self.calls,
        )
        failures = []
        try:
            for link, key in pending:
                title = (
                    f"GitHub {link.remote_key}: {(link.extra.get('pushed') or {}).get('title', '')}"
                )
                try:
                    adapter.upsert_remote_link(key, str(link.remote_url), title)
                except RemoteError as exc:
                    failures.append(f"jira remote link {key} -> {link.remote_key}: {exc}")
                    continue
                link.extra["jira_linked"] = key
                engine.store.save(link)
        finally:
            adapter.close()
        return failures

    def pull(self) -> PullOutcome:
        from sync.state import db

        db.upgrade(self.database_url)
        try:
            report = self._sync().pull()
        finally:
            self.close()
        return PullOutcome(
            "github", report.counts["pulled"], report.counts["changed"], report.calls
        )

    def close(self) -> None:
        """Close the HTTP connections (each CLI command uses a runner once)."""
        self.rest.close()
        if self.projects is not None:
            self.projects.close()


def pacing_policy(table: dict[str, Any], api_url: str) -> Any:
    """Pacing from ``[github]``; on by default except against a loopback sandbox."""
    from sync.github.limits import PacingPolicy

    loopback = urlparse(api_url).hostname in LOOPBACK
    enabled = table.get("pacing", not loopback)
    if not isinstance(enabled, bool):
        raise ConfigurationError("[github] pacing must be true or false")
    values: dict[str, Any] = {}
    for key, kind in (
        ("creates_per_minute", int),
        ("creates_per_hour", int),
        ("seconds_between_writes", float),
        ("max_wait", float),
    ):
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigurationError(f"[github] {key} must be a positive number, not {value!r}")
            values[key] = kind(value)
    if not enabled:
        return PacingPolicy.off(**values)
    return PacingPolicy(**values)


def jira_links(engine: Any) -> dict[str, tuple[str, str]]:
    """Backlog id -> (Jira key, browse URL) of the Jira issues already synced."""
    from sqlmodel import Session, select

    from sync.state.tables import SyncLink

    with Session(engine) as session:
        rows = session.exec(select(SyncLink).where(SyncLink.target == "jira")).all()
        return {
            row.backlog_id: (str(row.remote_key), str(row.remote_url or ""))
            for row in rows
            if row.kind in ("epic", "story") and row.remote_key
        }


def build(settings: Settings) -> GitHubTarget:
    return GitHubTarget(settings)
