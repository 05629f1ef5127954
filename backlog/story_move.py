"""Move a story's whole block to another epic of a Markdown backlog (``backlog.edit``).

A story whose epic is implied by the epic section it sits under changes epic by moving: its
block (the heading and every line up to the next story) goes to the end of the new epic's
stories. What separates stories (a blank line, a ``---`` rule) is not part of a story: the
block leaves the separator before it where it was and is put after the new epic's last story
with the separator that epic's stories use (else the one it had). Every other line is left
as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backlog.model import Backlog, Epic, Story

RULES = frozenset({"", "---", "***", "___", "- - -", "* * *"})


@dataclass(frozen=True)
class EpicMove:
    """Move story ``story_id`` to the end of epic ``epic_id``'s stories."""

    story_id: str
    epic_id: str


@dataclass
class _Block:
    start: int  # 0-based index of the heading
    core_end: int  # end (exclusive) of its own lines
    end: int  # end (exclusive) of its own lines and the separator after them


@dataclass
class _Lines:
    """The document's lines, each kept or dropped, with lines inserted after any of them."""

    lines: list[str]
    dropped: set[int] = field(default_factory=set)
    after: dict[int, list[str]] = field(default_factory=dict)

    def render(self) -> str:
        out: list[str] = []
        for number, line in enumerate(self.lines):
            if number not in self.dropped:
                out.append(line)
            out.extend(self.after.get(number, []))
        return "".join(out)


def move_stories(text: str, backlog: Backlog, moves: list[EpicMove]) -> tuple[str, dict[str, str]]:
    """``text`` with each story moved to its new epic; and per story that could not be moved,
    the reason (``backlog`` is ``text`` parsed)."""
    doc = _Lines(text.splitlines(keepends=True))
    epics = {epic.id: epic for epic in backlog.epics}
    home = {story.id: epic for epic in backlog.epics for story in epic.stories}
    leaving = {move.story_id for move in moves}
    refused: dict[str, str] = {}
    for move in moves:
        source, target = home.get(move.story_id), epics.get(move.epic_id)
        if source is None or target is None:
            refused[move.story_id] = f"the file has no epic {move.epic_id} to move it to"
            continue
        if source.id == target.id:
            continue
        staying = [s for s in target.stories if s.id not in leaving]
        if not staying:
            refused[move.story_id] = (
                f"{target.id} has no story to put {move.story_id} after (line {target.line}); "
                "move it by hand"
            )
            continue
        story = next(s for s in source.stories if s.id == move.story_id)
        block = _block(doc.lines, source, story)
        core = doc.lines[block.start : block.core_end]
        if core and not core[-1].endswith(("\n", "\r")):  # it ended the file
            core = [*core[:-1], core[-1] + _ending(doc.lines)]
        _leave(doc, source, story, block)
        last = _block(doc.lines, target, staying[-1])
        separator = _separator(doc.lines, target, staying) or doc.lines[block.core_end : block.end]
        tail = doc.lines[last.core_end - 1]
        if not tail.endswith(("\n", "\r")):  # the last line of the file: end it first
            doc.lines[last.core_end - 1] = tail + _ending(doc.lines)
        doc.after.setdefault(last.core_end - 1, []).extend(
            (separator or [_ending(doc.lines)]) + core
        )
    return doc.render(), refused


def _block(lines: list[str], epic: Epic, story: Story) -> _Block:
    """The story's lines: from its heading to the next story of its epic (or the epic's end),
    its own lines ending at the last one that is not blank or a rule."""
    start = story.line - 1
    later = [s.line - 1 for s in epic.stories if s.line > story.line]
    end = min(later) if later else min(max(epic.end_line, story.end_line), len(lines))
    core_end = end
    while core_end > start + 1 and lines[core_end - 1].strip() in RULES:
        core_end -= 1
    return _Block(start, core_end, end)


def _leave(doc: _Lines, epic: Epic, story: Story, block: _Block) -> None:
    """Drop the story's lines from its epic, and one separator with them."""
    earlier = [s for s in epic.stories if s.line < story.line]
    later = [s for s in epic.stories if s.line > story.line]
    if later:  # its lines and the separator after them
        doc.dropped.update(range(block.start, block.end))
    elif earlier:  # the last story: the separator before it and its lines
        previous = _block(doc.lines, epic, earlier[-1])
        doc.dropped.update(range(previous.core_end, block.core_end))
    else:
        doc.dropped.update(range(block.start, block.core_end))


def _separator(lines: list[str], epic: Epic, stories: list[Story]) -> list[str]:
    """What separates the epic's stories (the lines after the second to last one's own)."""
    if len(stories) < 2:
        return []
    block = _block(lines, epic, stories[-2])
    return lines[block.core_end : block.end]


def _ending(lines: list[str]) -> str:
    """The document's line ending."""
    for line in lines:
        if line.endswith("\r\n"):
            return "\r\n"
        if line.endswith("\n"):
            return "\n"
    return "\n"
