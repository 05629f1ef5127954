"""The last step of the Markdown reader: from the drafts gathered by the walk to the model.

Gathered stories, rows and fields are placed (:mod:`backlog.markdown.assemble`), the same epic
written twice becomes one, stories without an id get a reader note, duplicate ids are refused,
dependencies are resolved now that every story is known, and what was not understood becomes
:class:`backlog.model.UnreadBlock` records.
"""

from __future__ import annotations

import re

from backlog.errors import DuplicateIdError
from backlog.markdown.assemble import place
from backlog.markdown.epic import EpicDraft, epic_points
from backlog.markdown.fields import is_none_word, parse_int, parse_labels
from backlog.markdown.finish import resolve_all
from backlog.markdown.state import ReadState
from backlog.markdown.story import StoryDraft
from backlog.model import (
    Backlog,
    Dependency,
    Epic,
    ReaderNote,
    Sprint,
    Story,
    Team,
    UnreadBlock,
    tshirt_size,
)

UNASSIGNED_EPIC = "NO-EPIC"
# Compiled once here: re's own cache lookup costs a call per story.
_POINTS_VALUE = re.compile(r"\s*(\d{1,6})\s*(?:pts?|points?|sp)?\.?\s*", re.IGNORECASE)


def build_backlog(reader: ReadState) -> Backlog:
    place(reader.gathered, reader.epics, reader.loose_stories, reader.sprints)
    for block, story_id in reader.gathered.repeated:
        reader.not_read(block, f"repeats story {story_id}")
    _merge_epics(reader)
    for story in sorted(
        (story for epic in reader.epics for story in epic.stories), key=lambda s: s.line
    ):
        if story.generated_id:
            reader.notes.append(_generated_note(story))
    for story in reader.loose_stories:
        if story.generated_id:
            reader.notes.append(_generated_note(story))
    reader.notes.sort(key=lambda note: note.line)
    if reader.loose_stories:
        loose = EpicDraft(
            id=UNASSIGNED_EPIC,
            name="Stories outside any epic",
            heading="",
            number=None,
            line=reader.loose_stories[0].line,
            end_line=reader.loose_stories[-1].end_line,
        )
        loose.stories = reader.loose_stories
        for story in loose.stories:
            story.epic_id = None
        reader.epics.append(loose)
    _refuse_repeated_ids(reader)
    order = [story for epic in reader.epics for story in epic.stories]
    epic_stories = {epic.id: [s.id for s in epic.stories] for epic in reader.epics}
    epics: list[Epic] = []
    position = {story.id: index for index, story in enumerate(order)}
    sizes = {band.size: band.points for band in reader.estimation if band.size}
    for epic in reader.epics:
        stories = tuple(
            _story(
                story,
                resolve_all(
                    story.dependencies,
                    story.id,
                    order,
                    position,
                    epic_stories,
                    epic.id,
                    reader.epics,
                ),
                sizes,
            )
            for story in epic.stories
        )
        points, points_raw = epic_points(epic)
        epics.append(
            Epic(
                id=epic.id,
                name=epic.name,
                heading=epic.heading,
                number=epic.number,
                business_value=epic.fields.get("business_value"),
                timeline=epic.fields.get("timeline"),
                points=points,
                points_raw=points_raw,
                acceptance_criteria=epic.acceptance,
                stories=stories,
                line=epic.line,
                end_line=epic.end_line,
            )
        )
    story_epic = {s.id: e.id for e in reader.epics for s in e.stories}
    matrix = tuple(
        row.replace(
            depends_on=resolve_all(
                list(row.depends_on),
                row.story_id,
                order,
                position,
                epic_stories,
                story_epic.get(row.story_id),
                reader.epics,
            )
        )
        for row in reader.matrix
    )
    total_label = _metadata_total_label(reader.metadata)
    declared_total = parse_int(reader.metadata[total_label]) if total_label else None
    return Backlog(
        title=reader.title,
        source=reader.source,
        metadata=reader.metadata,
        declared_total_points=declared_total,
        declared_total_points_line=(
            reader.metadata_lines[total_label] if declared_total is not None and total_label else 0
        ),
        team=reader.team or Team(),
        epics=tuple(epics),
        sprints=_sprints(reader),
        sprint_overview_total_points=reader.overview_total,
        sprint_overview_total_line=reader.overview_total_line,
        definition_of_ready=reader.dor,
        definition_of_done=reader.dod,
        estimation_guide=tuple(reader.estimation),
        velocity_history=tuple(reader.velocity),
        dependency_matrix=matrix,
        risks=tuple(reader.risks),
        other_sections=tuple(reader.others),
        unread=_unread(reader),
        reader_notes=tuple(reader.notes),
    )


def _unread(reader: ReadState) -> tuple[UnreadBlock, ...]:
    found = list(reader.unread)
    for section in reader.others:
        lines = sum(1 for text in reader.lines[section.line - 1 : section.end_line] if text.strip())
        if lines <= 1:
            continue  # a heading with nothing under it: nothing is lost
        found.append(
            UnreadBlock(
                line=section.line,
                end_line=section.end_line,
                what="section",
                context=f'"{section.heading}"',
                lines=lines,
            )
        )
    found.sort(key=lambda item: item.line)
    return tuple(found)


def _merge_epics(reader: ReadState) -> None:
    """The same epic twice (an overview, then its stories): one epic if the names agree."""
    merged: list[EpicDraft] = []
    seen: dict[str, EpicDraft] = {}
    for epic in reader.epics:
        first = seen.get(epic.id)
        if first is not None and first.name.casefold() == epic.name.casefold():
            first.stories.extend(epic.stories)
            for story in epic.stories:
                story.epic_id = first.id
            for key, value in epic.fields.items():
                first.fields.setdefault(key, value)
            continue
        seen.setdefault(epic.id, epic)
        merged.append(epic)
    reader.epics = merged


def _sprints(reader: ReadState) -> tuple[Sprint, ...]:
    sprints = dict(reader.sprints)
    for number, (points, stub) in reader.overview.items():
        if number in sprints:
            sprints[number] = sprints[number].replace(
                overview_points=points, overview_line=stub.overview_line
            )
        else:
            sprints[number] = stub
    return tuple(sprints[number] for number in sorted(sprints))


def _refuse_repeated_ids(reader: ReadState) -> None:
    seen: dict[str, int] = {}
    for epic in reader.epics:
        if epic.id in seen and epic.id != UNASSIGNED_EPIC:
            raise DuplicateIdError(
                f"duplicate epic id {epic.id}: also defined at line {seen[epic.id]}",
                file=reader.source,
                line=epic.line,
            )
        seen[epic.id] = epic.line
    seen = {}
    for epic in reader.epics:
        for story in epic.stories:
            if story.id in seen:
                raise DuplicateIdError(
                    f"duplicate story id {story.id}: first defined at line "
                    f"{seen[story.id]}, again at line {story.line}; give each story its "
                    "own id",
                    file=reader.source,
                    line=story.line,
                )
            seen[story.id] = story.line


def _generated_note(draft: StoryDraft) -> ReaderNote:
    return ReaderNote(
        kind="generated-id",
        item=draft.id,
        message=f"story {draft.heading or draft.title!r} has no id; using the generated id "
        f"{draft.id} (run 'backlog-bot fix --add-ids' to write ids into the file)",
        line=draft.line,
    )


def _metadata_total_label(metadata: dict[str, str]) -> str | None:
    """The label of the document's declared total points (``Total Story Points``), if any."""
    for label in metadata:
        folded = label.casefold()
        if "total" in folded and "point" in folded:
            return label
    return None


def _story(draft: StoryDraft, dependencies: tuple[Dependency, ...], sizes: dict[str, int]) -> Story:
    points_raw = draft.fields.get("points")
    points = _points(points_raw)
    if points is None and sizes:  # a T-shirt size the estimation guide gives points for
        points = sizes.get(tshirt_size(points_raw) or "")
    return Story(
        id=draft.id,
        title=draft.title,
        heading=draft.heading,
        number=draft.number,
        epic_id=draft.epic_id,
        points=points,
        points_raw=points_raw,
        points_line=draft.field_lines.get("points", 0),
        priority=draft.fields.get("priority"),
        labels=parse_labels(draft.fields.get("labels")),
        assignee=_assignee(draft.fields.get("assignee")),
        dependencies_raw=draft.fields.get("dependencies"),
        dependencies=dependencies,
        user_story=draft.user_story,
        acceptance_criteria=draft.acceptance,
        tasks=tuple(draft.tasks),
        subtasks=tuple(draft.subtasks),
        suppressions=tuple(dict.fromkeys(draft.suppressions)),
        line=draft.line,
        end_line=draft.end_line,
    )


def _assignee(raw: str | None) -> str | None:
    """``**Assignee:** Bob`` -> ``Bob``; ``None``, ``-`` or nothing -> no assignee."""
    text = " ".join((raw or "").split()).strip("*_` ")
    return None if is_none_word(text) else text


def _points(raw: str | None) -> int | None:
    """``21`` or ``21 points`` -> 21; ``TBD``, ``?``, ``2.5`` -> None (kept raw)."""
    if raw is None:
        return None
    match = _POINTS_VALUE.fullmatch(raw)
    return int(match.group(1)) if match else None
