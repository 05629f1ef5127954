"""Helpers shared by the GitHub tests: a sync engine wired to a sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from sandbox.github import GitHubSandbox
from sync.calls import CallCounter
from sync.github.adapter import GitHubRestAdapter
from sync.github.engine import GitHubSync
from sync.github.graphql import GitHubProjectsClient
from sync.github.limits import PacingPolicy, RateGovernor
from sync.github.mapping import GitHubOptions
from sync.state.db import make_engine, upgrade
from sync.state.links import LinkStore


@dataclass
class Target:
    sync: GitHubSync
    rest: GitHubRestAdapter
    projects: GitHubProjectsClient
    counter: CallCounter
    governor: RateGovernor


def migrated_engine(url: str) -> Engine:
    upgrade(url)
    return make_engine(url)


@contextmanager
def github_target(
    sandbox: GitHubSandbox,
    engine: Engine,
    *,
    pacing: PacingPolicy | None = None,
    options: GitHubOptions | None = None,
) -> Iterator[Target]:
    """A fresh engine run (new counter) against ``sandbox``, pacing off unless given."""
    counter = CallCounter()
    governor = RateGovernor(pacing or PacingPolicy.off())
    rest = GitHubRestAdapter(
        api_url=sandbox.url,
        token=sandbox.token,
        repository=f"{sandbox.repo.owner}/{sandbox.repo.name}",
        counter=counter,
        governor=governor,
    )
    projects = GitHubProjectsClient(
        api_url=sandbox.url,
        token=sandbox.token,
        repository=f"{sandbox.repo.owner}/{sandbox.repo.name}",
        counter=counter,
        governor=governor,
    )
    sync = GitHubSync(
        rest,
        LinkStore(engine, "github"),
        options or GitHubOptions(),
        projects=projects,
        project_title=sandbox.project_title,
    )
    try:
        yield Target(sync, rest, projects, counter, governor)
    finally:
        rest.close()
        projects.close()


def graphql_calls(calls: dict[str, int]) -> int:
    return sum(n for key, n in calls.items() if key.startswith("github graphql:"))


def rest_calls(calls: dict[str, int]) -> int:
    return sum(n for key, n in calls.items() if not key.startswith("github graphql:"))
