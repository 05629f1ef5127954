"""Hand-built backlog models for the rules tests (no parser involved).

``clean_backlog()`` is a small backlog that every stable rule accepts; tests derive a flagged
variant from it by changing one thing with ``replace(...)`` helpers below.
"""

from __future__ import annotations

from typing import Any

from backlog.model import (
    AcceptanceCriteria,
    Backlog,
    ChecklistItem,
    Definition,
    Dependency,
    DependencyRow,
    Epic,
    EstimationBand,
    GherkinStep,
    Sprint,
    SprintCommitment,
    Story,
    Task,
    Team,
    TeamRole,
    UserStory,
    VelocityRecord,
)

GUIDE = (
    EstimationBand(points=1, hours_min=2, hours_max=4, complexity="Simple", line=900),
    EstimationBand(points=3, hours_min=4, hours_max=8, complexity="Small", line=901),
    EstimationBand(points=5, hours_min=8, hours_max=16, complexity="Medium", line=902),
    EstimationBand(points=8, hours_min=16, hours_max=32, complexity="Complex", line=903),
    EstimationBand(points=13, hours_min=32, hours_max=48, complexity="Very Complex", line=904),
    EstimationBand(points=21, hours_min=48, hours_max=64, complexity="Epic", line=905),
)
TEAM = Team(
    roles=(
        TeamRole(name="DevOps Engineer", sprint_hours=80, line=10),
        TeamRole(name="Backend Developer", sprint_hours=60, line=11),
        TeamRole(name="QA Engineer", sprint_hours=40, line=12),
    ),
    line=9,
)
DOR = Definition(
    title="Definition of Ready",
    items=(
        ChecklistItem(text="Product Owner has prioritized story", line=950),
        ChecklistItem(text="User story clearly defined", line=951),
        ChecklistItem(text="Acceptance criteria documented", line=952),
        ChecklistItem(text="Dependencies identified", line=953),
        ChecklistItem(text="Technical approach discussed", line=954),
        ChecklistItem(text="Story estimated", line=955),
        ChecklistItem(text="Team has capacity", line=956),
    ),
    line=949,
)
DOD = Definition(
    title="Definition of Done",
    items=(
        ChecklistItem(text="Code implemented and reviewed (2 approvals)", line=960),
        ChecklistItem(text="Unit tests written (80% coverage minimum)", line=961),
        ChecklistItem(text="Integration tests passing", line=962),
        ChecklistItem(text="Acceptance criteria validated", line=963),
        ChecklistItem(text="Documentation updated", line=964),
    ),
    line=959,
)


def criteria(*then_items: str, line: int = 0) -> AcceptanceCriteria:
    return AcceptanceCriteria(
        steps=(
            GherkinStep(keyword="Given", text="a customer account exists", line=line + 1),
            GherkinStep(keyword="When", text="the customer opens the invoice page", line=line + 2),
            GherkinStep(keyword="Then", text="I should see:", items=then_items, line=line + 3),
        ),
        raw="Given ...",
        line=line,
    )


def story(story_id: str, line: int, **changes: Any) -> Story:
    """A story that passes every rule: 8 points, 24 h of tasks, Gherkin criteria."""
    base = Story(
        id=story_id,
        title=f"Story {story_id}",
        epic_id="EPIC-001",
        points=8,
        points_raw="8",
        priority="High",
        dependencies_raw="None",
        dependencies=(Dependency(raw="None", kind="none"),),
        user_story=UserStory(
            text="As a customer, I want my invoices online so that I can pay on time",
            role="customer",
            want="my invoices online",
            benefit="I can pay on time",
            line=line + 5,
        ),
        acceptance_criteria=criteria(
            "the last 12 invoices are listed with amount and due date",
            "each invoice opens as a PDF within 2 seconds",
            line=line + 8,
        ),
        tasks=(
            Task(number=1, title="Build invoice API", hours=12, roles=("Backend",), line=line + 14),
            Task(number=2, title="Deploy service", hours=8, roles=("DevOps",), line=line + 15),
            Task(number=3, title="Test invoices", hours=4, roles=("QA",), line=line + 16),
        ),
        line=line,
        end_line=line + 20,
    )
    return base.replace(**changes)


def depends_on(*ids: str) -> dict[str, Any]:
    """``story(...)`` changes for a Dependencies field naming ``ids``."""
    return {
        "dependencies_raw": ", ".join(ids),
        "dependencies": tuple(Dependency(raw=i, kind="story", target=i) for i in ids),
    }


def clean_backlog(*stories: Story, **changes: Any) -> Backlog:
    """Two stories in two sprints (US-002 depends on US-001, planned a sprint later)."""
    stories = stories or (
        story("US-001", 100),
        story("US-002", 130, **depends_on("US-001")),
    )
    epic = Epic(
        id="EPIC-001",
        name="Billing",
        points=sum(s.points or 0 for s in stories),
        stories=stories,
        line=90,
    )
    sprints = tuple(
        Sprint(
            number=index,
            capacity_points=20,
            overview_points=s.points,
            committed=(SprintCommitment(story_id=s.id, points=s.points, line=500 + index * 20),),
            line=500 + index * 20 - 3,
        )
        for index, s in enumerate(stories, start=1)
    )
    base = Backlog(
        title="Billing",
        source="backlog.md",
        declared_total_points=sum(s.points or 0 for s in stories),
        team=TEAM,
        epics=(epic,),
        sprints=sprints,
        sprint_overview_total_points=sum(s.points or 0 for s in stories),
        definition_of_ready=DOR,
        definition_of_done=DOD,
        estimation_guide=GUIDE,
        velocity_history=(
            VelocityRecord(sprint="Sprint 1", velocity=18, line=800),
            VelocityRecord(sprint="Sprint 2", velocity=22, line=801),
        ),
        dependency_matrix=(
            DependencyRow(
                story_id="US-002",
                depends_on_raw="US-001",
                depends_on=(Dependency(raw="US-001", kind="story", target="US-001"),),
                line=850,
            ),
        )
        if any(s.id == "US-002" for s in stories)
        else (),
    )
    return base.replace(**changes)
