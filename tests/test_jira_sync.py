"""Apply the reference backlog to the Jira sandbox: everything created once, in order,
re-applying writes nothing, a changed story updates one issue, a removed one is an orphan."""

from __future__ import annotations

import pytest

from backlog.model import Backlog
from sandbox.jira.state import EPIC_LINK_FIELD, STORY_POINT_ESTIMATE_FIELD, STORY_POINTS_FIELD
from sync.state.links import LinkStore
from tests.jira_support import (  # noqa: F401 (_dispose_engines is a fixture)
    SOURCE,
    _dispose_engines,
    issue_count_by_label,
    jira_site,
    make_sync,
    reference_backlog,
    writes,
)

pytestmark = pytest.mark.usefixtures("jira_deployment")  # Cloud and Data Center

EXPECTED_TASKS = 112
EXPECTED_LINKS = 62


def _replace_story(backlog: Backlog, story_id: str, **changes: object) -> Backlog:
    epics = []
    for epic in backlog.epics:
        stories = tuple(
            story.replace(**changes) if story.id == story_id else story for story in epic.stories
        )
        epics.append(epic.replace(stories=stories))
    return backlog.replace(epics=tuple(epics))


def test_full_apply_then_noop_reapply(database_url: str) -> None:
    backlog = reference_backlog()
    with jira_site("team") as site:
        engine = make_sync(site, database_url)
        report = engine.apply(backlog, SOURCE)
        assert report.failures == []
        summary = site.state.summary()
        assert summary["issues_by_type"] == {"Epic": 4, "Story": 29, "Subtask": EXPECTED_TASKS}
        assert summary["links"] == EXPECTED_LINKS
        assert summary["sprints"] == 8
        assert summary["issues_in_sprints"] == 29
        assert set(issue_count_by_label(site).values()) == {1}  # nothing twice
        # bulk creates in dependency order: epics, stories, then sub-tasks in batches of 50
        bulk = [r for r in site.requests if r.path.endswith("/issue/bulk")]
        assert len(bulk) == 1 + 1 + 3
        assert report.http_calls == engine.port.calls.snapshot()
        assert report.http_calls["jira POST"] == len(writes(site))
        # the sync-run record carries the counts and the HTTP calls
        run = LinkStore(engine.store.engine, "jira").runs()[-1]
        assert run.outcome == "ok" and run.http_calls == report.http_calls
        assert (run.counts["create epic"], run.counts["create story"]) == (4, 29)
        assert run.counts["create task"] == EXPECTED_TASKS

        site.clear_requests()
        engine.port.calls.reset()
        again = engine.apply(backlog, SOURCE)
        assert writes(site) == []
        assert engine.port.calls.writes("jira") == 0
        assert again.plan.is_noop
        assert site.state.summary() == summary


def test_story_fields_team_managed(sqlite_url: str) -> None:
    with jira_site("team") as site:
        engine = make_sync(site, sqlite_url)
        report = engine.apply(reference_backlog(), SOURCE)
        story = site.state.issue(report.keys["US-001"])
        task = site.state.issue(report.keys["US-001/task-1"])
        assert story is not None and task is not None
        assert story.fields["parent"] == report.keys["EPIC-001"]
        assert story.fields[STORY_POINT_ESTIMATE_FIELD] == 21
        assert story.fields["summary"] == "US-001 · Observability Stack Deployment"
        assert story.fields["priority"] == "2"  # High
        assert {"backlog-bot", "backlog-id-US-001"} <= set(story.fields["labels"])
        assert "Source: examples/bss-modernization.md:40" in story.fields["description"]
        assert "Subtask 1.1.1: Set up Prometheus ConfigMap" in story.fields["description"]
        assert story.properties["backlog-bot"]["backlogId"] == "US-001"
        assert task.fields["parent"] == story.key
        assert task.fields["timetracking"]["originalEstimate"] == "8h"
        assert "role-devops" in task.fields["labels"]
        blocked = site.state.issue(report.keys["US-002"])
        assert blocked is not None
        assert any(
            link.inward_key == story.key and link.outward_key == blocked.key
            for link in site.state.links.values()
        )
        sprint = next(s for s in site.state.sprints.values() if s.name == "Sprint 1")
        assert sprint.start_date == "2026-01-05T09:00:00.000Z"
        assert story.sprint_id == sprint.id


def test_company_managed_uses_epic_link_and_story_points(sqlite_url: str) -> None:
    with jira_site("company") as site:
        engine = make_sync(site, sqlite_url)
        report = engine.apply(reference_backlog(), SOURCE)
        assert report.failures == []
        story = site.state.issue(report.keys["US-003"])
        assert story is not None
        assert story.fields[EPIC_LINK_FIELD] == report.keys["EPIC-001"]
        assert "parent" not in story.fields
        assert story.fields[STORY_POINTS_FIELD] == 13
        assert site.state.summary()["issues_by_type"]["Sub-task"] == EXPECTED_TASKS
        site.clear_requests()
        assert engine.apply(reference_backlog(), SOURCE).plan.is_noop
        assert writes(site) == []


def test_one_changed_story_updates_one_issue(database_url: str) -> None:
    backlog = reference_backlog()
    with jira_site("team") as site:
        engine = make_sync(site, database_url)
        engine.apply(backlog, SOURCE)
        changed = _replace_story(backlog, "US-003", points=8, priority="Low")
        planned = engine.plan(changed, SOURCE)
        updates = [c for c in planned.plan.writes]
        assert [(c.action, c.backlog_id) for c in updates] == [("update", "US-003")]
        assert updates[0].diff == {"priority": ("Medium", "Low"), "points": (13, 8)}
        site.clear_requests()
        report = engine.apply(changed, SOURCE)
        key = report.keys["US-003"]
        assert writes(site) == [("PUT", f"/rest/api/2/issue/{key}")]
        issue = site.state.issue(key)
        assert issue is not None and issue.fields[STORY_POINT_ESTIMATE_FIELD] == 8
        site.clear_requests()
        engine.apply(changed, SOURCE)
        assert writes(site) == []


def test_removed_story_is_an_orphan_closed_only_with_prune(sqlite_url: str) -> None:
    backlog = reference_backlog()
    with jira_site("team") as site:
        engine = make_sync(site, sqlite_url)
        keys = engine.apply(backlog, SOURCE).keys
        epics = list(backlog.epics)
        epics[3] = epics[3].replace(stories=epics[3].stories[:-1])  # drop US-029
        smaller = backlog.replace(epics=tuple(epics), sprints=backlog.sprints[:7])
        site.clear_requests()
        report = engine.apply(smaller, SOURCE)
        orphans = {c.backlog_id for c in report.plan.changes if c.action == "orphan"}
        assert "US-029" in orphans and "US-029/task-1" in orphans
        assert writes(site) == []
        assert site.state.issue(keys["US-029"]).status == "To Do"  # type: ignore[union-attr]

        pruned = engine.apply(smaller, SOURCE, prune=True)
        assert pruned.failures == []
        assert site.state.issue(keys["US-029"]).status == "Done"  # type: ignore[union-attr]
        assert pruned.counts["close story"] == 1  # US-029; its done sub-tasks are left
        links_left = [
            ln
            for ln in site.state.links.values()
            if keys["US-029"] in (ln.inward_key, ln.outward_key)
        ]
        assert links_left == []
        site.clear_requests()
        engine.apply(smaller, SOURCE, prune=True)
        assert writes(site) == []


def test_pull_reads_workflow_state_back(database_url: str) -> None:
    from jira import JIRA  # the real client acts as a person working in Jira

    with jira_site("team") as site:
        engine = make_sync(site, database_url)
        keys = engine.apply(reference_backlog(), SOURCE).keys
        login = (
            {"basic_auth": (site.email, site.token)}
            if site.deployment == "cloud"
            else {"token_auth": site.token}  # Data Center: a personal access token
        )
        person = JIRA(site.url, max_retries=0, **login)  # type: ignore[arg-type]
        person.transition_issue(keys["US-001"], "21")
        person.issue(keys["US-001"]).update(
            fields={"assignee": {"accountId": "712020:alice"}, STORY_POINT_ESTIMATE_FIELD: 13}
        )
        engine.port.calls.reset()
        report = engine.pull()
        assert report.issues == 145
        assert engine.port.calls.writes("jira") == 0
        row = engine.store.load()[("story", "US-001")]
        assert (row.remote_status, row.remote_assignee, row.remote_points) == (
            "In Progress",
            "Alice Devops",
            13.0,
        )
        assert row.remote_sprint == "Sprint 1"
        assert engine.pull().changed == 0


@pytest.mark.parametrize("flavour", ["team", "company"])
def test_discovery_per_flavour(flavour: str, sqlite_url: str) -> None:
    with jira_site(flavour) as site:
        config = make_sync(site, sqlite_url).port.discover()
        assert config.team_managed is (flavour == "team")
        assert config.epic_mode == ("parent" if flavour == "team" else "epic-link")
        expected = "Story point estimate" if flavour == "team" else "Story Points"
        assert config.points_field_name == expected
        assert config.subtask_type_name == ("Subtask" if flavour == "team" else "Sub-task")
        assert config.blocks_link_type == "Blocks"
        assert config.board_id == 1
        assert config.priorities["High"] == "2"
