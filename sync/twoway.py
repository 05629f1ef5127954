"""Two-way sync of stories: the file, the tracker's live state and the merge base, per field.

A ``DriftSource`` (one per target: ``sync.jira.drift``, ``sync.github.drift``) knows how a
story's fields look on its tracker: the values the file implies (``file_values``), the values
the tracker holds now (``live``, read in batches), how a tracker value is written back into the
Markdown (``edit``), and how a story is made to carry the tracker's value so that ``apply``
leaves that field alone (``adopt``). ``compare`` turns the three sides into ``FieldMerge``s
(``sync.merge``); ``Drift`` sorts them into what to push, pull, leave alone and report.
``story_edit`` and ``adopt_value`` are the ``edit`` and ``adopt`` both trackers share: they
differ only in how a tracker's priority reads in the backlog (``priority_word``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from backlog.edit import FieldEdit, read_fields
from backlog.model import Backlog, Dependency, Sprint, SprintCommitment, Story
from sync.issue_text import SEPARATOR
from sync.merge import FieldMerge, ticks

INITIAL_STATUSES = frozenset({"to do", "todo", "open", "backlog", "new"})


@dataclass(frozen=True)
class LiveItem:
    """One linked story as its tracker holds it now."""

    backlog_id: str
    key: str
    values: Mapping[str, Any]
    changed_by: str | None = None  # who last changed the item, when only that is known
    authors: Mapping[str, str] = field(default_factory=dict)  # field -> who changed it last
    # fields whose tracker value means the file's but is not written the way the mapping
    # writes it (a summary without its "US-001 · " prefix): apply still rewrites them
    untidy: frozenset[str] = frozenset()
    # what apply last pushed of a field, as the link records remember it (the dependencies
    # it linked): the merge base of a field that has none recorded yet (``sync.merge``)
    pushed: Mapping[str, Any] = field(default_factory=dict)


class DriftSource(Protocol):
    target: str
    fields: tuple[str, ...]

    def file_values(self, story: Story, written: Mapping[str, str]) -> dict[str, Any]:
        """The story's values as the tracker would hold them; ``written``: its field lines
        as written (``status`` ...) and ``sprint``, its sprint in the plan (``Sprint 2``)."""
        ...

    def live(self) -> dict[str, LiveItem]: ...

    def edit(self, story: Story, name: str, value: Any) -> FieldEdit | None: ...

    def adopt(self, story: Story, name: str, value: Any) -> Story: ...

    def who_changed(self, wanted: Collection[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Who changed these (backlog id, field)s on the tracker, where ``live`` did not say
        and the tracker can tell (read only when a tracker-side change needs a name)."""
        ...


@dataclass
class Drift:
    """Every differing field of every linked story, with the policy's decision."""

    target: str
    merges: list[FieldMerge] = field(default_factory=list)
    agreed: list[FieldMerge] = field(default_factory=list)  # same on both sides
    keys: dict[str, str] = field(default_factory=dict)  # backlog id -> tracker key
    untidy: set[tuple[str, str]] = field(default_factory=set)  # (item, field), see LiveItem
    policy: str = "report"

    def by_action(self, action: str) -> list[FieldMerge]:
        return [m for m in self.merges if m.action(self.policy) == action]

    @property
    def conflicts(self) -> list[FieldMerge]:
        return self.by_action("conflict")

    @property
    def to_pull(self) -> list[FieldMerge]:
        return self.by_action("pull")

    @property
    def to_push(self) -> list[FieldMerge]:
        return self.by_action("push")

    def left_alone(self) -> list[FieldMerge]:
        """What ``apply`` must not overwrite: tracker-side changes and unresolved conflicts."""
        return [m for m in self.merges if m.action(self.policy) in ("pull", "conflict")]


def compare(
    source: DriftSource,
    backlog: Backlog,
    text: str,
    base: Mapping[tuple[str, str], Any],
    live: Mapping[str, LiveItem],
    *,
    policy: str = "report",
) -> Drift:
    """The per-field comparison of the file, the tracker and the base for linked stories."""
    drift = Drift(source.target, policy=policy)
    lines = text.splitlines(keepends=True)  # once: read_fields looks at a few lines per story
    sprint_of = backlog.sprint_of()
    for story in backlog.iter_stories():
        item = live.get(story.id)
        if item is None:
            continue
        drift.keys[story.id] = item.key
        drift.untidy.update((story.id, name) for name in item.untidy)
        mine = source.file_values(story, written_fields(lines, story, sprint_of))
        for name in source.fields:
            if name not in item.values or name not in mine:
                continue  # a field one side does not hold is not two-way for this story
            has_base = (story.id, name) in base
            known = base.get((story.id, name))
            if not has_base and name in item.pushed:
                has_base, known = True, item.pushed[name]  # see LiveItem.pushed
            if name == "criteria" and not ticks(mine[name]).keys() & ticks(item.values[name]):
                continue  # no item on both sides: nothing of it is two-way
            merge = FieldMerge(
                source.target,
                story.id,
                name,
                known,
                mine.get(name),
                item.values[name],
                has_base=has_base,
                changed_by=item.authors.get(name, item.changed_by),
            )
            if merge.origin == "same" or is_untouched_status(merge):
                drift.agreed.append(merge)
            else:
                drift.merges.append(merge)
    unnamed = [
        (m.item, m.field)
        for m in drift.merges
        if m.changed_by is None and m.origin in ("tracker", "both")
    ]
    if unnamed:
        found = source.who_changed(unnamed)
        drift.merges = [
            replace(m, changed_by=found.get((m.item, m.field), m.changed_by)) for m in drift.merges
        ]
    return drift


def criteria_ticks(story: Story) -> tuple[tuple[str, bool], ...]:
    """The story's acceptance criteria checklist as (text, ticked) pairs."""
    criteria = story.acceptance_criteria
    items = criteria.checklist if criteria is not None else ()
    return tuple((" ".join(item.text.split()), item.checked) for item in items)


def written_fields(lines: list[str], story: Story, sprint_of: Mapping[str, int]) -> dict[str, str]:
    """The story's field lines as written, and ``sprint``: its sprint in the sprint plan
    (``Sprint 2``), what ``DriftSource.file_values`` reads."""
    written = read_fields(lines, story)
    if story.id in sprint_of:
        written["sprint"] = f"Sprint {sprint_of[story.id]}"
    return written


def is_untouched_status(merge: FieldMerge) -> bool:
    """A status the file never wrote, still at the workflow's first step: nothing to pull."""
    return (
        merge.field == "status"
        and merge.base in (None, "")
        and merge.file in (None, "")
        and str(merge.tracker or "").casefold() in INITIAL_STATUSES
    )


def adopt_tracker_values(
    source: DriftSource, backlog: Backlog, merges: Iterable[FieldMerge]
) -> Backlog:
    """``backlog`` with the tracker's value in each field of ``merges`` (apply then sees no
    difference there and leaves the tracker's change alone)."""
    chosen: dict[str, list[FieldMerge]] = {}
    for merge in merges:
        chosen.setdefault(merge.item, []).append(merge)
    if not chosen:
        return backlog
    # a story whose epic changed on the tracker joins that epic (one the file has)
    known = {epic.id for epic in backlog.epics}
    regroup = {
        m.item: str(m.tracker)
        for ms in chosen.values()
        for m in ms
        if m.field == "epic" and m.tracker in known
    }
    grouped: dict[str, list[Story]] = {epic.id: [] for epic in backlog.epics}
    for epic in backlog.epics:
        for story in epic.stories:
            for merge in chosen.get(story.id, []):
                story = source.adopt(story, merge.field, merge.tracker)
            home = regroup.get(story.id, epic.id)
            if home != epic.id:
                story = story.replace(epic_id=home)
            grouped[home].append(story)
    epics = [epic.replace(stories=tuple(grouped[epic.id])) for epic in backlog.epics]
    moved = {
        m.item: sprint_number(m.tracker)
        for ms in chosen.values()
        for m in ms
        if m.field == "sprint"
    }
    sprints = tuple(_recommit(sprint, moved) for sprint in backlog.sprints)
    return backlog.replace(epics=tuple(epics), sprints=sprints)


SPRINT_NAME = re.compile(r"^\s*sprint\s+(\d+)\b", re.IGNORECASE)


def sprint_edit(story: Story, value: Any) -> FieldEdit | None:
    """The sprint plan's edit for a tracker sprint: committed to sprint N (``Sprint N``), or
    to none; None for a sprint the plan cannot name."""
    if value in (None, ""):
        return FieldEdit(story.id, "sprint", "")
    number = sprint_number(value)
    return FieldEdit(story.id, "sprint", str(number)) if number is not None else None


def sprint_number(value: Any) -> int | None:
    """``Sprint 2`` (a tracker's sprint, board option or iteration) -> 2."""
    match = SPRINT_NAME.match(str(value or ""))
    return int(match.group(1)) if match else None


def _recommit(sprint: Sprint, moved: Mapping[str, int | None]) -> Sprint:
    """``sprint`` with the stories the tracker moved out of it dropped and those it moved
    into it committed."""
    if not moved:
        return sprint
    kept = [c for c in sprint.committed if c.continued or c.story_id not in moved]
    kept += [
        SprintCommitment(story_id=story_id)
        for story_id, number in moved.items()
        if number == sprint.number
    ]
    return sprint.replace(committed=tuple(kept))


def untidy_title(backlog_id: str, title: str | None) -> frozenset[str]:
    """``{"title"}`` when the tracker's title lacks the mapping's ``US-001 · `` prefix."""
    return frozenset() if (title or "").startswith(backlog_id + SEPARATOR) else frozenset({"title"})


def story_edit(
    story: Story, name: str, value: Any, priority_word: Callable[[str], str] = str
) -> FieldEdit | None:
    """The Markdown edit that writes a tracker's ``value`` of field ``name`` into ``story``: the
    title without its ``US-001 · `` prefix into the heading, points as a whole number when
    they are one, the priority as the backlog's word for it, the status as it is, the story
    sentence on its line, a sprint (or none) as the story's place in the sprint plan, labels
    in the file's order (new ones after them), ``None`` for no labels or no assignee."""
    if name == "sprint":
        return sprint_edit(story, value)
    if name == "dependencies":  # the ids, in the file's own style (``backlog.edit``)
        return FieldEdit(story.id, "dependencies", ", ".join(sorted(value or ())))
    if name == "epic":  # its ``**Epic:**`` line, else the story moves to that epic's section
        return FieldEdit(story.id, "epic", str(value or ""))
    if name == "labels":
        written = ", ".join(merged_labels(story.labels, value))
        return FieldEdit(story.id, "labels", written or "None")
    if name == "criteria":  # the ticks of the items the tracker has, by text
        return FieldEdit(story.id, "criteria", json.dumps(ticks(value), ensure_ascii=False))
    if name == "assignee":
        return FieldEdit(story.id, "assignee", str(value) if value else "None")
    if value is None:
        return None
    if name == "story":
        if story.user_story is None or not value:
            return None
        return FieldEdit(story.id, "story", " ".join(str(value).split()))
    if name == "title":
        return FieldEdit(story.id, "heading", str(value).removeprefix(story.id + SEPARATOR))
    if name == "points":
        number = float(value)
        return FieldEdit(story.id, "points", str(int(number) if number.is_integer() else value))
    if name == "priority":
        return FieldEdit(story.id, "priority", priority_word(str(value)))
    if name == "status":
        return FieldEdit(story.id, "status", str(value))
    return None


def adopt_value(
    story: Story, name: str, value: Any, priority_word: Callable[[str], str] = str
) -> Story:
    """``story`` carrying the tracker's ``value`` of field ``name`` (title, points, priority,
    story sentence, labels, assignee; the status is not part of what ``apply`` sends), so that
    ``apply`` leaves it alone."""
    if name == "title" and value:
        prefix = story.heading.split(":", 1)[0] + ": " if ":" in story.heading else ""
        title = str(value).removeprefix(story.id + SEPARATOR)
        return story.replace(heading=f"{prefix}{title}")
    if name == "points":
        points = int(float(value)) if value is not None else None
        return story.replace(points=points, points_raw=str(points))
    if name == "priority" and value:
        return story.replace(priority=priority_word(str(value)))
    if name == "labels":
        return story.replace(labels=merged_labels(story.labels, value))
    if name == "criteria" and story.acceptance_criteria is not None:
        wanted = ticks(value)
        criteria = story.acceptance_criteria
        items = tuple(
            item.replace(checked=wanted.get(" ".join(item.text.split()), item.checked))
            for item in criteria.checklist
        )
        return story.replace(acceptance_criteria=criteria.replace(checklist=items))
    if name == "assignee":
        return story.replace(assignee=str(value) if value else None)
    if name == "story" and value and story.user_story is not None:
        sentence = story.user_story.replace(text=" ".join(str(value).split()))
        return story.replace(user_story=sentence)
    return story  # a sprint is adopted by the sprint plan (``adopt_tracker_values``)


def dependency_targets(dep: Dependency, *, epic_stories: bool) -> tuple[str, ...]:
    """The backlog ids one dependency links as blockers: a story's or an epic's id, the ids a
    phrase resolves to; ``epic_stories``: an epic's stories too (GitHub links each of them,
    Jira the epic's issue alone)."""
    if dep.kind == "epic" and not epic_stories:
        return (dep.target,) if dep.target else ()
    return ((dep.target,) if dep.target else ()) + dep.resolved


def dependency_ids(story: Story, linked: Collection[str], *, epic_stories: bool) -> tuple[str, ...]:
    """The backlog ids the tracker links ``story`` as blocked by (``dependency_targets``),
    those the tracker has an issue for."""
    found = {
        target
        for dep in story.dependencies
        for target in dependency_targets(dep, epic_stories=epic_stories)
        if target != story.id and target in linked
    }
    return tuple(sorted(found))


def adopt_dependencies(
    story: Story, value: Any, linked: Collection[str], *, epic_stories: bool
) -> Story:
    """``story`` whose dependencies link exactly the tracker's ids ``value`` (the mapping then
    adds and removes no link). The written text (``dependencies_raw``), phrases (their note)
    and dependencies the tracker cannot hold (no issue yet) are kept, so that the issue's
    text stays what was pushed; an id only the tracker names becomes a story dependency."""
    wanted = set(value or ())

    def stays(target: str) -> bool:
        return target in wanted or target not in linked

    kept: list[Dependency] = []
    covered: set[str] = set()
    for dep in story.dependencies:
        targets = dependency_targets(dep, epic_stories=epic_stories)
        if all(stays(t) for t in targets):
            kept.append(dep)
        elif dep.kind == "phrase" or any(stays(t) for t in targets):
            target = dep.target if dep.target and stays(dep.target) else None
            resolved = tuple(t for t in dep.resolved if stays(t))
            dep = dep.replace(target=target, resolved=resolved)
            kept.append(dep)
        else:
            continue  # every issue it linked was unlinked on the tracker
        covered.update(dependency_targets(dep, epic_stories=epic_stories))
    kept += [
        Dependency(raw=target, kind="story", target=target)
        for target in sorted(wanted - covered)
        if target in linked  # a tracker key no backlog item has: nothing to link
    ]
    return story.replace(dependencies=tuple(kept))


def merged_labels(written: Iterable[str], tracker: Any) -> tuple[str, ...]:
    """The tracker's labels in the order the file writes them, the ones it adds after them
    (sorted): a pulled label list changes only what changed."""
    wanted = [str(label) for label in tracker or ()]
    kept = [label for label in written if label in wanted]
    return (*kept, *sorted(set(wanted) - set(kept)))
