"""The synthetic backlog generator the benchmarks share: same dialect, deterministic, sized."""

from __future__ import annotations

from backlog.parse import parse_text
from bench.synthetic import make_backlog_markdown


def test_synthetic_backlog_parses_completely() -> None:
    text = make_backlog_markdown(60, seed=3)
    backlog = parse_text(text, source="synthetic.md")
    assert len(backlog.stories) == 60
    assert [story.id for story in backlog.stories][:2] == ["US-001", "US-002"]
    assert len(backlog.epics) == 9
    assert len(backlog.sprints) == 9
    assert all(story.tasks and story.subtasks for story in backlog.stories)
    assert all(
        story.acceptance_criteria and story.acceptance_criteria.is_gherkin
        for story in backlog.stories
    )
    committed = [item.story_id for sprint in backlog.sprints for item in sprint.committed]
    assert committed == [story.id for story in backlog.stories]
    assert backlog.dependency_matrix and backlog.definition_of_done and backlog.team.roles
    assert any(dep.kind == "epic" for story in backlog.stories for dep in story.dependencies)
    assert all(sprint.capacity_check for sprint in backlog.sprints)


def test_synthetic_backlog_is_deterministic_and_about_1_8_kb_per_story() -> None:
    text = make_backlog_markdown(200)
    assert text == make_backlog_markdown(200)
    assert text != make_backlog_markdown(200, seed=1)
    assert 1500 <= len(text.encode()) / 200 <= 2100
