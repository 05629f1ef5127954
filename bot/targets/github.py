"""Composition root of the GitHub target: settings and ``[github]`` config -> a ``GitHubTarget``.

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

from collections.abc import Mapping, Set
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from backlog.errors import ConfigurationError
from backlog.model import Backlog
from bot.github_credentials import github_credential, has_github_credentials
from bot.settings import Settings, load_config_table

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from sync.calls import CallCounter
    from sync.github.adapter import GitHubRestAdapter
    from sync.github.drift import GitHubDrift
    from sync.github.engine import GitHubSync
    from sync.github.graphql import GitHubProjectsClient
    from sync.github.limits import PacingPolicy
    from sync.github.mapping import GitHubOptions
    from sync.github.newstories import GitHubStoryFinder
    from sync.report import Progress, SyncReport
    from sync.state.links import LinkStore

PACING_KEYS = (
    "pacing",
    "creates_per_minute",
    "creates_per_hour",
    "seconds_between_writes",
    "max_wait",
)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class GitHubTarget:
    """The GitHub engine as the commands run it: the state database migrated first, the
    engine made per run (it reads the Jira links of this run's ``--target all``), the HTTP
    connections closed after (each command uses a target once), and the Jira issues given a
    remote link back to GitHub after an apply."""

    name = "github"

    def __init__(
        self,
        settings: Settings,
        *,
        rest: GitHubRestAdapter,
        projects: GitHubProjectsClient | None,
        mapping: GitHubOptions,
        store: LinkStore,
        calls: CallCounter,
    ) -> None:
        self.settings = settings
        self.rest = rest
        self.projects = projects
        self.mapping = mapping
        self.store = store
        self.calls = calls

    def build_engine(self) -> GitHubSync:
        """A GitHub engine that knows the Jira issues recorded so far."""
        from sync.github.engine import GitHubSync

        return GitHubSync(
            self.rest,
            self.store,
            self.mapping,
            projects=self.projects,
            project_title=self.settings.github_project,
            jira=jira_issues(self.store),
        )

    @property
    def database_url(self) -> str:
        return self.settings.database_url

    def state_engine(self) -> Engine:
        """The state database (links, merge base)."""
        return self.store.engine

    def drift_source(self) -> GitHubDrift:
        """The two-way view of the linked stories (``sync.github.drift``); verifies the token
        first, so a refused one fails here, never as "no changes"."""
        from bot.targets.twoway import linked_stories
        from sync.github.drift import GitHubDrift

        self.rest.ensure_access()
        links = {
            row.backlog_id: (int(row.extra.get("number") or 0), str(row.extra.get("node_id")))
            for row in linked_stories(self.store.engine, self.name)
            if row.extra.get("number")
        }
        records = self.store.load()
        project = records.get(("project", "project")) if self.projects else None
        names = {
            int(rec.remote_id): backlog_id
            for (kind, backlog_id), rec in records.items()
            if kind in ("epic", "story") and rec.remote_id.isdigit()
        }
        numbers = {
            int(rec.extra["number"]): backlog_id
            for (kind, backlog_id), rec in records.items()
            if kind in ("epic", "story") and rec.extra.get("number")
        }
        # what apply linked as blocking each story, and the epic it made it a sub-issue of:
        # the base of a field with none yet
        pushed = {
            backlog_id: {
                "dependencies": tuple(sorted(rec.extra.get("blocked_by") or ())),
                "epic": rec.extra.get("parent"),
            }
            for (kind, backlog_id), rec in records.items()
            if kind == "story"
        }
        return GitHubDrift(
            self.rest,
            links,
            projects=self.projects,
            project_id=project.remote_id if project is not None else None,
            names=names,
            numbers=numbers,
            pushed=pushed,
            dependencies=self.mapping.dependencies_as == "api",
            # the dependencies last read, so the next read asks only for what may have moved
            seen={
                backlog_id: rec.extra["dependencies_seen"]
                for (kind, backlog_id), rec in records.items()
                if kind in ("epic", "story") and rec.extra.get("dependencies_seen")
            },
            remember=lambda seen: self.store.keep_extra("dependencies_seen", seen),
        )

    def plan(self, backlog: Backlog, source: str, *, prune: bool) -> SyncReport:
        from sync.state import db

        db.upgrade(self.settings.database_url)
        try:
            self.rest.ensure_access()  # a refused token fails here, never as "no changes"
            return self.build_engine().plan(backlog, source, prune=prune)
        finally:
            self.close()

    def apply(
        self, backlog: Backlog, source: str, *, prune: bool, progress: Progress | None
    ) -> SyncReport:
        from bot.targets.crosslink import link_jira_to_github
        from sync.state import db

        db.upgrade(self.settings.database_url)
        engine = self.build_engine()
        try:
            self.rest.ensure_access()
            report = engine.apply(backlog, source, prune=prune, progress=progress)
            report.failures += link_jira_to_github(self.settings, engine, self.calls)
        finally:
            self.close()
        report.http_calls = self.calls.snapshot()  # with the Jira remote links
        return report

    def pull(self) -> SyncReport:
        from sync.state import db

        db.upgrade(self.settings.database_url)
        try:
            self.rest.ensure_access()
            return self.build_engine().pull()
        finally:
            self.close()

    def story_finder(self) -> GitHubStoryFinder:
        """Sub-issues created on GitHub under a linked epic (``sync.github.newstories``)."""
        from sync.github.newstories import GitHubStoryFinder

        self.rest.ensure_access()
        return GitHubStoryFinder(self.rest, self.store)

    def record_held(self, backlog: Backlog, held: Mapping[str, Set[str]]) -> int:
        """After a pull into the file: what GitHub holds is recorded as pushed (no request)."""
        from sync.state import db

        db.upgrade(self.settings.database_url)
        return self.build_engine().record_held(backlog, held)

    def pushed_as_is(self, backlog: Backlog) -> set[str]:
        """The issues whose wanted content is what was last pushed (no request)."""
        from sync.state import db

        db.upgrade(self.settings.database_url)
        return self.build_engine().pushed_as_is(backlog)

    def close(self) -> None:
        """Close the HTTP connections."""
        self.rest.close()
        if self.projects is not None:
            self.projects.close()


def build_github(
    settings: Settings, *, table: dict[str, Any] | None = None, database: Engine | None = None
) -> GitHubTarget:
    """The REST and Projects adapters, mapping and link store from ``settings`` and
    ``[github]``; ``database`` is the process's database engine (made when not given)."""
    from sync.calls import CallCounter
    from sync.github.adapter import GitHubRestAdapter
    from sync.github.graphql import GitHubProjectsClient
    from sync.github.limits import RateGovernor
    from sync.github.mapping import GitHubOptions
    from sync.state.db import make_engine
    from sync.state.links import LinkStore

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
    mapping = GitHubOptions.from_table({k: v for k, v in table.items() if k not in PACING_KEYS})
    calls = CallCounter()
    governor = RateGovernor(pacing)
    # a token, or a GitHub App's installation tokens shared by REST and GraphQL
    token = github_credential(settings, counter=calls)
    api_url = settings.github_api_url
    rest = GitHubRestAdapter(
        api_url=api_url, token=token, repository=repository, counter=calls, governor=governor
    )
    projects = (
        GitHubProjectsClient(
            api_url=api_url, token=token, repository=repository, counter=calls, governor=governor
        )
        if settings.github_project
        else None
    )
    store = LinkStore(database or make_engine(settings.database_url), "github")
    return GitHubTarget(
        settings, rest=rest, projects=projects, mapping=mapping, store=store, calls=calls
    )


def pacing_policy(table: dict[str, Any], api_url: str) -> PacingPolicy:
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


def jira_issues(github: LinkStore) -> dict[str, tuple[str, str]]:
    """Backlog id -> (Jira key, browse URL) of the epics and stories already synced to Jira
    (read from the same state database as the GitHub links)."""
    from sync.state.links import LinkStore

    return {
        backlog_id: (str(link.remote_key), str(link.remote_url or ""))
        for (kind, backlog_id), link in LinkStore(github.engine, "jira").load().items()
        if kind in ("epic", "story") and link.remote_key
    }
