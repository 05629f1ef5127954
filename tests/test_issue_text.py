"""Titles and bodies in both sandboxes: one title rule, Gherkin with the Then outcomes as the
checklist, epics without points of their own, no placeholder epic, Jira sprint names that fit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backlog.parse import parse_text
from sandbox.github import GitHubSandbox
from sync.github.mapping import GitHubOptions, desired_state
from sync.issue_text import issue_title
from tests.github_support import github_target, migrated_engine
from tests.jira_support import jira_site, make_sync, reference_backlog
from tests.slack_support import TEAM_BACKLOG

SOURCE = "examples/bss-modernization.md"
OUTCOMES = (
    "Prometheus scraping metrics from all BSS services",
    "Grafana dashboards displaying real-time system metrics",
    "Jaeger tracing distributed requests across microservices",
    "All services configured to emit metrics in OpenTelemetry format",
    "Retention policies configured (metrics: 30d, traces: 7d, logs: 14d)",
)
GHERKIN = (
    "Given a Kubernetes cluster is available\n"
    "When I deploy the observability stack\n"
    "Then I should see:\n" + "".join(f"  - {item}\n" for item in OUTCOMES)
)


def loose_backlog():  # type: ignore[no-untyped-def]
    """The team backlog's stories with no epic heading above them (and no sprint plan)."""
    text = TEAM_BACKLOG.read_text(encoding="utf-8")
    stories = text[text.index("### Story 1.1") : text.index("# SPRINT PLANNING")]
    return parse_text("# Loose stories\n\n" + stories)


@pytest.fixture
def sandbox() -> Iterator[GitHubSandbox]:
    with GitHubSandbox() as sandbox:
        yield sandbox


def test_title_rule() -> None:
    assert issue_title("US-001", "Observability Stack Deployment") == (
        "US-001 · Observability Stack Deployment"
    )
    assert (
        issue_title("US-009", "word " * 80, limit=40) == "US-009 · word word word word word word…"
    )


def test_jira_titles_bodies_and_sprints(sqlite_url: str) -> None:
    with jira_site("team") as site:
        report = make_sync(site, sqlite_url).apply(reference_backlog(), SOURCE)
        assert report.failures == []
        story = site.state.issue(report.keys["US-001"])
        epic = site.state.issue(report.keys["EPIC-001"])
        assert story is not None and epic is not None
        assert story.fields["summary"] == "US-001 · Observability Stack Deployment"
        assert epic.fields["summary"] == "EPIC-001 · Foundation & Observability"
        description = story.fields["description"]
        expected = (
            "h3. Acceptance criteria\n{code:gherkin}\n"
            + GHERKIN
            + "{code}\n"
            + "\n".join(f"* ( ) {item}" for item in OUTCOMES)
            + "\n\nh3. Tasks"
        )
        assert expected in description
        assert "As a DevOps engineer, I want to deploy a complete observability" in description
        # epics: the declared total in the description, no points of their own
        assert "*Story points (declared):* 155 points" in epic.fields["description"]
        assert not any(
            key.startswith("customfield") and isinstance(value, int | float)
            for key, value in epic.fields.items()
        )
        sprints = sorted(site.state.sprints.values(), key=lambda s: s.start_date or "")
        assert [(s.name, s.start_date[:10], s.end_date[:10]) for s in sprints[:2]] == [
            ("Sprint 1", "2026-01-05", "2026-01-16"),
            ("Sprint 2", "2026-01-19", "2026-01-30"),
        ]
        assert sprints[1].goal == (
            "Foundation Completion: Complete observability and establish performance baselines"
        )
        assert all(len(s.name) <= 30 for s in sprints)


def test_jira_stories_outside_any_epic_get_no_placeholder(sqlite_url: str) -> None:
    with jira_site("team") as site:
        report = make_sync(site, sqlite_url).apply(loose_backlog(), "loose.md")
        assert report.failures == []
        assert "NO-EPIC" not in report.keys
        types = {issue.issue_type.name for issue in site.state.issues.values()}
        assert "Epic" not in types
        story = site.state.issue(report.keys["US-001"])
        assert story is not None and not story.fields.get("parent")
        assert story.fields["summary"] == "US-001 · Payment Gateway"


def test_github_titles_bodies_and_board(sandbox: GitHubSandbox, sqlite_url: str) -> None:
    engine = migrated_engine(sqlite_url)
    with github_target(sandbox, engine) as target:
        assert target.sync.apply(reference_backlog()).failures == []
    markers = sandbox.issues_by_marker()
    story = sandbox.repo.issues[markers["US-001"][0]]
    epic_number = markers["EPIC-001"][0]
    epic = sandbox.repo.issues[epic_number]
    assert story["title"] == "US-001 · Observability Stack Deployment"
    assert epic["title"] == "EPIC-001 · Foundation & Observability"
    expected = (
        "### Acceptance criteria\n```gherkin\n"
        + GHERKIN
        + "```\n"
        + "\n".join(f"- [ ] {item}" for item in OUTCOMES)
        + "\n\n### Tasks"
    )
    assert expected in story["body"]
    assert "- [ ] **Given**" not in story["body"] and "- [ ] **When**" not in story["body"]
    assert "**Story points (declared):** 155 points" in epic["body"]
    # the board's Story Points column adds up stories only
    assert sandbox.projects.value_of(sandbox.item_for_issue(epic_number), "Story Points") is None
    story_item = sandbox.item_for_issue(markers["US-001"][0])
    assert sandbox.projects.value_of(story_item, "Story Points") == 21.0
    assert sandbox.projects.value_of(story_item, "Epic") == "EPIC-001 · Foundation & Observability"
    engine.dispose()


def test_github_stories_outside_any_epic_get_no_placeholder(
    sandbox: GitHubSandbox, sqlite_url: str
) -> None:
    engine = migrated_engine(sqlite_url)
    desired = desired_state(loose_backlog(), GitHubOptions())
    assert [spec.kind for spec in desired.issues] == ["story"] * 5
    with github_target(sandbox, engine) as target:
        assert target.sync.apply(loose_backlog()).failures == []
    titles = sorted(issue["title"] for issue in sandbox.repo.issues.values())
    assert titles[0] == "US-001 · Payment Gateway" and len(titles) == 5
    assert sandbox.repo.sub_issues == {} or all(
        not kids for kids in sandbox.repo.sub_issues.values()
    )
    engine.dispose()
