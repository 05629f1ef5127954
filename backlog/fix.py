"""Edits of a backlog's Markdown source that are certain: ids for stories that have none, and
stated numbers that disagree with what the document itself adds up to.

Each fix is a :class:`LineEdit` on one source line (or a line inserted after it); applying
edits changes those lines only, so the rest of the file stays byte-identical (line endings
included). Fixes that need a judgement (which story to move out of an overfull sprint) are
never made here.

- :func:`add_ids`: a story the reader gave a generated id gets an explicit one, the next free
  number in the file's own id style (``SH-031`` after ``SH-030``; ``US-001`` when the file has
  none): a ``**Story ID:**`` line under a story heading, ``US-001 — `` in front of a list
  item story, or an ``ID`` column in front of a story table (its header, delimiter and every
  row get a first cell, so the table stays a valid table; rows that are not stories get an
  empty one).
- :func:`certain_fixes`: declared epic points and the document total (the sum of the
  stories), stated capacity-check hours (the sum of the addends), the sprint overview's rows
  (the points the sprint plan commits, stories plus buffer, as ``consistency.sprint-points``
  counts them) and its total (the sum of the rows, fixed ones included), and dependency
  matrix cells that disagree with the story's own Dependencies field (the story field wins).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

from backlog.model import Backlog

_ID_PARTS = re.compile(r"^(?P<prefix>[A-Z][A-Z0-9]*-)(?P<number>\d+)$")
_LIST_MARKER = re.compile(r"^(?P<marker>\s*(?:[-*+]|\d{1,9}[.)])\s+(?:\[[ xX]\]\s+)?)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_INTEGER = re.compile(r"-?\d+")
_DELIMITER_ROW = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")


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
    row_ids: dict[int, tuple[str, str]] = {}  # table row line -> (new id, why)
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
        elif table_around(lines, note.line) is not None:
            row_ids[note.line] = (new_id, why)
    return edits + _id_columns(lines, row_ids)


def table_around(lines: list[str], line: int) -> tuple[int, int, int] | None:
    """(header, delimiter, last row) line numbers of the pipe table holding line ``line``."""
    if not 0 < line <= len(lines) or "|" not in lines[line - 1]:
        return None
    delimiter = line
    while delimiter > 1 and not _DELIMITER_ROW.match(lines[delimiter - 1]):
        delimiter -= 1
        if "|" not in lines[delimiter - 1]:
            return None
    if delimiter < 2 or not _DELIMITER_ROW.match(lines[delimiter - 1]):
        return None
    last = delimiter
    while last < len(lines) and "|" in lines[last] and lines[last].strip():
        last += 1
    return delimiter - 1, delimiter, last


def _with_first_cell(source: str, value: str) -> str:
    """A table row with a new first cell, spaced like the row's own first cell."""
    indent = len(source) - len(source.lstrip())
    body = source[indent:]
    if body.startswith("|"):
        pad = " " if body[1:2] == " " else ""
        return f"{source[:indent]}|{pad}{value}{pad}|{body[1:]}"
    pad = " " if " |" in body else ""
    return f"{source[:indent]}{value}{pad}|{pad}{body}"


def _id_columns(lines: list[str], row_ids: dict[int, tuple[str, str]]) -> list[LineEdit]:
    """An ``ID`` column in front of each story table whose rows got new ids."""
    edits: list[LineEdit] = []
    done: set[int] = set()
    for row in sorted(row_ids):
        found = table_around(lines, row)
        if found is None or found[0] in done:
            continue
        header, delimiter, last = found
        done.add(header)
        why = f"ID column added to the story table at line {header}"
        dashes = lines[delimiter - 1].strip().strip("|").split("|")[0].strip().strip(":")
        for number, value in (
            (header, "ID"),
            (delimiter, dashes or "---"),
            *((n, row_ids[n][0] if n in row_ids else "") for n in range(delimiter + 1, last + 1)),
        ):
            source = lines[number - 1]
            reason = why if number == header else row_ids.get(number, ("", ""))[1]
            edits.append(LineEdit(number, source, _with_first_cell(source, value), (), reason))
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
    rows = _overview_rows(lines, backlog, edits)
    stated = backlog.sprint_overview_total_points
    if rows and stated is not None:
        why = f"sprint overview total {stated} -> {sum(rows)}"
        edit(backlog.sprint_overview_total_line, stated, sum(rows), why)
    edits.extend(_matrix_fixes(lines, backlog))
    return edits


def committed_points(backlog: Backlog, number: int) -> int | None:
    """The points sprint ``number``'s plan commits: its stories (the story's own points,
    else the plan's), continuations left out, plus buffer items; None without a plan."""
    sprint = next((s for s in backlog.sprints if s.number == number), None)
    if sprint is None or not (sprint.committed or sprint.buffer_items):
        return None
    stories = backlog.stories_by_id()
    total = 0
    for item in sprint.committed:
        if item.continued:
            continue
        story = stories.get(item.story_id)
        total += story.points if story and story.points is not None else item.points or 0
    return total + sum(buffer.points or 0 for buffer in sprint.buffer_items)


def _overview_rows(lines: list[str], backlog: Backlog, edits: list[LineEdit]) -> list[int]:
    """Fix overview rows that disagree with their sprint's plan; the rows' points after."""
    from backlog.markdown.sprint import overview_columns

    rows: list[int] = []
    for sprint in backlog.sprints:
        stated = sprint.overview_points
        if stated is None:
            continue
        commits = committed_points(backlog, sprint.number)
        found = table_around(lines, sprint.overview_line)
        if commits is None or commits == stated or found is None:
            rows.append(stated)
            continue
        header = _cells(lines[found[0] - 1])
        column = overview_columns([text.casefold() for text, _, _ in header]).get("points")
        source = lines[sprint.overview_line - 1]
        cells = _cells(source)
        if column is None or column >= len(cells):
            rows.append(stated)
            continue
        _, start, end = cells[column]
        match = _INTEGER.search(source, start, end)
        if match is None or int(match.group(0)) != stated:
            rows.append(stated)
            continue
        changed = source[: match.start()] + str(commits) + source[match.end() :]
        why = f"sprint overview sprint {sprint.number} points {stated} -> {commits}"
        edits.append(LineEdit(sprint.overview_line, source, changed, (), why))
        rows.append(commits)
    return rows


def _cells(source: str) -> list[tuple[str, int, int]]:
    """A table row's cells: (stripped text, start, end) offsets in ``source``; ``\\|`` kept."""
    bounds = [-1]
    escaped = False
    for index, char in enumerate(source):
        if char == "|" and not escaped:
            bounds.append(index)
        escaped = char == "\\" and not escaped
    bounds.append(len(source))
    cells = [(source[a + 1 : b].strip(), a + 1, b) for a, b in pairwise(bounds)]
    if cells and not cells[0][0] and source.lstrip().startswith("|"):
        cells = cells[1:]
    if cells and not cells[-1][0] and source.rstrip().endswith("|"):
        cells = cells[:-1]
    return cells


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
