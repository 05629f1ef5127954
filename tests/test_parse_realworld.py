"""Ten backlogs written by other teams (tests/data/realworld, see SOURCES.md there).

Each ``<name>.truth.json`` holds the hand-counted truth: stories, stories with points, stories
with acceptance criteria, epics, sprints and the story ids (or titles where the file has
none). The reader must find every story exactly once (none merged into another, none made
up), with its points and acceptance criteria, in its epic where the file says which, and
report the lines it did not understand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backlog.model import Backlog, Story
from backlog.parse import load_backlog, parse_text
from rules.runner import run_rules

DATA = Path(__file__).parent / "data" / "realworld"
NAMES = sorted(path.stem for path in DATA.glob("*.md") if path.name != "SOURCES.md")

# Epic membership, counted by hand from each file (epic id -> story ids).
EPICS = {
    "kartheek-event-registration": {
        "EPIC-01": ["US-01", "US-02", "US-16"],
        "EPIC-02": ["US-03", "US-04", "US-05", "US-06", "US-13"],
        "EPIC-03": ["US-07", "US-08", "US-09", "US-10", "US-11", "US-12"],
        "EPIC-04": ["US-14", "US-15"],
        "EPIC-05": ["US-17", "US-18", "US-19", "US-20"],
    },
    "kdu-lost-found": {
        "EPIC-001": ["US-01", "US-02"],
        "EPIC-002": ["US-03", "US-04", "US-05", "US-06", "US-07", "US-08"],
        "EPIC-003": ["US-09", "US-10", "US-11"],
        "EPIC-004": ["US-12", "US-13", "US-14"],
        "EPIC-005": ["US-15", "US-16", "US-17"],
    },
    "safehaven-product-backlog": {
        "EPIC-001": ["SH-001", "SH-002", "SH-003"],
        "EPIC-002": ["SH-004", "SH-005", "SH-006"],
        "EPIC-003": ["SH-007", "SH-008"],
        "EPIC-004": ["SH-012", "SH-013"],
        "EPIC-005": [],
    },
    "coffeelovers-travel-planner": {
        "EPIC-001": [f"US-1.{n}" for n in range(1, 5)],
        "EPIC-002": [f"US-2.{n}" for n in range(1, 8)],
        "EPIC-003": [f"US-3.{n}" for n in range(1, 7)],
        "EPIC-004": [f"US-4.{n}" for n in range(1, 8)],
    },
}

# Sprint commitments, counted by hand (sprint number -> story ids).
SPRINTS = {
    "kartheek-event-registration": {
        1: [f"US-{n:02d}" for n in range(1, 8)],
        2: [f"US-{n:02d}" for n in range(8, 21)],
    },
    "safehaven-product-backlog": {
        1: [f"SH-{n:03d}" for n in range(1, 11)],
        2: [f"SH-{n:03d}" for n in range(11, 21)],
        3: [f"SH-{n:03d}" for n in range(21, 31)],
    },
}


def truth(name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((DATA / f"{name}.truth.json").read_text("utf-8"))
    return data


def find(backlog: Backlog, key: str) -> list[Story]:
    """Stories the truth's id (or title, for files without ids) names."""
    return [
        story
        for story in backlog.stories
        if key in (story.id, story.title, story.heading.rstrip(":").strip())
    ]


def has_acceptance(story: Story) -> bool:
    criteria = story.acceptance_criteria
    return criteria is not None and bool(criteria.steps or criteria.checklist)


@pytest.fixture(scope="module", params=NAMES)
def case(request: pytest.FixtureRequest) -> tuple[str, Backlog, dict[str, object]]:
    name = str(request.param)
    return name, load_backlog(DATA / f"{name}.md"), truth(name)


def test_every_story_found_once(case: tuple[str, Backlog, dict[str, object]]) -> None:
    _, backlog, expected = case
    ids = expected["story_ids"]
    assert isinstance(ids, list)
    matches = {key: find(backlog, key) for key in ids}
    assert {key: len(found) for key, found in matches.items() if len(found) != 1} == {}
    # Distinct stories for distinct ids: nothing merged into another, nothing made up.
    assert len({id(found[0]) for found in matches.values()}) == len(ids)
    assert len(backlog.stories) == expected["stories"]


def test_points_and_acceptance(case: tuple[str, Backlog, dict[str, object]]) -> None:
    _, backlog, expected = case
    assert sum(story.points is not None for story in backlog.stories) == expected["with_points"]
    assert sum(has_acceptance(story) for story in backlog.stories) == expected["with_acceptance"]


def test_epics_and_sprints(case: tuple[str, Backlog, dict[str, object]]) -> None:
    name, backlog, expected = case
    epics = [epic for epic in backlog.epics if epic.id != "NO-EPIC"]
    assert len(epics) == expected["epics"]
    assert len(backlog.sprints) == expected["sprints"]
    if name in EPICS:
        assert {e.id: [s.id for s in e.stories] for e in epics} == EPICS[name]
    if name in SPRINTS:
        assert {s.number: list(s.committed_story_ids) for s in backlog.sprints} == SPRINTS[name]


def test_points_come_from_the_summary_table() -> None:
    backlog = load_backlog(DATA / "satfactory-backlog.md")
    points = {story.id: story.points for story in backlog.stories}
    assert sum(p or 0 for p in points.values()) == 92
    assert (points["SF-01"], points["SF-02"], points["SF-18"]) == (5, 8, 8)
    story = backlog.story("SF-01")
    assert story is not None and story.priority == "P1"
    assert story.user_story is not None and story.user_story.text.startswith("As a student")
    assert story.acceptance_criteria is not None
    assert len(story.acceptance_criteria.checklist) == 4


def test_t_shirt_sizes_are_kept_raw() -> None:
    backlog = load_backlog(DATA / "dateflow-user-stories.md")
    story = backlog.story("US-01")
    assert story is not None
    assert (story.points, story.points_raw) == (None, "Small")
    assert story.user_story is not None and story.user_story.role == "first-dater (Person A)"


def test_generated_ids_are_reported() -> None:
    backlog = load_backlog(DATA / "fitgenius-pb.md")
    assert [story.id for story in backlog.stories][:3] == ["US-1", "US-2", "US-3"]
    notes = [note for note in backlog.reader_notes if note.kind == "generated-id"]
    assert len(notes) == 21
    assert notes[0].line == 3 and "fix --add-ids" in notes[0].message


def test_yaml_stories_and_front_matter() -> None:
    backlog = load_backlog(DATA / "alpe-user-stories.md")
    assert backlog.metadata["id"] == "DOC-030-US"
    story = backlog.story("US-005")
    assert story is not None and story.line == 1116  # the bullet that introduces it
    assert story.title == "Générer les reversements en fin d'édition"
    assert story.acceptance_criteria is not None and story.acceptance_criteria.checklist
    # The template block repeats US-001: reported, not read as a second US-001.
    assert [(u.line, u.context) for u in backlog.unread] == [(13, "repeats story US-001")]


def test_struck_rows_and_numeric_ids() -> None:
    backlog = load_backlog(DATA / "cop4331-backlog.md")
    first = backlog.story("000")
    assert first is not None and first.priority == "1"
    assert first.user_story is not None and first.user_story.want is not None
    assert backlog.unread == ()


def test_unread_sections_are_reported() -> None:
    backlog = load_backlog(DATA / "kdu-lost-found.md")
    assert [(u.line, u.end_line, u.what) for u in backlog.unread] == [(54, 59, "section")]
    assert backlog.unread[0].context == '"MVP Scope (Milestone 1 - Target: Aug 28)"'


def test_sizes_map_to_points_through_the_estimation_guide() -> None:
    text = (DATA / "dateflow-user-stories.md").read_text("utf-8") + (
        "\n## Estimation Guide\n\n| Size | Points | Hours |\n|---|---|---|\n"
        "| S | 2 | 4-8 |\n| M | 5 | 8-16 |\n| L | 8 | 16-24 |\n"
    )
    backlog = parse_text(text, source="dateflow.md")
    sizes = {story.points_raw: story.points for story in backlog.stories}
    assert sizes == {"Small": 2, "Medium": 5, "Large": 8, "XLarge": None}


def test_an_unreadable_estimate_is_reported_once_not_as_missing() -> None:
    dateflow = load_backlog(DATA / "dateflow-user-stories.md")
    estimates = [f for f in run_rules(dateflow) if f.rule in ("dor.estimated", "invest.estimable")]
    assert estimates == []  # T-shirt sizes are estimates
    text = (DATA / "dateflow-user-stories.md").read_text("utf-8")
    backlog = parse_text(text.replace("**Size: Small**", "**Size: XL-ish**", 1), source="d.md")
    found = [(f.rule, f.line, f.message) for f in run_rules(backlog) if f.item == "US-01"]
    estimate = [item for item in found if item[0] in ("dor.estimated", "invest.estimable")]
    assert estimate == [
        ("invest.estimable", 29, 'US-01: could not read the estimate "XL-ish" at line 29')
    ]


def test_missing_fields_point_at_the_lines_not_understood() -> None:
    backlog = load_backlog(DATA / "dateflow-user-stories.md")
    [finding] = [
        f for f in run_rules(backlog) if f.rule == "dor.acceptance-criteria" and f.item == "US-01"
    ]
    assert finding.message.endswith(
        "(lines 27, 31-33 of the story were not understood: see document.unparsed)"
    )
    unread = [(u.line, u.end_line, u.what) for u in backlog.unread if u.context == "in story US-01"]
    assert unread == [(27, 27, "paragraph"), (31, 33, "table")]
