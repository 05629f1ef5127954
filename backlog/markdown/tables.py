"""Team capacity, velocity history, estimation guide, dependency matrix, risks, DoR/DoD.

Tables are recognised by their header row (``Role | Availability | ...``), so column order
and extra columns do not matter.
"""

from __future__ import annotations

import re

from backlog.markdown.blocks import Block, HeadingSection
from backlog.markdown.fields import (
    STORY_ID,
    checkbox,
    float_cell,
    int_cell,
    parse_dependencies,
    range_cell,
)
from backlog.markdown.story import flatten
from backlog.model import (
    ChecklistItem,
    Definition,
    DependencyRow,
    EstimationBand,
    Risk,
    Team,
    TeamRole,
    VelocityRecord,
    tshirt_size,
)

_RISK_HEADING = re.compile(r"^risk\s+(?P<number>\d{1,6})\s*[:\-–—.]\s*(?P<title>.*)$", re.I)


def is_risk_heading(title: str) -> bool:
    return bool(_RISK_HEADING.match(title.strip()))


def find_column(header: list[str], *words: str) -> int | None:
    """Index of the first header cell containing every word (case-insensitive)."""
    for index, cell in enumerate(header):
        folded = cell.casefold()
        if all(word in folded for word in words):
            return index
    return None


def _cell(cells: list[str], index: int | None) -> str:
    if index is None or index >= len(cells):
        return ""
    return cells[index].strip()


def tables(section: HeadingSection) -> list[Block]:
    return [block for block in section.blocks if block.kind == "table" and block.rows]


def read_team(section: HeadingSection) -> Team | None:
    roles: list[TeamRole] = []
    weekly: float | None = None
    sprint: float | None = None
    line = 0
    for table in tables(section):
        header = table.rows[0]
        role_col = find_column(header, "role")
        if role_col is None or find_column(header, "availab") is None:
            continue
        line = line or table.line
        avail = find_column(header, "availab")
        week = find_column(header, "week")
        cap = find_column(header, "sprint") or find_column(header, "capacity")
        for cells, row_line in zip(table.rows[1:], table.row_lines[1:], strict=False):
            name = _cell(cells, role_col)
            if not name:
                continue
            if name.casefold().startswith("total"):
                weekly = float_cell(_cell(cells, week))
                sprint = float_cell(_cell(cells, cap))
                continue
            roles.append(
                TeamRole(
                    name=name,
                    availability_pct=float_cell(_cell(cells, avail)),
                    weekly_hours=float_cell(_cell(cells, week)),
                    sprint_hours=float_cell(_cell(cells, cap)),
                    line=row_line,
                )
            )
    if not roles:
        return None
    velocity_raw = None
    for block in section.blocks:
        for item in block.lines if block.kind == "paragraph" else ():
            if item.label and "velocity" in item.label.casefold():
                velocity_raw = item.value
    return Team(
        roles=tuple(roles),
        stated_weekly_hours=weekly,
        stated_sprint_hours=sprint,
        velocity_capacity_raw=velocity_raw,
        line=line or section.line,
    )


def read_velocity(section: HeadingSection) -> list[VelocityRecord]:
    records: list[VelocityRecord] = []
    for table in tables(section):
        header = table.rows[0]
        planned = find_column(header, "planned")
        if planned is None:
            continue
        sprint = find_column(header, "sprint") or 0
        completed = find_column(header, "completed")
        velocity = find_column(header, "velocity")
        rate = find_column(header, "rate")
        for cells, row_line in zip(table.rows[1:], table.row_lines[1:], strict=False):
            name = _cell(cells, sprint)
            if not name or name.casefold().startswith("total"):
                continue
            records.append(
                VelocityRecord(
                    sprint=name,
                    planned=int_cell(_cell(cells, planned)),
                    completed=int_cell(_cell(cells, completed)),
                    velocity=int_cell(_cell(cells, velocity)),
                    completion_rate_pct=float_cell(_cell(cells, rate)),
                    line=row_line,
                )
            )
    return records


def read_estimation(section: HeadingSection) -> list[EstimationBand]:
    bands: list[EstimationBand] = []
    for table in tables(section):
        header = table.rows[0]
        points = find_column(header, "point")
        hours = find_column(header, "hour")
        if points is None or hours is None:
            continue
        complexity = find_column(header, "complex")
        examples = find_column(header, "example")
        size = find_column(header, "size")
        for cells, row_line in zip(table.rows[1:], table.row_lines[1:], strict=False):
            value = int_cell(_cell(cells, points))
            if value is None:
                continue
            low, high = range_cell(_cell(cells, hours))
            bands.append(
                EstimationBand(
                    points=value,
                    size=tshirt_size(_cell(cells, size)) if size is not None else None,
                    hours_min=low,
                    hours_max=high,
                    complexity=_cell(cells, complexity) or None,
                    examples=_cell(cells, examples) or None,
                    line=row_line,
                )
            )
    return bands


def read_matrix(section: HeadingSection) -> list[DependencyRow]:
    rows: list[DependencyRow] = []
    for table in tables(section):
        header = table.rows[0]
        depends = find_column(header, "depend")
        if depends is None:
            continue
        story = find_column(header, "story") or 0
        blocks = find_column(header, "block")
        notes = find_column(header, "note")
        for cells, row_line in zip(table.rows[1:], table.row_lines[1:], strict=False):
            first = _cell(cells, story)
            match = STORY_ID.search(first)
            if not match:
                continue
            label = re.search(r"\(([^)]*)\)", first)
            blocked = _cell(cells, blocks)
            rows.append(
                DependencyRow(
                    story_id=match.group(1),
                    label=label.group(1).strip() if label else None,
                    depends_on_raw=_cell(cells, depends),
                    depends_on=tuple(parse_dependencies(_cell(cells, depends))),
                    blocks=tuple(m.group(1) for m in STORY_ID.finditer(blocked)),
                    notes=_cell(cells, notes) or None,
                    line=row_line,
                )
            )
    return rows


def read_risk(section: HeadingSection) -> Risk:
    match = _RISK_HEADING.match(section.title.strip())
    assert match is not None
    fields: dict[str, str] = {}
    mitigations: list[str] = []
    for block in flatten(section):
        if block.kind == "paragraph":
            for item in block.lines:
                if item.label and item.value:
                    fields.setdefault(item.label.casefold(), item.value)
        elif block.kind == "list":
            mitigations.extend(item.text for item in block.children)
    return Risk(
        number=int(match.group("number")),
        title=match.group("title").strip(),
        probability=fields.get("probability"),
        impact=fields.get("impact"),
        mitigations=tuple(mitigations),
        line=section.line,
    )


def read_definition(section: HeadingSection) -> Definition:
    """A DoR/DoD checklist: an intro paragraph and ``- [ ]`` items (plain bullets accepted)."""
    intro: list[str] = []
    items: list[ChecklistItem] = []
    for block in flatten(section):
        if block.kind == "paragraph" and not items:
            intro.append(block.text)
        elif block.kind == "list":
            for item in block.children:
                text, checked = checkbox(item.text)
                items.append(ChecklistItem(text=text, checked=checked, line=item.line))
    return Definition(
        title=section.title.strip(),
        intro="\n".join(intro).strip(),
        items=tuple(items),
        line=section.line,
    )
