"""Whole-document steps of the Markdown parser: dependency resolution, truncation checks.

Dependencies such as "All previous stories" or "EPIC-001 completed" can only be resolved once
every story is known; a document cut off mid-story is recognised once its structure is.
"""

from __future__ import annotations

from backlog.errors import BadInputError
from backlog.markdown.blocks import HeadingSection
from backlog.markdown.epic import EpicDraft
from backlog.markdown.fields import STORY_ID
from backlog.markdown.story import StoryDraft
from backlog.model import Dependency, Subtask, Task


def resolve_all(
    deps: list[Dependency],
    story_id: str,
    order: list[StoryDraft],
    position: dict[str, int],
    epic_stories: dict[str, list[str]],
    epic_id: str | None,
    epics: list[EpicDraft],
) -> tuple[Dependency, ...]:
    """Fill ``resolved`` for epic dependencies and phrases such as "All previous stories"."""
    result: list[Dependency] = []
    for dep in deps:
        resolved: tuple[str, ...] = ()
        if dep.kind == "epic" and dep.target:
            resolved = tuple(epic_stories.get(dep.target, ()))
        elif dep.kind == "phrase":
            text = dep.raw.casefold()
            here = position.get(story_id)
            if "previous" in text and "epic" in text:
                ids: list[str] = []
                for epic in epics:
                    if epic.id == epic_id:
                        break
                    ids.extend(story.id for story in epic.stories)
                resolved = tuple(ids)
            elif "previous" in text and "stor" in text and here is not None:
                resolved = tuple(story.id for story in order[:here])
            else:
                resolved = tuple(m.group(1) for m in STORY_ID.finditer(dep.raw))
        result.append(dep.replace(resolved=resolved) if resolved else dep)
    return tuple(result)


def check_complete(
    epics: list[EpicDraft], lines: list[str], top: HeadingSection, text: str, source: str | None
) -> None:
    """Reject documents that end mid-story: an unclosed fence or a label with nothing after."""
    for section in _walk(top):
        for block in section.blocks:
            if block.kind == "fence" and not block.closed:
                raise BadInputError(
                    "code fence opened here is never closed (is the document truncated?); "
                    "close it with ```",
                    file=source,
                    line=block.line,
                )
    last_story = _last_story(epics)
    if last_story is None:
        return
    total_lines = len(lines) - 1 if text.endswith("\n") else len(lines)
    if last_story.end_line < total_lines and text.endswith("\n"):
        return
    if last_story.dangling_label is not None and last_story.end_line >= total_lines - 1:
        label = last_story.dangling_label
        raise BadInputError(
            f"story {last_story.id}: '{label.label}:' has nothing after it "
            "(is the document truncated?)",
            file=source,
            line=label.line,
        )
    if not text.endswith("\n") and last_story.end_line >= total_lines:
        last = lines[-1]
        items: list[Task | Subtask] = [*last_story.tasks, *last_story.subtasks]
        cut_item = any(item.line == total_lines and item.hours is None for item in items)
        unbalanced = last.count("(") != last.count(")") or last.count("**") % 2
        if cut_item or unbalanced or last.count("`") % 2:
            raise BadInputError(
                f"story {last_story.id} ends in an unfinished line (is the document truncated?)",
                file=source,
                line=total_lines,
            )


def _last_story(epics: list[EpicDraft]) -> StoryDraft | None:
    stories = [story for epic in epics for story in epic.stories]
    return max(stories, key=lambda story: story.line, default=None)


def _walk(section: HeadingSection) -> list[HeadingSection]:
    found = [section]
    for child in section.children:
        found.extend(_walk(child))
    return found
