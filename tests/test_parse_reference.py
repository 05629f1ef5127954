"""The reference backlog (examples/bss-modernization.md) read completely, with exact values."""

from __future__ import annotations

from pathlib import Path

import pytest

from backlog.model import Backlog
from backlog.parse import load_backlog


@pytest.fixture(scope="module")
def backlog() -> Backlog:
    path = Path(__file__).resolve().parents[1] / "examples" / "bss-modernization.md"
    return load_backlog(path)


def test_counts(backlog: Backlog) -> None:
    stories = backlog.stories
    assert len(backlog.epics) == 4
    assert len(stories) == 29
    assert sum(len(story.tasks) for story in stories) == 112
    assert sum(len(story.subtasks) for story in stories) == 105
    assert len(backlog.sprints) == 8
    assert len(backlog.team.roles) == 4
    assert backlog.definition_of_ready is not None
    assert len(backlog.definition_of_ready.items) == 7
    assert backlog.definition_of_done is not None
    assert len(backlog.definition_of_done.items) == 8
    assert len(backlog.estimation_guide) == 6
    assert len(backlog.velocity_history) == 8
    assert len(backlog.dependency_matrix) == 11
    assert len(backlog.risks) == 4


def test_story_ids_in_order_with_epics(backlog: Backlog) -> None:
    assert [story.id for story in backlog.stories] == [f"US-{n:03d}" for n in range(1, 30)]
    assert [len(epic.stories) for epic in backlog.epics] == [7, 7, 7, 8]
    assert {story.epic_id for story in backlog.epics[3].stories} == {"EPIC-004"}


def test_us022_points_priority_tasks_and_hours_per_role(backlog: Backlog) -> None:
    story = backlog.story("US-022")
    assert story is not None
    assert story.points == 21
    assert story.points_raw == "21"
    assert story.priority == "High"
    assert len(story.tasks) == 5
    assert story.task_hours == 42
    per_role: dict[str, float] = {}
    for task in story.tasks:
        for role in task.roles:
            per_role[role] = per_role.get(role, 0) + (task.hours or 0)
    assert per_role == {"DevOps": 10, "Backend": 26, "QA": 6}
    assert story.tasks[0].title == "Deploy Citus cluster"
    assert story.tasks[0].number == 1
    assert story.tasks[0].hours_raw == "10 hrs"
    assert story.tasks[0].details == (
        "Install Citus extension",
        "Configure coordinator and worker nodes",
        "Set up distributed configuration",
        "Configure connection pooling",
    )
    assert story.line == 1112
    assert story.tasks[0].line == 1136


def test_us001_acceptance_criteria_and_user_story(backlog: Backlog) -> None:
    story = backlog.story("US-001")
    assert story is not None
    criteria = story.acceptance_criteria
    assert criteria is not None and criteria.is_gherkin
    assert [step.keyword for step in criteria.steps] == ["Given", "When", "Then"]
    assert criteria.steps[0].text == "a Kubernetes cluster is available"
    assert criteria.steps[0].line == 52
    assert len(criteria.then_items) == 5
    assert criteria.then_items[0] == "Prometheus scraping metrics from all BSS services"
    assert story.user_story is not None
    assert story.user_story.role == "DevOps engineer"
    assert story.user_story.want is not None and story.user_story.want.startswith("to deploy")
    assert story.user_story.benefit is not None
    assert story.user_story.benefit.startswith("I can monitor system performance")
    assert story.user_story.line == 48
    assert [subtask.number for subtask in story.subtasks] == ["1.1.1", "1.1.2", "1.1.3", "1.1.4"]
    assert story.subtasks[2].title == ("Configure Jaeger storage backend (Cassandra/Elasticsearch)")
    assert story.subtasks[1].hours == 1
    assert story.subtask_hours == 9


def test_sprint_one_commits_seven_stories(backlog: Backlog) -> None:
    sprint = backlog.sprints[0]
    assert sprint.number == 1
    assert sprint.name == "Foundation Setup"
    assert sprint.weeks == "1-2"
    assert sprint.goal == "Establish observability stack and performance baseline"
    assert sprint.capacity_points == 85
    assert sprint.velocity_actual == 82
    assert sprint.overview_points == 85
    assert sprint.committed_story_ids == (
        "US-001",
        "US-002",
        "US-006",
        "US-007",
        "US-005",
        "US-003",
        "US-004",
    )
    first = sprint.committed[0]
    assert (first.points, first.roles, first.stated_total_hours) == (21, ("DevOps",), 30)
    assert [task.hours for task in first.tasks] == [8, 6, 6, 10]
    check = {line.role: line for line in sprint.capacity_check}
    assert check["DevOps"].addends == (30, 4, 6, 6, 6)
    assert check["DevOps"].stated_total == 52
    assert check["DevOps"].limit == 80
    assert check["Total"].stated_total == 100


def test_sprint_continuations_and_buffers(backlog: Backlog) -> None:
    sprint2, sprint4, sprint5 = backlog.sprints[1], backlog.sprints[3], backlog.sprints[4]
    assert [item.continued for item in sprint2.committed] == [True, True, True]
    assert sprint2.committed[0].title == "Observability Stack"
    assert [(b.title, b.points) for b in sprint2.buffer_items] == [
        ("Buffer for Story Spillover", 70)
    ]
    assert [(b.title, b.points) for b in sprint4.buffer_items] == [
        ("Additional Implementation", 31)
    ]
    assert [(b.title, b.points) for b in sprint5.buffer_items] == [("Supporting Work", 28)]
    assert backlog.sprint_of()["US-001"] == 1
    assert backlog.sprint_overview_total_points == 615
    assert backlog.sprint_overview_total_line == 1551  # "**Total Story Points: 615** (...)"


def test_team_capacity(backlog: Backlog) -> None:
    backend = backlog.team.role("Backend")
    assert backend is not None
    assert backend.name == "Backend Developer"
    assert backend.sprint_hours == 60
    assert backend.availability_pct == 60
    assert backend.weekly_hours == 30
    assert backlog.team.stated_sprint_hours == 200
    assert backlog.team.stated_weekly_hours == 100
    assert backlog.team.velocity_capacity_raw is not None
    assert backlog.team.velocity_capacity_raw.startswith("80-100 story points")


def test_header_metadata_and_declared_totals(backlog: Backlog) -> None:
    assert backlog.title == "TASK 2: BSS System Modernization - Agile Breakdown"
    assert backlog.metadata["Total Story Points"] == "620 points"
    assert backlog.declared_total_points == 620
    assert backlog.declared_total_points_line == 4
    # The document's real inconsistency: stories add up to far less than declared.
    assert sum(story.points or 0 for story in backlog.stories) == 411
    epic1 = backlog.epics[0]
    assert (epic1.id, epic1.name, epic1.points, epic1.story_points_sum) == (
        "EPIC-001",
        "Foundation & Observability",
        155,
        89,
    )
    assert epic1.timeline == "Weeks 1-4 (Sprints 1-2)"
    assert len(epic1.acceptance_criteria) == 5
    assert epic1.acceptance_criteria[0].checked is False


def test_dependencies_resolved(backlog: Backlog) -> None:
    us002 = backlog.story("US-002")
    assert us002 is not None
    (dep,) = us002.dependencies
    assert (dep.kind, dep.target, dep.raw) == (
        "story",
        "US-001",
        "US-001 (observability stack needed for metrics)",
    )
    us008 = backlog.story("US-008")
    assert us008 is not None
    (dep,) = us008.dependencies
    assert (dep.kind, dep.target, dep.qualifier) == ("epic", "EPIC-001", "completed")
    us001 = backlog.story("US-001")
    assert us001 is not None and [d.kind for d in us001.dependencies] == ["none"]
    us028, us029 = backlog.story("US-028"), backlog.story("US-029")
    assert us028 is not None and us029 is not None
    assert us028.dependencies[0].kind == "phrase"
    assert us028.dependencies[0].resolved == tuple(f"US-{n:03d}" for n in range(1, 22))
    assert us029.dependencies[0].resolved == tuple(f"US-{n:03d}" for n in range(1, 29))


def test_dependency_matrix(backlog: Backlog) -> None:
    rows = {row.story_id: row for row in backlog.dependency_matrix}
    assert rows["US-008"].depends_on[0].kind == "epic"
    assert rows["US-008"].blocks == ("US-013", "US-014")
    assert rows["US-008"].label == "API Gateway"
    assert [d.target for d in rows["US-017"].depends_on] == ["US-011", "US-012"]
    assert rows["US-011"].depends_on[0].kind == "none"
    assert rows["US-022"].blocks == ()
    # Disagrees with US-009's own field (None): the rules engine reports this.
    assert rows["US-009"].depends_on[0].target == "US-001"


def test_tables_and_risks(backlog: Backlog) -> None:
    band = backlog.estimation_guide[-1]
    assert (band.points, band.hours_min, band.hours_max, band.complexity) == (21, 48, 64, "Epic")
    record = backlog.velocity_history[0]
    assert (record.sprint, record.planned, record.completed, record.completion_rate_pct) == (
        "Sprint 1",
        85,
        82,
        96,
    )
    risk = backlog.risks[0]
    assert (risk.number, risk.title, risk.probability, risk.impact) == (
        1,
        "Database Sharding Complexity",
        "High (70%)",
        "High",
    )
    assert len(risk.mitigations) == 4


def test_unknown_sections_are_kept(backlog: Backlog) -> None:
    headings = [section.heading for section in backlog.other_sections]
    assert "INVEST CRITERIA VALIDATION" in headings
    assert "Sprint Exit Criteria" in headings
    assert "METRICS & KPIs" in headings
    assert "COMMUNICATION PLAN" in headings
    assert "C. Tools & Technologies" in headings
    invest = next(s for s in backlog.other_sections if s.heading == "INVEST CRITERIA VALIDATION")
    assert invest.line == 1998
    assert "### Small (S)" in invest.text
    # Every line of the document is accounted for: nothing interpreted is also kept raw.
    assert not any(section.heading.startswith("EPIC") for section in backlog.other_sections)
