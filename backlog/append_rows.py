"""A new story as a table row, for epics whose stories are rows of a story table.

``row_template(epic, lines)`` finds the epic's last story written as a row of a story table
(``| US-01 | User Login | High | #1 |`` under ``| ID | User Story | Priority | GitHub Issue |``)
and ``RowTemplate.write`` writes a new row like it: the same cells in the same order, the same
outer pipes, indentation and padding (each cell padded to its column's width in a table whose
cells are aligned, one space around the value otherwise, right-aligned columns padded on the
left), the same emphasis around a value (a ``~struck~`` cell is not copied: it marks work
done). The cells filled: the id (in the id cell's own words, ``1 / SF-01`` keeps its shape),
the title, points, priority and status from the tracker, the epic cell as the template's,
dependencies as the table says "none" (``-``, ``None``), and a ``GitHub Issue`` / ``Jira``
column with the issue's key when the story comes from that tracker. Other cells (sprint,
owner, acceptance criteria) are left empty: they are not guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from backlog.model import Epic, Story

DELIMITER_CELL = re.compile(r"^\s*:?-+:?\s*$")
NONE_WORDS = ("none", "-", "—", "–", "n/a", "na")
WRAPPERS = ("**", "__", "`", "*", "_")


@dataclass(frozen=True)
class RowShape:
    """How a table line is written around its cells."""

    indent: str
    leading: bool  # a pipe before the first cell
    trailing: str  # the closing pipe and what follows it ("|", "| ", or "" without one)
    ending: str


@dataclass(frozen=True)
class RowTemplate:
    """The epic's last story row, with its table's header and delimiter row."""

    story: Story
    index: int  # the row's 0-based line index
    shape: RowShape
    cells: tuple[str, ...]  # the row's cells as written (with their spaces)
    widths: tuple[int, ...]  # the delimiter row's cells' widths
    right: tuple[bool, ...]  # right-aligned columns (``---:``)
    columns: dict[str, int]
    header: tuple[str, ...]  # the header cells, folded
    none_word: str  # how the table writes "no dependencies"
    aligned: bool  # cells padded to the delimiter row's widths

    def write(self, title: str, new_id: str, values: dict[str, str | None], source: str) -> str:
        """The new story's row (see the module doc)."""
        contents = ["" for _ in self.cells]
        for role, index in self.columns.items():
            if index >= len(self.cells):
                continue
            current = _value(self.cells[index])
            if role == "id":
                contents[index] = _id_cell(current, self.story.id, new_id)
            elif role == "title":
                contents[index] = _escaped(title)
            elif role == "epic":
                contents[index] = current
            elif role == "dependencies":
                contents[index] = self.none_word
            elif role == "points":
                number = values.get("points")
                # a T-shirt size column (S, M, L) is not filled with a number
                fits = not _unwrapped(current) or _is_number(_unwrapped(current))
                contents[index] = number if number and fits else ""
            elif role in ("priority", "status"):
                contents[index] = _escaped(values.get(role) or "")
        for index, name in enumerate(self.header):
            if index not in self.columns.values() and _names_tracker(name, source):
                contents[index] = source
        cells = [
            self._cell(index, _rewrapped(self.cells[index], content))
            for index, content in enumerate(contents)
        ]
        shape = self.shape
        return (
            f"{shape.indent}{'|' if shape.leading else ''}{'|'.join(cells)}{shape.trailing}"
            f"{shape.ending}"
        )

    def _cell(self, index: int, content: str) -> str:
        """``content`` spaced as the template's cell in this column."""
        written = self.cells[index]
        lead = written[: len(written) - len(written.lstrip())]
        trail = written[len(written.rstrip()) :]
        if self.aligned:  # padded to the column's width (a longer value overflows it)
            width = self.widths[index]
            left, pad = (" " if lead else ""), (" " if trail else "")
            if len(left) + len(content) + len(pad) > width:
                return left + content + pad
            if self.right[index]:
                return (content + pad).rjust(width)
            return (left + content).ljust(width - len(pad)) + pad
        if not content:
            return " " if lead or trail else ""
        # one space stays one space; a wider gap is the template value's own padding
        return f"{lead if len(lead) < 2 else ' '}{content}{trail if len(trail) < 2 else ' '}"


def row_template(epic: Epic, lines: list[str]) -> RowTemplate | None:
    """The epic's last story written as a row of a story table with an id column."""
    from backlog.markdown.harvest import story_table_columns

    for story in reversed(epic.stories):
        index = story.line - 1
        if story.end_line != story.line or not 0 <= index < len(lines):
            continue
        row = _split(lines[index])
        if row is None:
            continue
        start = index
        while start > 0 and _split(lines[start - 1]) is not None:
            start -= 1
        if start + 1 >= index:  # the row must follow a header and a delimiter row
            continue
        header, delimiter = _split(lines[start]), _split(lines[start + 1])
        if header is None or delimiter is None:
            continue
        if not all(DELIMITER_CELL.match(cell) for cell in delimiter[1]):
            continue
        columns = story_table_columns([cell.strip() for cell in header[1]])
        if columns is None or not columns.pop("_numeric_ids") or "title" not in columns:
            continue  # no id column: the new story's id would have nowhere to go
        if len(row[1]) != len(header[1]):
            continue
        table = [_split(line) for line in lines[start + 2 : index + 1]]
        widths = [len(cell) for cell in delimiter[1]]
        aligned = len(widths) == len(row[1]) and all(
            len(head) == width and (len(cell) == width or len(cell.rstrip()) >= width)
            for head, cell, width in zip(header[1], row[1], widths, strict=False)
        )
        return RowTemplate(
            story=story,
            index=index,
            shape=row[0],
            cells=tuple(row[1]),
            widths=tuple(widths),
            right=tuple(
                cell.strip().endswith(":") and not cell.strip().startswith(":")
                for cell in delimiter[1]
            ),
            columns=columns,
            header=tuple(" ".join(cell.casefold().split()) for cell in header[1]),
            none_word=_none_word(columns.get("dependencies"), [r[1] for r in table if r]),
            aligned=aligned,
        )
    return None


def _split(line: str) -> tuple[RowShape, list[str]] | None:
    """A table line's shape and its cells as written; None when it is not a table line."""
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    indent = body[: len(body) - len(body.lstrip(" \t"))]
    if len(indent) > 3 or "|" not in body:
        return None
    text = body[len(indent) :]
    leading = text.startswith("|")
    if leading:
        text = text[1:]
    cells: list[str] = []
    current: list[str] = []
    ticks = 0  # inside a code span of this many backticks
    at = 0
    while at < len(text):
        char = text[at]
        if char == "\\" and at + 1 < len(text):
            current.append(text[at : at + 2])
            at += 2
            continue
        if char == "`":
            run = len(text[at:]) - len(text[at:].lstrip("`"))
            ticks = 0 if ticks == run else (ticks or run)
            current.append("`" * run)
            at += run
            continue
        if char == "|" and not ticks:
            cells.append("".join(current))
            current = []
        else:
            current.append(char)
        at += 1
    rest = "".join(current)
    trailing = ""
    if rest.strip():  # no closing pipe
        cells.append(rest)
    else:
        trailing = "|" + rest
    if not cells or (not leading and not trailing and len(cells) < 2):
        return None
    return RowShape(indent, leading, trailing, ending), cells


def _value(cell: str) -> str:
    return cell.strip()


def _unwrapped(value: str) -> str:
    value = value.strip("~").strip()
    for mark in WRAPPERS:
        if len(value) > 2 * len(mark) and value.startswith(mark) and value.endswith(mark):
            return value[len(mark) : -len(mark)].strip()
    return value


def _rewrapped(template: str, content: str) -> str:
    """``content`` with the emphasis the template's value has (not its strikethrough)."""
    value = template.strip()
    if not content or value.startswith("~"):
        return content
    for mark in WRAPPERS:
        if len(value) > 2 * len(mark) and value.startswith(mark) and value.endswith(mark):
            if content.startswith(mark) and content.endswith(mark):
                return content  # the epic cell: copied with its emphasis already
            return f"{mark}{content}{mark}"
    return content


def _id_cell(current: str, old: str, new: str) -> str:
    value = _unwrapped(current)
    return value.replace(old, new, 1) if old in value else new


def _escaped(text: str) -> str:
    return text.replace("|", "\\|")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _names_tracker(header: str, source: str) -> bool:
    """A column naming the issue in the tracker the story comes from (``GitHub Issue``)."""
    if not source:
        return False
    github = source.startswith("#")
    return ("github" in header and github) or ("jira" in header and not github)


def _none_word(column: int | None, rows: list[list[str]]) -> str:
    """The word the table's dependency cells use for none (``None`` when they never say)."""
    if column is None:
        return "None"
    counts: dict[str, int] = {}
    for cells in rows:
        if column < len(cells):
            word = _unwrapped(cells[column])
            if word.casefold() in NONE_WORDS:
                counts[word] = counts.get(word, 0) + 1
    return max(counts, key=lambda word: counts[word]) if counts else "None"
