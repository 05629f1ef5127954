"""Edits of a backlog's Markdown source that are certain: ids for stories that have none, and
stated numbers that disagree with what the document itself adds up to.

Each fix is a :class:`LineEdit` on one source line (or a line inserted after it); applying
edits changes those lines only, so the rest of the file stays byte-identical (line endings
included). Fixes that need a judgement (which story to move out of an overfull sprint) are
never made here.

- :func:`add_ids`: a story the reader gave a generated id gets an explicit one, the next free
  number in the file's own id style (``SH-031`` after ``SH-030``; ``US-001`` when the file has
  none): a ``**Story ID:**`` line under a story heading, or ``US-001 — `` in front of a list
  item story.
- :func:`certain_fixes`: declared epic points and the document total (the sum of the
  stories), stated capacity-check hours (the sum of the addends), the sprint overview total
  (the sum of its rows) and dependency matrix cells that disagree with the story's own
  Dependencies field (the story field wins).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from backlog.model import Backlog

_ID_PARTS = re.compile(r"^(?P<prefix>[A-Z][A-Z0-9]*-)(?P<number>\d+)$")
_LIST_MARKER = re.compile(r"^(?P<marker>\s*(?:[-*+]|\d{1,9}[.)])\s+(?:\[[ xX]\]\s+)?)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class LineEdit:
    """Replace line ``line`` (1-based) by ``new`` and/or insert ``after`` lines below it."""

    line: int
    old: str
    new: str
    after: tuple[str, ...] = ()
    why: str = ""


def apply_edits(text: str, edits: list[LineEdit]) -> str:
    """The text with the edits applied; untouched lines keep their bytes and line endings.

    Lines are split on ``\n`` only, as the Markdown reader counts them (``str.splitlines``
    would also split on form feeds and other separators and shift the numbering).
    """
    parts = text.split("\n")
    crlf = "\r\n" in text
    for edit in sorted(edits, key=lambda item: item.line, reverse=True):
        index = edit.line - 1
        last = index == len(parts) - 1
        if index >= len(parts) or (last and parts[index] == ""):
            continue  # no such line (the empty "line" after a final newline is none)
        current = parts[index]
        cr = "\r" if current.endswith("\r") else ""
        if current[: len(current) - len(cr)] != edit.old:
            continue  # the line is not what the fix was computed from: leave it alone
        ending = cr or ("\r" if crlf and not last else "")
        inserted = [f"{line}{chr(13) if crlf else ''}" for line in edit.after]
        if inserted and last:
            inserted[-1] = inserted[-1].rstrip("\r")
        parts[index : index + 1] = [f"{edit.new}{ending}", *inserted]
    return "\n".join(parts)


def source_lines(text: str) -> list[str]:
    """The text's lines as the reader numbers them (split on ``\n``, ``\r`` dropped)."""
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def id_style(backlog: Backlog) -> tuple[str, int, int]:
    """The file's id prefix, digit width and next free number (``US-``, 3, 1 by default)."""
    generated = {note.item for note in backlog.reader_notes if note.kind == "generated-id"}
    parts = [
        match
        for story in backlog.stories
        if story.id not in generated
        for match in [_ID_PARTS.match(story.id)]
        if match
    ]
    if not parts:
        return "US-", 3, 1
    prefix = Counter(match.group("prefix") for match in parts).most_common(1)[0][0]
    same = [match for match in parts if match.group("prefix") == prefix]
    width = Counter(len(match.group("number")) for match in same).most_common(1)[0][0]
    return prefix, width, max(int(match.group("number")) for match in same) + 1


def add_ids(text: str, backlog: Backlog) -> list[LineEdit]:
    """Edits giving every story with a generated id an explicit id, in document order."""
    lines = source_lines(text)
    prefix, width, number = id_style(backlog)
    taken = {story.id for story in backlog.stories}
    edits: list[LineEdit] = []
    for note in sorted(backlog.reader_notes, key=lambda item: item.line):
        if note.kind != "generated-id" or not 0 < note.line <= len(lines):
            continue
        new_id = f"{prefix}{number:0{width}d}"
        while new_id in taken:
            number += 1
            new_id = f"{prefix}{number:0{width}d}"
        taken.add(new_id)
        number += 1
        source = lines[note.line - 1]
        marker = _LIST_MARKER.match(source)
        why = f"{note.item} -> {new_id}"
        if source.lstrip().startswith("#"):
            following = lines[note.line] if note.line < len(lines) else ""
            after = (
                (f"**Story ID:** {new_id}", "")
                if following.strip()
                else (f"**Story ID:** {new_id}",)
            )
            edits.append(LineEdit(note.line, source, source, ("", *after)[:3], why))
        elif marker:
            head = marker.group("marker")
            edits.append(
                LineEdit(note.line, source, f"{head}{new_id} — {source[len(head) :]}", (), why)
            )
    return edits


def _replace_number(source: str, old: float | int, new: float | int, after: int = 0) -> str:
    """``source`` with the first number equal to ``old`` at or after ``after`` set to ``new``."""
    for match in _NUMBER.finditer(source, after):
        if float(match.group(0)) == float(old):
            text = str(int(new)) if float(new).is_integer() else f"{new:g}"
            return source[: match.start()] + text + source[match.end() :]
    return source


def certain_fixes(text: str, backlog: Backlog) -> list[LineEdit]:
    """Stated numbers that disagree with the document's own sums, and stale matrix cells."""
    lines = source_lines(text)
    edits: list[LineEdit] = []

    def edit(line: int, old: float | int | None, new: float | int, why: str, at: int = 0) -> None:
        if old is None or not 0 < line <= len(lines) or float(old) == float(new):
            return
        source = lines[line - 1]
        changed = _replace_number(source, old, new, at)
        if changed != source:
            edits.append(LineEdit(line, source, changed, (), why))

    story_sum = sum(story.points or 0 for story in backlog.stories)
    declared = backlog.declared_total_points
    edit(
        backlog.declared_total_points_line, declared, story_sum, f"total {declared} -> {story_sum}"
    )
    for epic in backlog.epics:
        if epic.points is None or not epic.stories:
            continue
        line = _label_line(lines, epic.line, epic.end_line, ("story points", "points"))
        if line:
            why = f"{epic.id} points {epic.points} -> {epic.story_points_sum}"
            edit(line, epic.points, epic.story_points_sum, why, lines[line - 1].find(":"))
    for sprint in backlog.sprints:
        for check in sprint.capacity_check:
            if check.addends and check.stated_total is not None:
                total = sum(check.addends)
                source = lines[check.line - 1] if 0 < check.line <= len(lines) else ""
                why = f"sprint {sprint.number} {check.role or 'total'} hours "
                why += f"{check.stated_total:g} -> {total:g}"
                edit(check.line, check.stated_total, total, why, max(source.find("="), 0))
    rows = [s.overview_points for s in backlog.sprints if s.overview_points is not None]
    stated = backlog.sprint_overview_total_points
    if rows and stated is not None:
        why = f"sprint overview total {stated} -> {sum(rows)}"
        edit(backlog.sprint_overview_total_line, stated, sum(rows), why)
    edits.extend(_matrix_fixes(lines, backlog))
    return edits


def _label_line(lines: list[str], start: int, end: int, labels: tuple[str, ...]) -> int:
    """The first line in ``start..end`` holding a bold label among ``labels``, or 0."""
    for number in range(start, min(end, len(lines)) + 1):
        folded = lines[number - 1].casefold()
        if any(f"**{label}:**" in folded or f"**{label}**:" in folded for label in labels):
            return number
    return 0


def _matrix_fixes(lines: list[str], backlog: Backlog) -> list[LineEdit]:
    """Matrix cells that disagree with the stories' own Dependencies fields.

    A ``Depends On`` cell becomes the story's field; a ``Blocks`` cell loses the stories whose
    field does not depend on the row's story. Only rows and fields made of plain story ids
    (or None) are touched: a phrase such as "All previous stories" needs a person.
    """
    stories = backlog.stories_by_id()

    def plain_ids(story_id: str) -> set[str] | None:
        story = stories.get(story_id)
        if story is None or story.dependencies_raw is None:
            return None
        if any(dep.kind not in ("story", "none") for dep in story.dependencies):
            return None
        return {dep.target for dep in story.dependencies if dep.kind == "story" and dep.target}

    edits: list[LineEdit] = []
    for row in backlog.dependency_matrix:
        if not 0 < row.line <= len(lines):
            continue
        source = lines[row.line - 1]
        cells = source.split("|")
        changes: list[str] = []
        field_ids = plain_ids(row.story_id)
        row_plain = all(dep.kind in ("story", "none") for dep in row.depends_on)
        row_ids = {dep.target for dep in row.depends_on if dep.kind == "story" and dep.target}
        if field_ids is not None and row_plain and row.depends_on_raw and field_ids != row_ids:
            new_cell = ", ".join(sorted(field_ids)) or "None"
            if _replace_cell(cells, row.depends_on_raw, new_cell):
                changes.append(f"{row.story_id} depends on {row.depends_on_raw} -> {new_cell}")
        stale = [
            blocked
            for blocked in row.blocks
            if (ids := plain_ids(blocked)) is not None and row.story_id not in ids
        ]
        if stale:
            old_cell = next((c.strip() for c in cells if all(b in c for b in row.blocks)), "")
            kept = [blocked for blocked in row.blocks if blocked not in stale]
            if old_cell and _replace_cell(cells, old_cell, ", ".join(kept) or "-"):
                changes.append(f"{row.story_id} blocks {old_cell} -> {', '.join(kept) or '-'}")
        if changes:
            why = "matrix " + "; ".join(changes)
            edits.append(LineEdit(row.line, source, "|".join(cells), (), why))
    return edits


def _replace_cell(cells: list[str], old: str, new: str) -> bool:
    for index, cell in enumerate(cells):
        if index and cell.strip() == old.strip():
            cells[index] = cell.replace(cell.strip(), new, 1)
            return True
    return False
