"""Both sync engines have one shape: the same methods, parameters and report type, so the
commands run Jira and GitHub alike (``sync.report.SyncEngine``)."""

from __future__ import annotations

import inspect

import pytest

from sandbox.github import GitHubSandbox
from sync.github.engine import GitHubSync
from sync.jira.engine import JiraSync
from sync.plan import Change, Plan
from sync.report import COUNTS, SyncEngine, SyncReport, count_name
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

    # one vocabulary: the same steps are counted under the same names on both targets
    jira_applied, github_applied = jira_reports[1].counts, github_reports[1].counts
    assert set(jira_applied) <= set(COUNTS) and set(github_applied) <= set(COUNTS)
    for name in ("create epic", "create story", "link dependency", "create sprint"):
        assert jira_applied[name] > 0 and github_applied[name] > 0, name
    assert (jira_applied["create epic"], jira_applied["create story"]) == (4, 29)
    assert (github_applied["create epic"], github_applied["create story"]) == (4, 29)
    assert jira_applied["create sprint"] == github_applied["create sprint"] == 8
    # the plans name them alike too (Jira's "link" and GitHub's "dependency" kinds)
    for report in (jira_reports[0], github_reports[0]):
        kinds = {change["kind"] for change in report.plan.to_dict()["changes"]}
        assert {"epic", "story", "dependency", "sprint"} <= kinds
        assert not kinds & {"link", "milestone"}


# Every step either planner emits, as (action, kind): Jira, then GitHub.
JIRA_STEPS = [
    *((action, kind) for action in ("create", "adopt", "update", "close")
      for kind in ("epic", "story", "task", "subtask")),
    ("link", "link"), ("delete", "link"),
    ("create", "sprint"), ("update", "sprint"), ("move", "sprint"),
]  # fmt: skip
GITHUB_STEPS = [
    *((action, kind) for action in ("create", "adopt", "update", "close")
      for kind in ("epic", "story", "task", "subtask")),
    ("create", "label"), ("update", "label"), ("create", "milestone"), ("update", "milestone"),
    ("link", "sub-issue"), ("link", "dependency"),
    ("create", "project"), ("link", "project-item"), ("update", "project-fields"),
]  # fmt: skip


@pytest.mark.parametrize(("action", "kind"), JIRA_STEPS + GITHUB_STEPS)
def test_every_step_has_a_counter(action: str, kind: str) -> None:
    assert count_name(action, kind) in COUNTS


def test_the_same_step_has_the_same_counter_on_both_targets() -> None:
    assert count_name("link", "link") == count_name("link", "dependency") == "link dependency"
    assert count_name("create", "sprint") == count_name("create", "milestone") == "create sprint"
    assert count_name("update", "sprint") == count_name("update", "milestone") == "update sprint"
    assert count_name("move", "sprint") == "move to sprint"
    assert count_name("delete", "link") == "unlink dependency"
    assert count_name("link", "project-item") == "add to board"
    with pytest.raises(ValueError, match="no report counter"):
        count_name("move", "epic")


def test_a_report_sums_counts_per_name() -> None:
    report = SyncReport("jira", Plan("jira"))
    report.count_change("create", "story")
    report.count_change("create", "story", 2)
    report.count_change("link", "link")
    report.count("move to sprint", 7)
    assert report.counts == {"create story": 3, "link dependency": 1, "move to sprint": 7}
    change = Change("link", "jira", "link", "US-001>US-002", "US-001 blocks US-002")
    assert change.to_dict()["kind"] == "dependency"
