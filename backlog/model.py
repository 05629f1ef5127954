"""The backlog domain model: pure, immutable data with no I/O.

Everything else (rules, Jira and GitHub sync, Slack digests, webhooks) reads this model.
It knows nothing of Markdown, HTTP, Slack or the database.

Conventions:
- ``line`` is the 1-based line in the source document where the element starts
  (0 when the element did not come from a document, e.g. built in a test).
- Values a team may write wrongly are kept raw beside the parsed value
  (``points_raw`` beside ``points``), so rules can report what was written.
- Collections are tuples so that models are hashable and cannot be mutated by accident.

The classes are msgspec Structs: declaring them costs next to nothing at import and
building one is a plain allocation, which matters to a one-shot command that reads a large
backlog (the parser builds about twenty of them per story). Constructors do not convert or
check values (type checking does that for our code); data from outside goes through
``backlog.serialize.from_data``, which validates. The canonical JSON form is
``backlog.serialize.to_data``; its JSON Schema is generated from these classes (see
``docs/backlog.schema.json``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal, Self

import msgspec
from msgspec import Meta

SCHEMA_VERSION = 1


class Node(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Base of every model element: frozen, strict about unknown keys.

    Subclasses repeat ``frozen=True`` (type checkers want it said) and say ``kw_only=True``
    (msgspec does not inherit it): fields are given by name, so a required field may follow
    optional ones.
    """

    def replace(self, **changes: Any) -> Self:
        """A copy with the given fields changed (the model is immutable)."""
        return msgspec.structs.replace(self, **changes)


# --- building blocks ------------------------------------------------------------------------


class ChecklistItem(Node, frozen=True, kw_only=True):
    """One ``- [ ] text`` (or plain bullet) item of a checklist."""

    text: str
    checked: bool = False
    line: int = 0


class Definition(Node, frozen=True, kw_only=True):
    """A Definition of Ready or Definition of Done checklist, as the document states it."""

    title: str = ""
    intro: str = ""
    items: tuple[ChecklistItem, ...] = ()
    line: int = 0


DependencyKind = Literal["story", "epic", "phrase", "none"]


class Dependency(Node, frozen=True, kw_only=True):
    """One dependency of a story, resolved where possible, with the raw text kept.

    ``kind``: ``story`` (``target`` is a story id such as ``US-001``), ``epic`` (``target`` is an
    epic id such as ``EPIC-001``; ``qualifier`` keeps "completed"), ``phrase`` (free text such as
    "All previous stories"; ``resolved`` lists the story ids it stands for where the parser
    could tell), ``none`` (the field says "None").
    """

    raw: str
    kind: DependencyKind
    target: str | None = None
    qualifier: str | None = None
    resolved: tuple[str, ...] = ()


class UserStory(Node, frozen=True, kw_only=True):
    """The "As a <role>, I want <want> so that <benefit>" sentence, split into its parts."""

    text: str
    role: str | None = None
    want: str | None = None
    benefit: str | None = None
    line: int = 0


GherkinKeyword = Literal["Feature", "Scenario", "Background", "Given", "When", "Then", "And", "But"]


class GherkinStep(Node, frozen=True, kw_only=True):
    """A Given/When/Then step and the bullet items listed under it."""

    keyword: GherkinKeyword
    text: str
    items: tuple[str, ...] = ()
    line: int = 0


class AcceptanceCriteria(Node, frozen=True, kw_only=True):
    """A story's acceptance criteria: Gherkin steps when written that way, checklist otherwise."""

    steps: tuple[GherkinStep, ...] = ()
    checklist: tuple[ChecklistItem, ...] = ()
    raw: str = ""
    line: int = 0

    @property
    def then_items(self) -> tuple[str, ...]:
        """Bullet items under the Then step (and And/But steps following it)."""
        items: list[str] = []
        in_then = False
        for step in self.steps:
            if step.keyword == "Then":
                in_then = True
            elif step.keyword in ("Given", "When"):
                in_then = False
            if in_then:
                items.extend(step.items)
        return tuple(items)

    @property
    def is_gherkin(self) -> bool:
        keywords = {step.keyword for step in self.steps}
        return {"Given", "When", "Then"} <= keywords


class Task(Node, frozen=True, kw_only=True):
    """A story task: ``1. **Title** (8 hrs) - DevOps`` with detail bullets."""

    number: int | None = None
    title: str
    hours: float | None = None
    hours_raw: str | None = None
    roles: tuple[str, ...] = ()
    details: tuple[str, ...] = ()
    line: int = 0


class Subtask(Node, frozen=True, kw_only=True):
    """A story subtask: ``Subtask 1.1.1: Title (2 hrs)``."""

    number: str | None = None
    title: str
    hours: float | None = None
    hours_raw: str | None = None
    line: int = 0


class Story(Node, frozen=True, kw_only=True):
    """A user story with its estimate, dependencies, criteria, tasks and subtasks."""

    id: str
    title: str = ""
    heading: str = ""
    number: str | None = None
    epic_id: str | None = None
    points: int | None = None
    points_raw: str | None = None
    points_line: Annotated[int, Meta(description="Line of the estimate, when written.")] = 0
    priority: str | None = None
    # Written out only when the story has them (backlog.serialize.OMITTED_WHEN_UNSET), so
    # a backlog without them reads out as before.
    labels: Annotated[
        tuple[str, ...],
        Meta(description="Team labels from a ``**Labels:**`` field, as written (comma-separated)."),
    ] = ()
    assignee: Annotated[
        str | None,
        Meta(description="Who the story is assigned to (``**Assignee:**``), as written."),
    ] = None
    dependencies_raw: str | None = None
    dependencies: tuple[Dependency, ...] = ()
    user_story: UserStory | None = None
    acceptance_criteria: AcceptanceCriteria | None = None
    tasks: tuple[Task, ...] = ()
    subtasks: tuple[Subtask, ...] = ()
    suppressions: Annotated[
        tuple[str, ...], Meta(description="Rule ids or id prefixes silenced by an inline comment.")
    ] = ()
    line: int = 0
    end_line: int = 0

    @property
    def task_hours(self) -> float:
        return sum(task.hours or 0 for task in self.tasks)

    @property
    def subtask_hours(self) -> float:
        return sum(subtask.hours or 0 for subtask in self.subtasks)

    @property
    def story_dependency_ids(self) -> tuple[str, ...]:
        """Story ids this story depends on, explicit or resolved from phrases."""
        ids: list[str] = []
        for dep in self.dependencies:
            if dep.kind == "story" and dep.target:
                ids.append(dep.target)
            ids.extend(dep.resolved)
        return tuple(dict.fromkeys(ids))


class Epic(Node, frozen=True, kw_only=True):
    """An epic and its stories."""

    id: str
    name: str = ""
    heading: str = ""
    number: int | None = None
    business_value: str | None = None
    timeline: str | None = None
    points: int | None = None
    points_raw: str | None = None
    acceptance_criteria: tuple[ChecklistItem, ...] = ()
    stories: tuple[Story, ...] = ()
    line: int = 0
    end_line: int = 0

    @property
    def story_points_sum(self) -> int:
        return sum(story.points or 0 for story in self.stories)


# --- team and planning ----------------------------------------------------------------------


class TeamRole(Node, frozen=True, kw_only=True):
    """One row of the team capacity table."""

    name: str
    availability_pct: float | None = None
    weekly_hours: float | None = None
    sprint_hours: float | None = None
    line: int = 0

    @property
    def key(self) -> str:
        """Short, case-folded name used to match task roles ("DevOps Engineer" -> "devops")."""
        return role_key(self.name)


class Team(Node, frozen=True, kw_only=True):
    roles: tuple[TeamRole, ...] = ()
    stated_weekly_hours: float | None = None
    stated_sprint_hours: float | None = None
    velocity_capacity_raw: str | None = None
    line: int = 0

    def role(self, name: str) -> TeamRole | None:
        """The team role a task's role label refers to ("Backend" -> "Backend Developer")."""
        key = role_key(name)
        for role in self.roles:
            if role.key == key:
                return role
        return None


class SprintTaskLine(Node, frozen=True, kw_only=True):
    """A task line listed under a committed story in the sprint plan."""

    title: str
    hours: float | None = None
    roles: tuple[str, ...] = ()
    line: int = 0


class SprintCommitment(Node, frozen=True, kw_only=True):
    """A committed story in a sprint, as the sprint plan lists it."""

    story_id: str
    title: str = ""
    points: int | None = None
    roles: tuple[str, ...] = ()
    continued: bool = False
    tasks: tuple[SprintTaskLine, ...] = ()
    stated_total_hours: float | None = None
    line: int = 0


class BufferItem(Node, frozen=True, kw_only=True):
    """A non-story item in a sprint that takes points ("Buffer for Story Spillover (70 pts)")."""

    title: str
    points: int | None = None
    line: int = 0


class CapacityCheckLine(Node, frozen=True, kw_only=True):
    """One line of a sprint's "Sprint Capacity Check": ``DevOps: 30 + 4 = **34 hrs**``."""

    role: str
    addends: tuple[float, ...] = ()
    stated_total: float | None = None
    limit: float | None = None
    line: int = 0


class Sprint(Node, frozen=True, kw_only=True):
    number: int
    name: str = ""
    weeks: str | None = None
    goal: str | None = None
    capacity_points: int | None = None
    velocity_actual: int | None = None
    overview_points: Annotated[
        int | None, Meta(description="Story points given for the sprint in the overview table.")
    ] = None
    overview_line: Annotated[
        int, Meta(description="Line of the sprint's row in the overview table (0: no row).")
    ] = 0
    committed: tuple[SprintCommitment, ...] = ()
    buffer_items: tuple[BufferItem, ...] = ()
    capacity_check: tuple[CapacityCheckLine, ...] = ()
    notes: tuple[str, ...] = ()
    line: int = 0
    end_line: int = 0

    @property
    def id(self) -> str:
        return f"sprint-{self.number}"

    @property
    def committed_story_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(item.story_id for item in self.committed))


class EstimationBand(Node, frozen=True, kw_only=True):
    """A row of the estimation poker guide: points -> hour range and complexity."""

    points: int
    size: Annotated[str | None, Meta(description="T-shirt size of the row (S, M, L ...).")] = None
    hours_min: float | None = None
    hours_max: float | None = None
    complexity: str | None = None
    examples: str | None = None
    line: int = 0


class VelocityRecord(Node, frozen=True, kw_only=True):
    sprint: str
    planned: int | None = None
    completed: int | None = None
    velocity: int | None = None
    completion_rate_pct: float | None = None
    line: int = 0


class DependencyRow(Node, frozen=True, kw_only=True):
    """A row of the dependency matrix."""

    story_id: str
    label: str | None = None
    depends_on_raw: str = ""
    depends_on: tuple[Dependency, ...] = ()
    blocks: tuple[str, ...] = ()
    notes: str | None = None
    line: int = 0


class Risk(Node, frozen=True, kw_only=True):
    number: int | None = None
    title: str
    probability: str | None = None
    impact: str | None = None
    mitigations: tuple[str, ...] = ()
    line: int = 0


class Section(Node, frozen=True, kw_only=True):
    """A section the parser does not interpret, kept verbatim so nothing is lost."""

    heading: str
    level: int
    text: str = ""
    line: int = 0
    end_line: int = 0


class UnreadBlock(Node, frozen=True, kw_only=True):
    """Lines of the document the reader did not understand (reported, never dropped silently).

    ``what`` names the block (``table``, ``paragraph``, ``list``, ``section``...) and
    ``context`` where it sits (``under "MVP Scope"``, ``in story US-01``).
    """

    line: int
    end_line: int
    what: str
    context: str = ""
    lines: Annotated[int, Meta(description="Non-blank lines in the range.")] = 0


ReaderNoteKind = Literal["generated-id", "unread-column"]


class ReaderNote(Node, frozen=True, kw_only=True):
    """Something the reader had to guess or could not read about one item (a warning).

    ``generated-id``: ``item`` is the story whose id was made up; ``unread-column``: ``item``
    is the header of a story table column whose cells are not read.
    """

    kind: ReaderNoteKind
    item: str
    message: str
    line: int = 0


# --- the whole backlog ----------------------------------------------------------------------


class Backlog(Node, frozen=True, kw_only=True):
    schema_version: int = SCHEMA_VERSION
    title: str = ""
    source: str | None = None
    metadata: Annotated[
        dict[str, str], Meta(description="Bold label/value pairs at the top of the document.")
    ] = msgspec.field(default_factory=dict)
    declared_total_points: int | None = None
    declared_total_points_line: int = 0
    team: Team = msgspec.field(default_factory=Team)
    epics: tuple[Epic, ...] = ()
    sprints: tuple[Sprint, ...] = ()
    sprint_overview_total_points: int | None = None
    sprint_overview_total_line: int = 0
    definition_of_ready: Definition | None = None
    definition_of_done: Definition | None = None
    estimation_guide: tuple[EstimationBand, ...] = ()
    velocity_history: tuple[VelocityRecord, ...] = ()
    dependency_matrix: tuple[DependencyRow, ...] = ()
    risks: tuple[Risk, ...] = ()
    other_sections: tuple[Section, ...] = ()
    unread: tuple[UnreadBlock, ...] = ()
    reader_notes: tuple[ReaderNote, ...] = ()

    @property
    def stories(self) -> tuple[Story, ...]:
        return tuple(story for epic in self.epics for story in epic.stories)

    def iter_stories(self) -> Iterator[Story]:
        for epic in self.epics:
            yield from epic.stories

    def story(self, story_id: str) -> Story | None:
        for story in self.iter_stories():
            if story.id == story_id:
                return story
        return None

    def stories_by_id(self) -> dict[str, Story]:
        return {story.id: story for story in self.iter_stories()}

    def epic(self, epic_id: str) -> Epic | None:
        return next((epic for epic in self.epics if epic.id == epic_id), None)

    def sprint_of(self) -> dict[str, int]:
        """Story id -> number of the first sprint that commits it (continuations ignored)."""
        planned: dict[str, int] = {}
        for sprint in self.sprints:
            for item in sprint.committed:
                if not item.continued:
                    planned.setdefault(item.story_id, sprint.number)
        return planned


_SIZES = {
    "xxs": "XXS", "xs": "XS", "extra small": "XS", "s": "S", "small": "S", "m": "M",
    "medium": "M", "l": "L", "large": "L", "xl": "XL", "xlarge": "XL", "x-large": "XL",
    "extra large": "XL", "xxl": "XXL", "xxlarge": "XXL",
}  # fmt: skip


def tshirt_size(raw: str | None) -> str | None:
    """``Small``, ``s``, ``XLarge`` -> ``S``, ``S``, ``XL``; None when it is not a T-shirt size."""
    if not raw:
        return None
    return _SIZES.get(" ".join(raw.strip(" *_()").casefold().split()))


_PLACEHOLDERS = frozenset(
    {"tbd", "tbc", "tba", "?", "??", "???", "-", "–", "—", "n/a", "na", "none", "unknown",
     "todo", "not estimated", "unestimated", "pending"}
)  # fmt: skip


def is_placeholder(raw: str | None) -> bool:
    """``TBD``, ``?``, ``N/A``: the team says the story is not estimated yet."""
    return bool(raw) and " ".join((raw or "").strip(" *_.()").casefold().split()) in _PLACEHOLDERS


def role_key(name: str) -> str:
    """Normalise a role label for matching: first word, case-folded ("Backend Developer")."""
    words = name.strip().split()
    return words[0].casefold() if words else ""
