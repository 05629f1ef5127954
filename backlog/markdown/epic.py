"""Epics read from headings (``# EPIC 1: Name``, ``## Epic 1 - Name``, ``### 6.1 Epic 1: Name``)
and their bold labels (``**Epic ID:**``, ``**Business Value:**``, ``**Story Points:**`` ...)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from backlog.markdown.blocks import Block, HeadingSection
from backlog.markdown.fields import parse_int
from backlog.markdown.parts import checklist
from backlog.markdown.story import StoryDraft, label_key, strip_numbering
from backlog.model import ChecklistItem

_EPIC_HEADING = re.compile(r"^epic[\s\-]*(?P<number>\d+)\s*[:\-–—.]?\s*(?P<name>.*)$", re.I)
EPIC_LABELS = {
    "epic id": "id",
    "epic name": "name",
    "name": "name",
    "business value": "business_value",
    "timeline": "timeline",
    "story points": "points",
    "points": "points",
    "acceptance criteria": "acceptance",
}


def is_epic_heading(title: str) -> bool:
    return bool(_EPIC_HEADING.match(strip_numbering(title)))


@dataclass
class EpicDraft:
    """An epic being read; its stories are drafts until the whole document is known."""

    id: str
    name: str
    heading: str
    number: int | None
    line: int
    end_line: int
    fields: dict[str, str] = field(default_factory=dict)
    acceptance: tuple[ChecklistItem, ...] = ()
    stories: list[StoryDraft] = field(default_factory=list)


def read_epic_heading(section: HeadingSection) -> EpicDraft:
    heading = section.title.strip()
    match = _EPIC_HEADING.match(strip_numbering(heading))
    number = int(match.group("number")) if match else None
    name = match.group("name").strip() if match else heading
    epic_id = f"EPIC-{number:03d}" if number is not None else heading
    return EpicDraft(
        id=epic_id,
        name=_title_case(name),
        heading=heading,
        number=number,
        line=section.line,
        end_line=section.end_line,
    )


def read_epic_labels(draft: EpicDraft, blocks: list[Block]) -> bool:
    """Read ``**Epic ID:**`` style labels; True when the blocks held any epic label."""
    found = False
    pending: str | None = None
    for block in blocks:
        if pending == "acceptance" and block.kind == "list":
            draft.acceptance = checklist(block)
            pending = None
            continue
        if block.kind != "paragraph":
            continue
        pending = None
        for item in block.lines:
            key = label_key(item.label, EPIC_LABELS) if item.label else None
            if key is None:
                continue
            found = True
            if item.value:
                draft.fields.setdefault(key, item.value)
            else:
                pending = key
    if "id" in draft.fields:
        draft.id = draft.fields["id"].split()[0].upper() if draft.fields["id"].split() else draft.id
    if "name" in draft.fields:
        draft.name = draft.fields["name"]
    return found


def epic_points(draft: EpicDraft) -> tuple[int | None, str | None]:
    raw = draft.fields.get("points")
    return parse_int(raw), raw


def _title_case(text: str) -> str:
    """``FOUNDATION & OBSERVABILITY`` -> ``Foundation & Observability`` (only when all caps)."""
    return text.title() if text.isupper() else text
