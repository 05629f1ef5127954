"""Whole-document placement of stories found outside story sections.

Story sections are read where they stand; everything else is gathered while walking the
document and placed here, once every story section is known:

- list-item and YAML stories join their epic (or the stories outside any epic); one that
  repeats the id of a story section is a copy (a template, a summary) and is not read;
- table rows fill the fields a story section leaves out (the section wins), or become stories
  of their own when no section describes them; rows under a sprint commit their stories;
- a story's ``Epic:`` field moves it into that epic; its ``Sprint:`` field commits it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backlog.markdown.blocks import Block
from backlog.markdown.epic import EpicDraft
from backlog.markdown.harvest import (
    StoryRow,
    epic_reference,
    merge_row,
    row_story,
    sprint_number,
)
from backlog.markdown.story import StoryDraft
from backlog.model import Sprint, SprintCommitment


@dataclass
class Gathered:
    """What the walk found outside story sections, in document order."""

    stories: list[tuple[StoryDraft, EpicDraft | None, Block]] = field(default_factory=list)
    rows: list[tuple[StoryRow, EpicDraft | None, int | None]] = field(default_factory=list)
    epics: list[EpicDraft] = field(default_factory=list)
    repeated: list[tuple[Block, str]] = field(default_factory=list)


def place(
    gathered: Gathered,
    epics: list[EpicDraft],
    loose: list[StoryDraft],
    sprints: dict[int, Sprint],
) -> None:
    """Put gathered stories, rows, epics and sprint fields into the drafts (in place)."""
    known_epics = {epic.id for epic in epics}
    for listed in gathered.epics:
        if listed.id not in known_epics:
            epics.append(listed)
            known_epics.add(listed.id)
    by_id = {story.id: story for epic in epics for story in epic.stories}
    by_id.update((story.id, story) for story in loose)
    from_sections = set(by_id)
    for draft, home, block in gathered.stories:
        if draft.id in from_sections:
            gathered.repeated.append((block, draft.id))
            continue
        same = by_id.get(draft.id)
        if same is not None:
            _merge(same, draft)
            continue
        by_id[draft.id] = draft
        _add(draft, home, loose)
    commits: dict[int, list[tuple[str, str, int]]] = {}
    for row, row_epic, sprint in gathered.rows:
        story = by_id.get(row.id)
        if story is None:
            story = by_id[row.id] = row_story(row)
            _add(story, row_epic, loose)
        else:
            merge_row(story, row)
        if sprint is not None:
            commits.setdefault(sprint, []).append((row.id, story.title, row.line))
    _follow_epic_fields(epics, loose)
    for story in by_id.values():
        number = sprint_number(story.fields.get("sprint", ""))
        if number is not None:
            commits.setdefault(number, []).append((story.id, story.title, story.line))
    _commit(commits, sprints)
    loose.sort(key=lambda story: story.line)


def _add(draft: StoryDraft, epic: EpicDraft | None, loose: list[StoryDraft]) -> None:
    if epic is None:
        loose.append(draft)
    else:
        draft.epic_id = epic.id
        epic.stories.append(draft)


def _merge(into: StoryDraft, other: StoryDraft) -> None:
    """Two gathered parts of one story (``- US-005 — ...`` and its YAML block)."""
    if other.fields.get("title") and not into.fields.get("title"):
        into.title = other.title  # a written title beats one made from the sentence
    for key, value in other.fields.items():
        into.fields.setdefault(key, value)
    into.user_story = into.user_story or other.user_story
    into.acceptance = into.acceptance or other.acceptance
    into.end_line = max(into.end_line, other.end_line)
    if not into.dependencies:
        into.dependencies = other.dependencies


def _follow_epic_fields(epics: list[EpicDraft], loose: list[StoryDraft]) -> None:
    """Stories whose ``Epic:`` field names a known epic move into it."""
    named = {epic.id: epic for epic in epics}
    numbered: dict[int, EpicDraft] = {}
    for epic in epics:
        if epic.number is not None:
            numbered.setdefault(epic.number, epic)
    for holder in [None, *epics]:
        stories = loose if holder is None else holder.stories
        for story in list(stories):
            target_id = epic_reference(story.fields.get("epic", ""))
            if target_id is None:
                continue
            target = named.get(target_id) or numbered.get(int(target_id.split("-")[1]))
            if target is None or target is holder:
                continue
            stories.remove(story)
            story.epic_id = target.id
            target.stories.append(story)
    for epic in epics:
        epic.stories.sort(key=lambda story: story.line)


def _commit(commits: dict[int, list[tuple[str, str, int]]], sprints: dict[int, Sprint]) -> None:
    for number, items in sorted(commits.items()):
        sprint = sprints.get(number) or Sprint(
            number=number, name=f"Sprint {number}", line=items[0][2], end_line=items[0][2]
        )
        have = {item.story_id for item in sprint.committed}
        added: list[SprintCommitment] = []
        for story_id, title, line in items:
            if story_id not in have:
                have.add(story_id)
                added.append(SprintCommitment(story_id=story_id, title=title, line=line))
        if added:
            sprint = sprint.replace(committed=(*sprint.committed, *added))
        sprints[number] = sprint
