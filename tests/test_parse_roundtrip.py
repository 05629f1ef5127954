"""Canonical JSON/YAML round trips (property tests) and a parser that never crashes."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backlog import serialize
from backlog.errors import BadInputError
from backlog.model import (
    AcceptanceCriteria,
    Backlog,
    BufferItem,
    CapacityCheckLine,
    ChecklistItem,
    Definition,
    Dependency,
    DependencyRow,
    Epic,
    EstimationBand,
    GherkinStep,
    Risk,
    Section,
    Sprint,
    SprintCommitment,
    SprintTaskLine,
    Story,
    Subtask,
    Task,
    Team,
    TeamRole,
    UserStory,
    VelocityRecord,
)
from backlog.parse import parse_text

REFERENCE = Path(__file__).resolve().parents[1] / "examples" / "bss-modernization.md"
REFERENCE_TEXT = REFERENCE.read_text(encoding="utf-8")

text = st.text(max_size=12)
maybe_text = st.none() | text
lines = st.integers(min_value=0, max_value=5000)
small_int = st.integers(min_value=-(10**6), max_value=10**6)
maybe_int = st.none() | small_int
number = st.floats(allow_nan=False, allow_infinity=False, width=64)
maybe_number = st.none() | number


def tuples(strategy: st.SearchStrategy, max_size: int = 3) -> st.SearchStrategy:
    return st.lists(strategy, max_size=max_size).map(tuple)


checklist_item = st.builds(ChecklistItem, text=text, checked=st.booleans(), line=lines)
dependency = st.builds(
    Dependency,
    raw=text,
    kind=st.sampled_from(["story", "epic", "phrase", "none"]),
    target=maybe_text,
    qualifier=maybe_text,
    resolved=tuples(text),
)
step = st.builds(
    GherkinStep,
    keyword=st.sampled_from(["Given", "When", "Then", "And", "But", "Scenario"]),
    text=text,
    items=tuples(text),
    line=lines,
)
task = st.builds(
    Task,
    number=maybe_int,
    title=text,
    hours=maybe_number,
    hours_raw=maybe_text,
    roles=tuples(text),
    details=tuples(text),
    line=lines,
)
story = st.builds(
    Story,
    id=text,
    title=text,
    heading=text,
    number=maybe_text,
    epic_id=maybe_text,
    points=maybe_int,
    points_raw=maybe_text,
    priority=maybe_text,
    labels=tuples(text),
    assignee=maybe_text,
    dependencies_raw=maybe_text,
    dependencies=tuples(dependency),
    user_story=st.none()
    | st.builds(UserStory, text=text, role=maybe_text, want=maybe_text, benefit=maybe_text),
    acceptance_criteria=st.none()
    | st.builds(
        AcceptanceCriteria,
        steps=tuples(step),
        checklist=tuples(checklist_item),
        raw=text,
        line=lines,
    ),
    tasks=tuples(task),
    subtasks=tuples(
        st.builds(Subtask, number=maybe_text, title=text, hours=maybe_number, hours_raw=maybe_text)
    ),
    suppressions=tuples(text),
    line=lines,
    end_line=lines,
)
epic = st.builds(
    Epic,
    id=text,
    name=text,
    number=maybe_int,
    business_value=maybe_text,
    timeline=maybe_text,
    points=maybe_int,
    points_raw=maybe_text,
    acceptance_criteria=tuples(checklist_item),
    stories=tuples(story, 2),
    line=lines,
)
sprint = st.builds(
    Sprint,
    number=small_int,
    name=text,
    weeks=maybe_text,
    goal=maybe_text,
    capacity_points=maybe_int,
    velocity_actual=maybe_int,
    overview_points=maybe_int,
    committed=tuples(
        st.builds(
            SprintCommitment,
            story_id=text,
            points=maybe_int,
            roles=tuples(text),
            continued=st.booleans(),
            tasks=tuples(
                st.builds(SprintTaskLine, title=text, hours=maybe_number, roles=tuples(text))
            ),
            stated_total_hours=maybe_number,
        )
    ),
    buffer_items=tuples(st.builds(BufferItem, title=text, points=maybe_int)),
    capacity_check=tuples(
        st.builds(
            CapacityCheckLine,
            role=text,
            addends=tuples(number),
            stated_total=maybe_number,
            limit=maybe_number,
        )
    ),
    notes=tuples(text),
)
backlog_strategy = st.builds(
    Backlog,
    title=text,
    source=maybe_text,
    metadata=st.dictionaries(text, text, max_size=3),
    declared_total_points=maybe_int,
    team=st.builds(
        Team,
        roles=tuples(
            st.builds(
                TeamRole,
                name=text,
                availability_pct=maybe_number,
                weekly_hours=maybe_number,
                sprint_hours=maybe_number,
            )
        ),
        stated_weekly_hours=maybe_number,
        velocity_capacity_raw=maybe_text,
    ),
    epics=tuples(epic, 2),
    sprints=tuples(sprint, 2),
    sprint_overview_total_points=maybe_int,
    definition_of_ready=st.none()
    | st.builds(Definition, title=text, intro=text, items=tuples(checklist_item)),
    definition_of_done=st.none() | st.builds(Definition, items=tuples(checklist_item)),
    estimation_guide=tuples(
        st.builds(
            EstimationBand,
            points=small_int,
            hours_min=maybe_number,
            hours_max=maybe_number,
            complexity=maybe_text,
        )
    ),
    velocity_history=tuples(
        st.builds(VelocityRecord, sprint=text, planned=maybe_int, completion_rate_pct=maybe_number)
    ),
    dependency_matrix=tuples(
        st.builds(
            DependencyRow,
            story_id=text,
            label=maybe_text,
            depends_on_raw=text,
            depends_on=tuples(dependency),
            blocks=tuples(text),
            notes=maybe_text,
        )
    ),
    risks=tuples(st.builds(Risk, number=maybe_int, title=text, mitigations=tuples(text))),
    other_sections=tuples(
        st.builds(Section, heading=text, level=st.integers(1, 6), text=text, line=lines)
    ),
)

ROUND_TRIP = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@ROUND_TRIP
@given(backlog_strategy)
def test_json_model_json_is_exact(backlog: Backlog) -> None:
    first = serialize.dump_json(backlog)
    loaded = serialize.load_json(first)
    assert loaded == backlog
    assert serialize.dump_json(loaded) == first


def test_unset_story_fields_are_left_out_and_look_alike_text_is_kept() -> None:
    """Labels and assignee are written only when set, whatever the other fields hold."""
    look_alike = ',"labels":[],"assignee":null'
    unset = Story(id="US-1", title=look_alike, heading=look_alike)
    set_ = Story(id="US-2", title=look_alike, labels=("a",), assignee="")
    backlog = Backlog(
        metadata={"labels": look_alike},
        epics=(Epic(id="EPIC-1", stories=(unset, set_)),),
    )
    data = serialize.to_data(backlog)
    first, second = data["epics"][0]["stories"]
    assert "labels" not in first and "assignee" not in first
    assert first["title"] == first["heading"] == look_alike
    assert (second["labels"], second["assignee"]) == (["a"], "")
    assert data["metadata"] == {"labels": look_alike}
    assert serialize.load_json(serialize.dump_json(backlog)) == backlog


@ROUND_TRIP
@given(backlog_strategy)
def test_yaml_round_trip(backlog: Backlog) -> None:
    loaded = serialize.load_yaml(serialize.dump_yaml(backlog))
    assert loaded == backlog
    assert serialize.dump_json(loaded) == serialize.dump_json(backlog)


def test_reference_round_trips_through_json_and_yaml() -> None:
    backlog = parse_text(REFERENCE_TEXT, source="examples/bss-modernization.md")
    as_json = serialize.dump_json(backlog)
    assert serialize.dump_json(serialize.load_json(as_json)) == as_json
    assert serialize.load_yaml(serialize.dump_yaml(backlog)) == backlog


# --- the Markdown parser never crashes: a value or a BadInputError ---------------------------

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
markdownish = st.text(
    alphabet=st.sampled_from(list("#*-_>`~|:()[]!<>0123456789 \n\t\r.US-EPIC—–abcxyz✓统")),
    max_size=400,
)


def parses_or_refuses(source: str) -> None:
    try:
        parse_text(source, source="fuzz.md")
    except BadInputError as error:
        assert "\n" not in str(error)


@FUZZ
@given(st.text(max_size=300) | markdownish)
def test_arbitrary_text_never_crashes(source: str) -> None:
    parses_or_refuses(source)


REFERENCE_LINES = REFERENCE_TEXT.split("\n")


@st.composite
def mutated_reference(draw: st.DrawFn) -> str:
    """A window of the reference with lines dropped, duplicated, swapped or garbled."""
    start = draw(st.integers(0, len(REFERENCE_LINES) - 1))
    size = draw(st.integers(1, 160))
    window = REFERENCE_LINES[start : start + size]
    for _ in range(draw(st.integers(0, 6))):
        if not window:
            break
        index = draw(st.integers(0, len(window) - 1))
        action = draw(st.sampled_from(["drop", "dup", "swap", "garble", "cut"]))
        if action == "drop":
            del window[index]
        elif action == "dup":
            window.insert(index, window[index])
        elif action == "swap":
            other = draw(st.integers(0, len(window) - 1))
            window[index], window[other] = window[other], window[index]
        elif action == "garble":
            window[index] = draw(markdownish) + window[index][: draw(st.integers(0, 40))]
        else:
            window[index] = window[index][: draw(st.integers(0, len(window[index])))]
    return "\n".join(window)


@FUZZ
@given(mutated_reference())
def test_mutated_reference_never_crashes(source: str) -> None:
    parses_or_refuses(source)
