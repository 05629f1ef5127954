"""Composition root of the Jira target: settings and ``[jira]`` config -> a ``JiraTarget``.

``[jira]`` keys (all optional): ``subtasks`` ("checklist" | "issues"), ``sprint_start``
(ISO date), ``sprint_length_days``, ``labels``, ``priorities`` (backlog -> Jira name),
``timeout_connect`` / ``timeout_read`` (seconds), ``requests_per_second``,
``retry_attempts``, ``retry_base_delay``, ``retry_max_delay`` (seconds).
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import TYPE_CHECKING, Any

from backlog.errors import ConfigurationError
from backlog.model import Backlog
from bot.settings import Settings, load_config_table

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from sync.calls import CallCounter
    from sync.jira.drift import JiraDrift
    from sync.jira.engine import JiraSync
    from sync.jira.newstories import JiraStoryFinder
    from sync.report import Progress, SyncReport


class JiraTarget:
    """The Jira engine as the commands run it: the state database is migrated before any
    write to it (``plan`` reads only, and an empty database reads as no links)."""

    name = "jira"

    def __init__(self, engine: JiraSync, calls: CallCounter, database_url: str) -> None:
        self.engine = engine
        self.calls = calls
        self.database_url = database_url
        self._drift: JiraDrift | None = None

    def state_engine(self) -> Engine:
        """The state database (links, merge base)."""
        return self.engine.store.engine

    def drift_source(self) -> JiraDrift:
        """The two-way view of the linked stories (``sync.jira.drift``)."""
        from bot.targets.twoway import linked_stories
        from sync.jira.drift import JiraDrift

        keys = {
            row.backlog_id: str(row.remote_key)
            for row in linked_stories(self.state_engine(), self.name)
            if row.remote_key
        }
        if self._drift is None or self._drift.keys != keys:
            names, pushed = _pushed(self.engine.store.load())
            self._drift = JiraDrift(
                self.engine.port, self.engine.mapping, keys, names=names, pushed=pushed
            )
        return self._drift

    def plan(self, backlog: Backlog, source: str, *, prune: bool) -> SyncReport:
        return self.engine.plan(backlog, source, prune=prune)

    def apply(
        self, backlog: Backlog, source: str, *, prune: bool, progress: Progress | None
    ) -> SyncReport:
        from sync.state import db

        db.upgrade(self.database_url)
        return self.engine.apply(backlog, source, prune=prune, progress=progress)

    def pull(self) -> SyncReport:
        from sync.state import db

        db.upgrade(self.database_url)
        return self.engine.pull()

    def story_finder(self) -> JiraStoryFinder:
        """Stories created in Jira under a linked epic (``sync.jira.newstories``)."""
        from sync.jira.newstories import JiraStoryFinder

        return JiraStoryFinder(self.engine.port, self.engine.mapping, self.engine.store)

    def record_held(self, backlog: Backlog, held: Mapping[str, Set[str]]) -> int:
        """After a pull into the file: what Jira holds is recorded as pushed."""
        return self.engine.record_held(backlog, held)

    def pushed_as_is(self, backlog: Backlog) -> set[str]:
        """The issues whose wanted content is what was last pushed (no request)."""
        return self.engine.pushed_as_is(backlog)

    def close(self) -> None:
        """Close the HTTP session (``pull FILE`` reads through the adapter directly)."""
        close = getattr(self.engine.port, "close", None)
        if callable(close):
            close()


def build_jira(
    settings: Settings, *, table: dict[str, Any] | None = None, database: Engine | None = None
) -> JiraTarget:
    """The adapter, mapping and link store from ``settings`` and ``[jira]``, in one engine.

    ``table`` replaces the ``[jira]`` table of the config file; ``database`` is the process's
    database engine (one is made from ``DATABASE_URL`` when not given).
    """
    from sync.calls import CallCounter
    from sync.jira.adapter import SAFE_POSTS, JiraAdapter
    from sync.jira.engine import JiraSync
    from sync.jira.flavour import deployment_choice
    from sync.jira.mapping import JiraMappingConfig
    from sync.retry import RetryPolicy
    from sync.state.db import make_engine
    from sync.state.links import LinkStore

    table = load_config_table("jira") if table is None else table
    deployment = deployment_choice(table)
    # Data Center / Server authenticate with a personal access token alone; with "auto" an
    # unset JIRA_EMAIL means such a token once the rest is configured.
    email_needed = deployment == "cloud" or (
        deployment == "auto" and not (settings.jira_url and settings.jira_api_token)
    )
    missing = [
        name
        for name, value in (
            ("JIRA_URL", settings.jira_url),
            ("JIRA_EMAIL", settings.jira_email or not email_needed),
            ("JIRA_API_TOKEN", settings.jira_api_token),
        )
        if not value
    ]
    if missing:
        raise ConfigurationError(
            f"the Jira target needs {', '.join(missing)} (environment or [settings] in "
            "backlog-bot.toml); `backlog-bot sandbox` prints values for a local sandbox"
        )
    calls = CallCounter()
    retry = RetryPolicy(
        attempts=_number(table, "retry_attempts", 5, int),
        base_delay=_number(table, "retry_base_delay", 0.5, float),
        max_delay=_number(table, "retry_max_delay", 30.0, float),
        safe_post_paths=SAFE_POSTS,
    )
    adapter = JiraAdapter(
        str(settings.jira_url),
        settings.jira_email or "",
        settings.jira_api_token.get_secret_value() if settings.jira_api_token else "",
        settings.jira_project,
        board_id=settings.jira_board,
        counter=calls,
        timeout=(
            _number(table, "timeout_connect", 5.0, float),
            _number(table, "timeout_read", 30.0, float),
        ),
        requests_per_second=_number(table, "requests_per_second", 20.0, float),
        retry=retry,
        remember_discovery=True,  # the drift read and the plan share one discovery
        deployment=deployment,
    )
    store = LinkStore(database or make_engine(settings.database_url), "jira")
    mapping = JiraMappingConfig.from_table(table, calendar=load_config_table("calendar"))
    engine = JiraSync(adapter, store, mapping)
    return JiraTarget(engine, calls, settings.database_url)


def _pushed(
    links: Mapping[tuple[str, str], Any],
) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """From the links table: Jira key -> backlog id of every linked epic and story, and per
    story what apply pushed of its dependencies (the "Blocks" links it made or adopted,
    ``"US-001>US-002"``) and its epic (the parent of the content it sent): the merge base of
    a field that has none yet."""
    names = {
        str(rec.remote_key): backlog_id
        for (kind, backlog_id), rec in links.items()
        if kind in ("epic", "story") and rec.remote_key
    }
    blockers: dict[str, set[str]] = {
        backlog_id: set() for (kind, backlog_id) in links if kind == "story"
    }
    for kind, pair in links:
        blocker, _, blocked = pair.partition(">")
        if kind == "link" and blocked in blockers:
            blockers[blocked].add(blocker)
    pushed: dict[str, dict[str, Any]] = {
        story: {"dependencies": tuple(sorted(ids))} for story, ids in blockers.items()
    }
    for (kind, backlog_id), rec in links.items():
        content = rec.extra.get("content")
        if kind == "story" and isinstance(content, dict):  # the parent it last sent
            pushed[backlog_id]["epic"] = content.get("parent")
    return names, pushed


def _number(table: dict[str, Any], key: str, default: Any, kind: type) -> Any:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigurationError(f"[jira] {key} must be a non-negative number, not {value!r}")
    return kind(value)
