"""GitHub sync of the reference backlog against the sandbox GitHub, over real HTTP.

Full apply, idempotent re-apply (zero requests), a one-field change touching one item, the
pull direction, and convergence under injected faults and secondary rate limits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from backlog.parse import load_backlog, parse_text
from sandbox.github import GitHubSandbox
from sync.github.mapping import GitHubOptions, desired_state
from sync.state.tables import SyncLink, SyncRun
from tests.github_support import github_target, graphql_calls, migrated_engine, rest_calls

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "examples" / "bss-modernization.md"
# what an apply leaves unchanged when it changes or closes one story: the other 32 issues, 8
# milestones and 10 labels of the reference backlog
OTHERS_UNCHANGED = 50


@pytest.fixture
def sandbox() -> Iterator[GitHubSandbox]:
    with GitHubSandbox(seed=7) as running:
        yield running


@pytest.fixture(scope="module")
def reference_backlog():  # type: ignore[no-untyped-def]
    return load_backlog(REFERENCE)


@pytest.fixture(scope="module")
def reference_desired(reference_backlog):  # type: ignore[no-untyped-def]
    return desired_state(reference_backlog)


def _writes(sandbox: GitHubSandbox) -> list[dict]:
    return [
        r
        for r in sandbox.requests()
        if r["method"] != "GET"
        and not (r["path"] == "/graphql" and "mutation" not in str(r["body"]))
    ]


def test_full_apply_creates_the_reference_backlog(
    sandbox, reference_backlog, reference_desired, database_url
):
    engine = migrated_engine(database_url)
    with github_target(sandbox, engine) as target:
        report = target.sync.apply(reference_backlog, str(REFERENCE))
    assert report.failures == []
    markers = sandbox.issues_by_marker()
    assert len(markers) == 4 + 29
    assert all(len(numbers) == 1 for numbers in markers.values())
    # epics carry their stories as sub-issues
    epic1 = markers["EPIC-001"][0]
    children = {
        sandbox.repo.issues[n]["title"].split(" · ")[0] for n in sandbox.repo.sub_issues[epic1]
    }
    assert children == {f"US-00{i}" for i in range(1, 8)}
    # every story sits in its sprint's milestone, with its priority and role labels
    us001 = sandbox.repo.issues[markers["US-001"][0]]
    milestone = sandbox.repo.milestones[us001["milestone"]]
    assert milestone["title"] == "Sprint 1: Foundation Setup"
    assert {"story", "priority: high", "role: devops", "role: backend"} <= set(us001["labels"])
    assert "- [ ] Deploy Prometheus with service discovery (8 h, DevOps)" in us001["body"]
    # dependencies became "blocked by" relations
    blocked = {
        sandbox.repo.issues[n]["title"].split(" · ")[0]: {
            sandbox.repo.issues[b]["title"].split(" · ")[0] for b in blockers
        }
        for n, blockers in sandbox.repo.blocked_by.items()
    }
    spec_blockers = {
        s.backlog_id: set(s.blocked_by) for s in reference_desired.issues if s.blocked_by
    }
    assert blocked == spec_blockers
    # the project board: every epic and story, with its fields
    project = sandbox.project()
    assert project is not None and len(project["items"]) == 33
    item = sandbox.item_for_issue(markers["US-001"][0])
    values = {
        f: sandbox.projects.value_of(item, f)
        for f in ("Story Points", "Priority", "Sprint", "Status")
    }
    assert values == {
        "Story Points": 21.0,
        "Priority": "High",
        "Sprint": "Sprint 1",
        "Status": "Todo",
    }
    with Session(engine) as session:
        run = session.exec(select(SyncRun).where(SyncRun.target == "github")).one()
        assert run.outcome == "ok" and run.http_calls == report.http_calls
        assert run.counts["create story"] == 29
        links = session.exec(select(SyncLink).where(SyncLink.target == "github")).all()
        assert {link.kind for link in links} == {"label", "milestone", "epic", "story", "project"}
    engine.dispose()


def test_reapply_sends_no_request_at_all(sandbox, reference_backlog, sqlite_url):
    engine = migrated_engine(sqlite_url)
    with github_target(sandbox, engine) as target:
        first = target.sync.apply(reference_backlog)
    assert rest_calls(first.http_calls) > 0 and graphql_calls(first.http_calls) > 0
    sandbox.clear_requests()
    with github_target(sandbox, engine) as target:
        again = target.sync.apply(reference_backlog)
    assert again.plan.is_noop
    assert again.http_calls == {} and sandbox.requests() == []
    engine.dispose()


def _with_story_points(text: str, story_id: str, points: int) -> str:
    start = text.index(f"**Story ID:** {story_id}")
    found = re.compile(r"\*\*Story Points:\*\* \d+").search(text, start)
    assert found is not None
    return text[: found.start()] + f"**Story Points:** {points}" + text[found.end() :]


def test_a_changed_estimate_updates_only_that_story(sandbox, reference_backlog, sqlite_url):
    engine = migrated_engine(sqlite_url)
    with github_target(sandbox, engine) as target:
        target.sync.apply(reference_backlog)
    changed = parse_text(_with_story_points(REFERENCE.read_text(), "US-003", 5), source="x.md")
    sandbox.clear_requests()
    with github_target(sandbox, engine) as target:
        plan = target.sync.plan(changed).plan
        assert {(c.kind, c.backlog_id) for c in plan.writes} == {
            ("story", "US-003"),
            ("project-fields", "US-003"),
        }
        report = target.sync.apply(changed)
    number = sandbox.issues_by_marker()["US-003"][0]
    writes = _writes(sandbox)
    assert [(w["method"], w["path"]) for w in writes] == [
        ("PATCH", f"/repos/acme/bss/issues/{number}"),
        ("POST", "/graphql"),
    ]
    assert "**Story Points:** 5" in sandbox.repo.issues[number]["body"]
    item = sandbox.item_for_issue(number)
    assert sandbox.projects.value_of(item, "Story Points") == 5.0
    assert report.counts == {
        "update story": 1,
        "update board fields": 1,
        "unchanged": OTHERS_UNCHANGED,
    }
    engine.dispose()


def test_pull_reads_state_assignees_and_board_status(sandbox, reference_backlog, database_url):
    engine = migrated_engine(database_url)
    with github_target(sandbox, engine) as target:
        target.sync.apply(reference_backlog)
    markers = sandbox.issues_by_marker()
    sandbox.close_issue(markers["US-002"][0])
    sandbox.add_assignee(markers["US-001"][0], "alice")
    sandbox.move_status(markers["US-001"][0], "In Progress")
    with github_target(sandbox, engine) as target:
        report = target.sync.pull()
    assert report.counts == {"issues": 33, "changed": 33}
    assert report.http_calls == {"github graphql:query:projectItems": 1}
    with Session(engine) as session:
        rows = {
            row.backlog_id: row
            for row in session.exec(select(SyncLink).where(SyncLink.target == "github")).all()
        }
    assert rows["US-001"].remote_status == "In Progress"
    assert rows["US-001"].remote_assignee == "alice"
    assert rows["US-001"].remote_points == 21.0 and rows["US-001"].remote_sprint == "Sprint 1"
    assert rows["US-002"].extra["state"] == "closed"
    engine.dispose()


def test_tasks_as_sub_issues_and_blocked_by_sections(sandbox, sqlite_url):
    options = GitHubOptions(tasks_as="sub-issues", dependencies_as="section")
    desired = desired_state(load_backlog(REFERENCE), options)
    engine = migrated_engine(sqlite_url)
    with github_target(sandbox, engine, options=options) as target:
        report = target.sync.apply(load_backlog(REFERENCE))
    assert report.failures == []
    markers = sandbox.issues_by_marker()
    assert len(markers) == 33 + 112
    story = markers["US-001"][0]
    kids = [sandbox.repo.issues[n]["body"] for n in sandbox.repo.sub_issues[story]]
    assert len(kids) == 4 and all("**Story:** US-001" in body for body in kids)
    assert sandbox.repo.blocked_by == {}
    us008 = sandbox.repo.issues[markers["US-008"][0]]["body"]
    blockers = desired.issue("US-008").blocked_by
    assert blockers and all(f"#{markers[ref][0]} ({ref})" in us008 for ref in blockers)
    with github_target(sandbox, engine, options=options) as target:
        assert target.sync.plan(load_backlog(REFERENCE)).plan.is_noop
    engine.dispose()


def test_faults_and_secondary_limits_converge_without_duplicates(
    sandbox, reference_backlog, reference_desired, sqlite_url
):
    limits = sandbox.limits
    limits.add_fault(kind="5xx", probability=0.08, times=None)
    limits.add_fault(kind="create_then_fail", method="POST", probability=0.05, times=None)
    limits.add_fault(kind="drop", probability=0.04, times=None)
    limits.add_fault(kind="secondary", probability=0.05, times=None, retry_after=0)
    engine = migrated_engine(sqlite_url)
    reports = []
    for _ in range(3):
        with github_target(sandbox, engine) as target:
            reports.append(target.sync.apply(reference_backlog, rounds=4))
        if not reports[-1].failures:
            break
    faults = [r for r in sandbox.requests() if r["fault"]]
    assert len(faults) >= 0.15 * len(sandbox.requests())
    assert {r["fault"] for r in faults} == {"5xx", "create_then_fail", "drop", "secondary"}
    assert reports[-1].failures == []
    markers = sandbox.issues_by_marker()
    assert sorted(markers) == sorted(spec.backlog_id for spec in reference_desired.issues)
    assert all(len(numbers) == 1 for numbers in markers.values())
    assert len(sandbox.repo.labels) == len(reference_desired.labels)
    assert len(sandbox.repo.milestones) == 8
    project = sandbox.project()
    assert project is not None and len(project["items"]) == 33
    assert len(sandbox.projects.projects) == 1
    assert sum(len(kids) for kids in sandbox.repo.sub_issues.values()) == 29
    limits.clear_faults()
    with github_target(sandbox, engine) as target:
        assert target.sync.plan(reference_backlog).plan.is_noop
    engine.dispose()


def test_sprint_start_gives_due_dates_and_an_iteration_field(sandbox, sqlite_url):
    from datetime import date

    options = GitHubOptions.from_table({"sprint_start": "2026-01-05", "sprint_length_days": 14})
    assert options.sprint_start == date(2026, 1, 5)
    engine = migrated_engine(sqlite_url)
    with github_target(sandbox, engine, options=options) as target:
        report = target.sync.apply(load_backlog(REFERENCE))
    assert report.failures == []
    due = {m["title"].split(":")[0]: m["due_on"] for m in sandbox.repo.milestones.values()}
    assert due["Sprint 1"].startswith("2026-01-18") and due["Sprint 8"].startswith("2026-04-26")
    project = sandbox.project()
    sprint = sandbox.projects.find_field(project["id"], "Sprint")
    assert sprint["dataType"] == "ITERATION"
    iterations = sprint["iterations"]["iterations"]
    assert [(i["title"], i["startDate"]) for i in iterations][:2] == [
        ("Sprint 1", "2026-01-05"),
        ("Sprint 2", "2026-01-19"),
    ]
    number = sandbox.issues_by_marker()["US-011"][0]
    assert sandbox.projects.value_of(sandbox.item_for_issue(number), "Sprint") == "Sprint 4"
    engine.dispose()


def test_bad_github_config_names_the_key():
    from backlog.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"\[github\] tasks_as"):
        GitHubOptions.from_table({"tasks_as": "issues"})
    with pytest.raises(ConfigurationError, match=r"\[github\] sprint_start"):
        GitHubOptions.from_table({"sprint_start": "next monday"})
    with pytest.raises(ConfigurationError, match="unknown key"):
        GitHubOptions.from_table({"colour": "blue"})


def test_a_new_sprint_adds_its_milestone_and_iteration(sandbox, sqlite_url):
    options = GitHubOptions.from_table({"sprint_start": "2026-01-05"})
    backlog = load_backlog(REFERENCE)
    without_sprint8 = backlog.replace(sprints=backlog.sprints[:-1])
    engine = migrated_engine(sqlite_url)
    with github_target(sandbox, engine, options=options) as target:
        first = target.sync.apply(without_sprint8)
    assert first.failures == [] and len(sandbox.repo.milestones) == 7
    with github_target(sandbox, engine, options=options) as target:
        second = target.sync.apply(backlog)
    assert second.failures == []
    assert second.counts["create sprint"] == 1  # the milestone of sprint 8
    project = sandbox.project()
    sprint = sandbox.projects.find_field(project["id"], "Sprint")
    assert [i["title"] for i in sprint["iterations"]["iterations"]][-1] == "Sprint 8"
    number = sandbox.issues_by_marker()["US-029"][0]
    assert sandbox.projects.value_of(sandbox.item_for_issue(number), "Sprint") == "Sprint 8"
    engine.dispose()


def test_pull_without_a_board_rereads_issues_conditionally(sandbox, reference_backlog, sqlite_url):
    engine = migrated_engine(sqlite_url)
    with github_target(sandbox, engine) as target:
        target.sync.apply(reference_backlog)
        target.sync.projects = None  # no board: the pull reads the issues over REST
        target.sync.pull()
        sandbox.clear_requests()
        sandbox.close_issue(sandbox.issues_by_marker()["US-005"][0])
        report = target.sync.pull()
    statuses = [r["status"] for r in sandbox.requests()]
    # representations that changed: US-005, its epic (sub-issue summary) and the issues of
    # its milestone (the embedded milestone counts open and closed issues)
    closed = sandbox.repo.issues[sandbox.issues_by_marker()["US-005"][0]]
    same_milestone = [
        i for i in sandbox.repo.issues.values() if i["milestone"] == closed["milestone"]
    ]
    assert statuses.count(200) == len(same_milestone) + 1
    assert statuses.count(304) == 33 - statuses.count(200)
    assert report.counts == {"issues": 33, "changed": 1}
    engine.dispose()


def test_a_story_removed_is_an_orphan_and_closed_with_prune(sandbox, sqlite_url):
    backlog = load_backlog(REFERENCE)
    engine = migrated_engine(sqlite_url)
    with github_target(sandbox, engine) as target:
        target.sync.apply(backlog)
    epic = backlog.epics[3]
    shorter = backlog.replace(epics=(*backlog.epics[:3], epic.replace(stories=epic.stories[:-1])))
    with github_target(sandbox, engine) as target:
        plan = target.sync.plan(shorter).plan
        assert [(c.action, c.backlog_id) for c in plan.writes] == []
        assert [(c.action, c.backlog_id) for c in plan.changes if c.action == "orphan"] == [
            ("orphan", "US-029")
        ]
        report = target.sync.apply(shorter, prune=True)
    assert report.counts == {"close story": 1, "unchanged": OTHERS_UNCHANGED}
    closed = sandbox.repo.issues[sandbox.issues_by_marker()["US-029"][0]]
    assert (closed["state"], closed["state_reason"]) == ("closed", "not_planned")
    with github_target(sandbox, engine) as target:
        assert target.sync.plan(shorter, prune=True).plan.changes == tuple(
            c for c in target.sync.plan(shorter, prune=True).plan.changes if c.action == "unchanged"
        )
    engine.dispose()
