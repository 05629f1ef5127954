"""Write field values back into a Markdown backlog, touching only the lines that change.

``apply_edits(text, backlog, edits)`` takes the document as read (``backlog`` parsed from
``text``), and per story a field and its new value. Each edit rewrites the value part of the
story's own field line in the file's own style (``**Story Points:** 13``,
``- **Priority**: High``, ``Points: 5``), keeping the label, the emphasis, the spacing, any
text after the value (``13 (re-estimated)``) and the line ending. A ``status`` with no line
yet is added right after the story's last field line, copying that line's style. Titles go
where the title lives: the ``**Title:**`` line, else the story heading after its ``Story 1.2:``
prefix. Every other byte of the document is left as it was.

An edit that cannot be placed (a story written as a table row, a field in a shape this module
does not write) is returned in ``skipped`` with the reason, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from backlog.model import Backlog, Story

FIELDS = ("title", "heading", "points", "priority", "status")
LABELS = {
    "points": ("story points", "points", "estimate", "story point estimate", "sp"),
    "priority": ("priority",),
    "status": ("status", "state"),
    "title": ("title",),
}
# **Label:** value | **Label**: value | __Label:__ value, optionally as a list item
BOLD_LABEL = re.compile(
    r"^(?P<lead>[ \t]*(?:[-*+][ \t]+)?)(?P<mark>\*\*|__)(?P<label>[^*_\n]+?)[ \t]*"
    r"(?P<inner>:?)(?P=mark)(?P<outer>:?)(?P<gap>[ \t]*)(?P<value>.*?)(?P<trail>[ \t]*)$"
)
PLAIN_LABEL = re.compile(
    r"^(?P<lead>[ \t]*(?:[-*+][ \t]+)?)(?P<label>[A-Za-z][A-Za-z ]{0,30}?)[ \t]*:"
    r"(?P<gap>[ \t]+)(?P<value>.*?)(?P<trail>[ \t]*)$"
)
HEADING = re.compile(r"^(?P<hashes>#{1,6}[ \t]+)(?P<text>.*?)(?P<trail>[ \t]*#*[ \t]*)$")
NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class FieldEdit:
    """Set ``field`` (one of ``FIELDS``) of story ``story_id`` to ``value``."""

    story_id: str
    field: str
    value: str


@dataclass
class EditResult:
    text: str
    applied: list[FieldEdit] = field(default_factory=list)
    skipped: list[tuple[FieldEdit, str]] = field(default_factory=list)


@dataclass
class _FieldLine:
    number: int  # 0-based index into the line list
    name: str  # normalised label
    match: re.Match[str]
    bold: bool


def apply_edits(text: str, backlog: Backlog, edits: Iterable[FieldEdit]) -> EditResult:
    """``text`` with every edit that can be placed applied (see the module docstring)."""
    lines = text.splitlines(keepends=True)
    stories = {story.id: story for story in backlog.iter_stories()}
    result = EditResult(text)
    placed: list[tuple[Story, FieldEdit]] = []
    for edit in edits:
        story = stories.get(edit.story_id)
        if story is None:
            result.skipped.append((edit, f"story {edit.story_id} is not in the file"))
        else:
            placed.append((story, edit))
    # bottom-up: a line added to one story never moves the lines of the stories above it
    for story, edit in sorted(placed, key=lambda pair: -pair[0].line):
        why = _apply(lines, story, edit)
        if why:
            result.skipped.append((edit, why))
        else:
            result.applied.append(edit)
    result.text = "".join(lines)
    return result


def _apply(lines: list[str], story: Story, edit: FieldEdit) -> str | None:
    start = story.line - 1
    end = (story.end_line or story.line) + 1  # room for a status line added above
    if not 0 <= start < len(lines) or not HEADING.match(_body(lines[start])):
        return f"{story.id} is not a Markdown heading section (line {story.line})"
    found = _field_lines(lines, start + 1, min(end, len(lines)))
    if edit.field == "heading" or (edit.field == "title" and "title" not in found):
        return _set_heading(lines, start, edit.value)
    if edit.field not in LABELS:
        return f"cannot write the field {edit.field!r}"
    if edit.field in found:
        target = found[edit.field]
        lines[target.number] = _replace_value(lines[target.number], target, edit)
        return None
    if edit.field != "status":
        return f"{story.id} has no {edit.field} line to change (line {story.line})"
    if not found:
        return f"{story.id} has no field lines to put a status next to (line {story.line})"
    last = max(found.values(), key=lambda f: f.number)
    lines.insert(last.number + 1, _new_line(lines[last.number], last, "Status", edit.value))
    return None


def _field_lines(lines: list[str], start: int, end: int) -> dict[str, _FieldLine]:
    """The story's first line for each known label, up to its first sub-section."""
    found: dict[str, _FieldLine] = {}
    fence = False
    for number in range(start, end):
        body = _body(lines[number])
        if body.lstrip().startswith(("```", "~~~")):
            fence = not fence
        if fence or HEADING.match(body):
            if HEADING.match(body) and not fence:
                break
            continue
        bold = BOLD_LABEL.match(body)
        match = bold if bold and (bold["inner"] or bold["outer"]) else PLAIN_LABEL.match(body)
        if match is None:
            continue
        name = " ".join(match["label"].casefold().split())
        for key, names in LABELS.items():
            if name in names and key not in found:
                found[key] = _FieldLine(number, name, match, match is bold)
    return found


def _replace_value(line: str, target: _FieldLine, edit: FieldEdit) -> str:
    match = target.match
    old = match["value"]
    if edit.field == "points" and NUMBER.search(old):
        new = NUMBER.sub(edit.value, old, count=1)  # keeps "pts", "(re-estimated)" ...
    elif edit.field == "priority" and old and old.split()[0].casefold() != edit.value.casefold():
        first = old.split()[0]
        shout = first.isalpha() and first.isupper() and len(first) > 1  # "HIGH" style
        value = edit.value.upper() if shout else edit.value
        new = value + old[len(first) :]
    elif edit.field == "priority" and old:
        new = old
    else:
        new = edit.value
    body = _body(line)
    return body[: match.start("value")] + new + body[match.end("value") :] + _ending(line)


def _new_line(neighbour: str, like: _FieldLine, label: str, value: str) -> str:
    """A field line written like ``neighbour`` (same indent, bullet, emphasis, colon)."""
    match = like.match
    if like.bold:
        mark = match["mark"]
        colon_in, colon_out = match["inner"], match["outer"]
        head = f"{match['lead']}{mark}{label}{colon_in}{mark}{colon_out}"
    else:
        head = f"{match['lead']}{label}:"
    return f"{head}{match['gap'] or ' '}{value}{_ending(neighbour)}"


def _set_heading(lines: list[str], start: int, value: str) -> str | None:
    match = HEADING.match(_body(lines[start]))
    if match is None:
        return "no heading to retitle"
    text = match["text"]
    prefix = text.split(":", 1)[0] + ": " if ":" in text else ""
    new = f"{match['hashes']}{prefix}{value}{match['trail']}"
    lines[start] = new + _ending(lines[start])
    return None


def _body(line: str) -> str:
    return line.rstrip("\r\n")


def _ending(line: str) -> str:
    return line[len(_body(line)) :]


def read_fields(text: str | list[str], story: Story) -> dict[str, str]:
    """The story's field lines as written (``{"status": "In Progress", ...}``), for fields
    the model does not keep (status) and for writing back in the file's own words.
    ``text`` may be given already split (``splitlines(keepends=True)``) to read many stories."""
    lines = text.splitlines(keepends=True) if isinstance(text, str) else text
    start, end = story.line - 1, min(story.end_line or story.line, len(lines))
    if not 0 <= start < len(lines):
        return {}
    return {
        name: found.match["value"].strip()
        for name, found in _field_lines(lines, start + 1, end).items()
    }
