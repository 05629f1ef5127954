"""The sprint plan: ``## Sprint 1 (Weeks 1-2): Name`` sections and the sprint overview table."""

from __future__ import annotations

import re

from backlog.markdown.blocks import Block, HeadingSection, Line
from backlog.markdown.fields import (
    STORY_ID,
    after_dash,
    float_cell,
    int_cell,
    label_name,
    numbers,
    parse_int,
    parse_roles,
    split_hours,
    split_points,
)
from backlog.markdown.story import flatten
from backlog.model import (
    BufferItem,
    CapacityCheckLine,
    Sprint,
    SprintCommitment,
    SprintTaskLine,
)

_SPRINT_HEADING = re.compile(
    r"^sprint\s+(?P<number>\d{1,6})\b\s*(?:\((?P<weeks>[^)]*)\))?\s*[:\-–—.]?\s*(?P<name>.*)$",
    re.IGNORECASE,
)
_WEEKS = re.compile(r"^\s*weeks?\s*", re.IGNORECASE)
_LATE_WEEKS = re.compile(r"\(\s*(weeks?\s*[^)]*)\)", re.IGNORECASE)
_COMMITMENT = re.compile(
    rf"^(?P<id>{STORY_ID.pattern})\s*(?P<continued>\(\s*(?i:continued)\s*\))?"
    r"\s*[:\-–—]?\s*(?P<rest>.*)$",
    re.DOTALL,
)
_LIMIT = re.compile(r"\(\s*(?:within|limit|max(?:imum)?|of|cap(?:acity)?)?\s*:?\s*(\d+(?:\.\d+)?)")

_SPRINT_LABELS = {
    "sprint goal": "goal",
    "goal": "goal",
    "capacity": "capacity",
    "sprint capacity": "capacity",
    "team velocity": "velocity",
    "velocity": "velocity",
    "committed stories": "committed",
    "committed": "committed",
    "sprint backlog": "committed",
    "sprint capacity check": "check",
    "capacity check": "check",
    "sprint notes": "notes",
    "notes": "notes",
}


def is_sprint_heading(title: str) -> bool:
    return bool(_SPRINT_HEADING.match(title.strip()))


def _key(label: str | None) -> str | None:
    if not label:
        return None
    return _SPRINT_LABELS.get(label_name(label))


def read_sprint(section: HeadingSection) -> Sprint:
    match = _SPRINT_HEADING.match(section.title.strip())
    assert match is not None
    weeks = match.group("weeks")
    name = match.group("name").strip()
    if weeks is None:  # "Sprint 1: Foundation (Weeks 1-2)"
        late = _LATE_WEEKS.search(name)
        if late:
            weeks, name = late.group(1), (name[: late.start()] + name[late.end() :]).strip()
    fields: dict[str, str] = {}
    committed: list[SprintCommitment] = []
    buffers: list[BufferItem] = []
    checks: list[CapacityCheckLine] = []
    notes: list[str] = []
    pending: str | None = None
    for block in flatten(section):
        if block.kind == "paragraph":
            pending = None
            for item in block.lines:
                key = _key(item.label)
                if key is None:
                    if item.text and pending == "check":
                        checks.append(_check_line(item.text, item.line))
                    continue
                if item.value and key == "check":
                    checks.append(_check_line(item.text, item.line))
                elif item.value:
                    fields.setdefault(key, item.value)
                else:
                    pending = key
            continue
        if block.kind != "list":
            continue
        if pending == "check":
            checks.extend(_check_line(item.text, item.line) for item in block.children)
        elif pending == "notes":
            notes.extend(item.text for item in block.children)
        elif pending == "committed" or block.ordered:
            for entry in block.children:
                _commitment(entry, committed, buffers, notes)
        pending = None
    return Sprint(
        number=int(match.group("number")),
        name=name,
        weeks=_WEEKS.sub("", weeks).strip() if weeks else None,
        goal=fields.get("goal"),
        capacity_points=parse_int(fields.get("capacity")),
        velocity_actual=parse_int(fields.get("velocity")),
        committed=tuple(committed),
        buffer_items=tuple(buffers),
        capacity_check=tuple(checks),
        notes=tuple(notes),
        line=section.line,
        end_line=section.end_line,
    )


def _commitment(
    item: Block, committed: list[SprintCommitment], buffers: list[BufferItem], notes: list[str]
) -> None:
    first = item.text.split("\n", 1)[0].strip()
    match = _COMMITMENT.match(first)
    if match is None:
        title, points, _ = split_points(first)
        if points is not None:
            buffers.append(BufferItem(title=title, points=points, line=item.line))
        elif first:
            notes.append(first)
        return
    rest = match.group("rest")
    title, points, after = split_points(rest)
    roles: tuple[str, ...] = ()
    if points is not None:
        roles = parse_roles(after_dash(after) or after)
    else:
        title = re.split(r"\s+[\-–—]\s+", title, maxsplit=1)[0].strip()
    tasks: list[SprintTaskLine] = []
    total: float | None = None
    for child in item.children:
        if child.kind != "list":
            continue
        for sub in child.children:
            line = sub.lines[0] if sub.lines else Line(text=sub.text, line=sub.line)
            if line.label and line.label.casefold().startswith("total"):
                values = numbers(line.value)
                total = values[0] if values else None
                continue
            task_title, hours, _, task_after = split_hours(sub.text.split("\n", 1)[0])
            tasks.append(
                SprintTaskLine(
                    title=task_title,
                    hours=hours,
                    roles=parse_roles(after_dash(task_after)),
                    line=sub.line,
                )
            )
    committed.append(
        SprintCommitment(
            story_id=match.group("id"),
            title=title,
            points=points,
            roles=roles,
            continued=match.group("continued") is not None,
            tasks=tuple(tasks),
            stated_total_hours=total,
            line=item.line,
        )
    )


def _check_line(text: str, line: int) -> CapacityCheckLine:
    """``DevOps: 30 + 4 = 34 hrs (within 80 hrs)`` or ``Total: 100 hrs ✓``."""
    role, _, rest = text.partition(":")
    if not rest:
        role, rest = "", text
    limit_match = _LIMIT.search(rest)
    limit = float(limit_match.group(1)) if limit_match else None
    if limit_match:
        rest = rest[: limit_match.start()]
    if "=" in rest:
        left, _, right = rest.partition("=")
        addends = tuple(numbers(left))
        totals = numbers(right)
    else:
        addends = ()
        totals = numbers(rest)
    return CapacityCheckLine(
        role=role.strip(),
        addends=addends,
        stated_total=totals[0] if totals else None,
        limit=limit,
        line=line,
    )


OverviewRows = dict[int, tuple[int | None, Sprint]]


def read_overview(section: HeadingSection) -> tuple[OverviewRows, int | None, int]:
    """Sprint number -> (points, sprint stub from the row); the stated total points and
    the line it is stated on (0 when there is none)."""
    rows: OverviewRows = {}
    total: int | None = None
    total_line = 0
    for block in section.blocks:
        if block.kind == "paragraph":
            for item in block.lines:
                label = (item.label or "").casefold()
                if "total" in label and "point" in label:
                    total = parse_int(item.value)
                    total_line = item.line if total is not None else 0
            continue
        if block.kind != "table" or not block.rows:
            continue
        header = [cell.casefold() for cell in block.rows[0]]
        col = overview_columns(header)
        if "sprint" not in col:
            continue
        for cells, line in zip(block.rows[1:], block.row_lines[1:], strict=False):
            number = int_cell(cells[col["sprint"]]) if col["sprint"] < len(cells) else None
            if number is None:
                continue
            points = _cell_int(cells, col.get("points"))
            weeks = _cell(cells, col.get("duration"))
            stub = Sprint(
                number=number,
                name=_cell(cells, col.get("focus")) or "",
                weeks=_WEEKS.sub("", weeks).strip() if weeks else None,
                overview_points=points,
                overview_line=line,
                line=line,
                end_line=line,
            )
            rows[number] = (points, stub)
    return rows, total, total_line


def overview_columns(header: list[str]) -> dict[str, int]:
    """Roles of the overview table's columns by their case-folded headers (``points``...)."""
    col: dict[str, int] = {}
    for index, name in enumerate(header):
        if "sprint" in name and "sprint" not in col:
            col["sprint"] = index
        elif ("duration" in name or "week" in name) and "duration" not in col:
            col["duration"] = index
        elif ("focus" in name or "name" in name) and "focus" not in col:
            col["focus"] = index
        elif "point" in name and "points" not in col:
            col["points"] = index
    return col


def _cell(cells: list[str], index: int | None) -> str | None:
    if index is None or index >= len(cells):
        return None
    return cells[index].strip() or None


def _cell_int(cells: list[str], index: int | None) -> int | None:
    value = _cell(cells, index)
    return int_cell(value) if value else None


def cell_float(cells: list[str], index: int | None) -> float | None:
    value = _cell(cells, index)
    return float_cell(value) if value else None
