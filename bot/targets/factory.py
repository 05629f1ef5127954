"""Which sync targets exist, and building one from the settings.

A target is what ``plan``, ``apply`` and ``sync`` run: a ``SyncTarget`` whose three methods
return a ``sync.report.SyncReport``. Each target has its own typed factory
(``bot.targets.jira.build_jira``, ``bot.targets.github.build_github``) that builds the
adapter, the mapping and the link store and hands them to the engine; ``--target all`` runs
every target of ``TARGET_NAMES`` in order (Jira first: GitHub bodies name the Jira issues).
The factories are imported when a target is built, so commands that sync nothing stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from backlog.errors import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Mapping, Set

    from sqlalchemy.engine import Engine

    from backlog.model import Backlog
    from bot.settings import Settings
    from sync.newstories import StoryFinder
    from sync.report import Progress, SyncReport
    from sync.twoway import DriftSource

TARGET_NAMES: tuple[str, ...] = ("jira", "github")


class SyncTarget(Protocol):
    """One configured target, ready to run: Jira or GitHub."""

    name: str

    @property
    def database_url(self) -> str: ...

    def state_engine(self) -> Engine:
        """The state database (links, merge base)."""
        ...

    def drift_source(self) -> DriftSource:
        """The target's two-way view of the linked stories (``sync.twoway``)."""
        ...

    def story_finder(self) -> StoryFinder:
        """Stories created in the tracker under a linked epic (``sync.newstories``)."""
        ...

    def close(self) -> None:
        """Close the target's HTTP connections."""
        ...

    def record_held(self, backlog: Backlog, held: Mapping[str, Set[str]]) -> int:
        """After a pull into the file: record as pushed the content the tracker holds."""
        ...

    def pushed_as_is(self, backlog: Backlog) -> set[str]:
        """The backlog ids whose content ``backlog`` wants is what was last pushed."""
        ...

    def plan(self, backlog: Backlog, source: str, *, prune: bool) -> SyncReport: ...

    def apply(
        self, backlog: Backlog, source: str, *, prune: bool, progress: Progress | None
    ) -> SyncReport: ...

    def pull(self) -> SyncReport: ...


def target_names(choice: str) -> list[str]:
    """``jira`` -> ``["jira"]``; ``all`` -> every target."""
    if choice == "all":
        return list(TARGET_NAMES)
    if choice not in TARGET_NAMES:
        known = ", ".join([*TARGET_NAMES, "all"])
        raise ConfigurationError(f"unknown --target '{choice}' (choose from: {known})")
    return [choice]


def build_target(name: str, settings: Settings, *, database: Engine | None = None) -> SyncTarget:
    """The target ``name`` built from ``settings``; ConfigurationError names what is missing.

    ``database``: the process's database engine (the service shares its own); one is made from
    DATABASE_URL when not given.
    """
    if name == "jira":
        from bot.targets.jira import build_jira

        return build_jira(settings, database=database)
    if name == "github":
        from bot.targets.github import build_github

        return build_github(settings, database=database)
    known = ", ".join(TARGET_NAMES)
    raise ConfigurationError(f"unknown sync target '{name}' (choose from: {known})")
