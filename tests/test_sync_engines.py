"""Both sync engines have one shape: the same methods, parameters and report type, so the
commands run Jira and GitHub alike (``sync.report.SyncEngine``)."""

from __future__ import annotations

import inspect

import pytest

from sandbox.github import GitHubSandbox
from sync.github.engine import GitHubSync
from sync.jira.engine import JiraSync
from sync.report import SyncEngine, SyncReport
from sync.state.links import LinkStore
from tests.github_support import github_target, migrated_engine
from tests.jira_support import (  # noqa: F401 (_dispose_engines is a fixture)
    SOURCE,
    _dispose_engines,
    jira_site,
    make_sync,
    reference_backlog,
)

SHARED = ("plan", "apply", "pull")
GITHUB_ONLY = {"rounds"}  # GitHub re-plans and retries within one run


@pytest.mark.parametrize("method", SHARED)
def test_both_engines_take_the_same_parameters(method: str) -> None:
    expected = inspect.signature(getattr(SyncEngine, method)).parameters
    for engine in (JiraSync, GitHubSync):
        found = inspect.signature(getattr(engine, method)).parameters
        names = [name for name in found if name not in GITHUB_ONLY]
        assert names == list(expected), f"{engine.__name__}.{method}"
        for name in names:
            assert (found[name].kind, found[name].default) == (
                expected[name].kind,
                expected[name].default,
            ), f"{engine.__name__}.{method}({name})"


def test_both_engines_receive_a_link_store_and_report_alike(sqlite_url: str) -> None:
    backlog = reference_backlog()
    with jira_site() as site:
        jira = make_sync(site, sqlite_url)
        jira_reports = [jira.plan(backlog, SOURCE), jira.apply(backlog, SOURCE), jira.pull()]
    with GitHubSandbox() as sandbox, github_target(sandbox, migrated_engine(sqlite_url)) as target:
        github = target.sync
        github_reports = [github.plan(backlog), github.apply(backlog), github.pull()]
    for engine in (jira, github):
        assert isinstance(engine.store, LinkStore)
    assert (jira.store.target, github.store.target) == ("jira", "github")
    for reports in (jira_reports, github_reports):
        assert all(type(report) is SyncReport for report in reports)
        planned, applied, pulled = reports
        assert planned.run_id is None and planned.counts == {}
        assert applied.failures == [] and applied.outcome == "ok" and applied.rounds == 1
        assert applied.plan.counts() == planned.plan.counts()
        written = {c.backlog_id for c in applied.plan.changes if c.action in ("create", "update")}
        assert {"EPIC-001", "US-001"} <= set(applied.keys) <= written
        assert set(applied.urls) == set(applied.keys)
        assert sorted(pulled.counts) == ["changed", "issues"]
        assert pulled.issues == pulled.changed  # nobody worked yet: every state is new
        assert applied.run_id is not None and pulled.run_id == applied.run_id + 1
