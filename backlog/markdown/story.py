"""Epics and stories of the backlog dialect, read from heading sections.

A story section looks like::

    ### Story 1.1: Observability Stack Deployment
    **Story ID:** US-001
    **Story Points:** 21
    **Priority:** High
    **Dependencies:** None
    **User Story:**
    > As a DevOps engineer, I want ... so that ...
    **Acceptance Criteria:**
    ```gherkin
    Given ... / When ... / Then ...:
      - item
    ```
    **Tasks:**
    1. **Title** (8 hrs) - DevOps
       - detail
    **Subtasks:**
    - Subtask 1.1.1: Title (2 hrs)

Labels may be bold with the colon inside or outside, or sub-headings (``#### Tasks``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from backlog.errors import BadInputError
from backlog.markdown.blocks import Block, HeadingSection, Line
from backlog.markdown.fields import (
    STORY_ID,
    after_dash,
    checkbox,
    gherkin_line,
    label_name,
    normalize_heading,
    parse_dependencies,
    parse_gherkin,
    parse_int,
    parse_roles,
    parse_user_story,
    split_hours,
    suppressions,
)
from backlog.model import (
    AcceptanceCriteria,
    ChecklistItem,
    Dependency,
    Subtask,
    Task,
    UserStory,
)

_STORY_HEADING = re.compile(
    r"^(?:user\s+)?story\s+(?P<number>\d+(?:[.\-]\d+)*[a-z]?|[A-Z][A-Z0-9]*-\d+)"
    r"\s*(?:[:.–—]|-(?=\s))?\s*(?P<title>.*)$",
    re.IGNORECASE,
)
_EPIC_HEADING = re.compile(r"^epic[\s\-]*(?P<number>\d+)\s*[:\-–—.]?\s*(?P<name>.*)$", re.I)
_SUBTASK = re.compile(r"^sub-?task\s+(?P<number>[\w.]+)\s*[:\-–—]\s*(?P<rest>.*)$", re.I)

STORY_LABELS = {
    "story id": "id",
    "id": "id",
    "title": "title",
    "story points": "points",
    "points": "points",
    "estimate": "points",
    "priority": "priority",
    "dependencies": "dependencies",
    "depends on": "dependencies",
    "dependency": "dependencies",
    "user story": "user_story",
    "story": "user_story",
    "acceptance criteria": "acceptance",
    "tasks": "tasks",
    "subtasks": "subtasks",
    "sub-tasks": "subtasks",
}
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


def is_story_heading(title: str) -> bool:
    return bool(_STORY_HEADING.match(title.strip())) or bool(STORY_ID.match(title.strip()))


def is_epic_heading(title: str) -> bool:
    return bool(_EPIC_HEADING.match(title.strip()))


def label_key(label: str, table: dict[str, str]) -> str | None:
    return table.get(label_name(label))


def flatten(section: HeadingSection) -> Iterator[Block]:
    """A section's blocks in order; sub-headings become label-only paragraphs."""
    yield from section.blocks
    for child in section.children:
        line = Line(text=child.title, line=child.line, label=child.title.rstrip(": "), value="")
        yield Block("paragraph", child.line, child.line, text=child.title, lines=[line])
        yield from flatten(child)


@dataclass
class StoryDraft:
    """A story being read; turned into a ``Story`` once dependencies can be resolved."""

    id: str
    heading: str
    number: str | None
    title: str
    line: int
    end_line: int
    fields: dict[str, str] = field(default_factory=dict)
    user_story: UserStory | None = None
    acceptance: AcceptanceCriteria | None = None
    tasks: list[Task] = field(default_factory=list)
    subtasks: list[Subtask] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    suppressions: list[str] = field(default_factory=list)
    epic_id: str | None = None
    dangling_label: Line | None = None


def read_story(section: HeadingSection, source: str | None) -> StoryDraft:
    heading = section.title.strip()
    match = _STORY_HEADING.match(heading)
    number = match.group("number") if match else None
    title = match.group("title").strip() if match else heading
    id_first = STORY_ID.match(heading)
    if match is None and id_first:  # "### US-001: Title"
        title = heading[id_first.end() :].lstrip(" :-–—.").strip() or heading
    values: dict[str, str] = {}
    draft = StoryDraft(
        id="",
        heading=heading,
        number=number,
        title=title,
        line=section.line,
        end_line=section.end_line,
    )
    pending: Line | None = None
    for block in flatten(section):
        if block.kind == "html":
            draft.suppressions.extend(suppressions(block.text))
            continue
        if block.kind == "hr":
            continue
        if block.kind != "paragraph":
            if pending is not None:
                _attach(draft, label_key(pending.label or "", STORY_LABELS), block)
                pending = None
            elif block.kind == "list" and _looks_like_subtasks(block):
                _attach(draft, "subtasks", block)
            continue
        draft.suppressions.extend(suppressions(block.text))
        carry: list[Line] = []
        for item in block.lines:
            key = label_key(item.label, STORY_LABELS) if item.label else None
            if key is None:
                if pending is not None:
                    carry.append(item)
                continue
            if pending is not None and carry:
                _attach_lines(draft, pending, carry)
            pending, carry = None, []
            if item.value:
                values.setdefault(key, item.value)
                if key == "user_story":
                    draft.user_story = parse_user_story(item.value, item.line)
            else:
                pending = item
        if pending is not None and carry:
            _attach_lines(draft, pending, carry)
            pending = None
    draft.dangling_label = pending
    draft.fields = values
    story_id = values.get("id", "").strip()
    id_match = STORY_ID.search(story_id) or STORY_ID.match(heading)
    if not id_match:
        raise BadInputError(
            f"story {heading!r} has no story id: add a line '**Story ID:** US-123'",
            file=source,
            line=section.line,
        )
    draft.id = id_match.group(1)
    if "title" in values:
        draft.title = values["title"]
    if "dependencies" in values:
        draft.dependencies = parse_dependencies(values["dependencies"])
    return draft


def _attach(draft: StoryDraft, key: str | None, block: Block) -> None:
    """Give the block that follows a value-less label (``**Tasks:**``) to that label."""
    if key == "user_story":
        draft.user_story = parse_user_story(block.text.strip(), block.line)
    elif key == "acceptance":
        draft.acceptance = read_acceptance(block)
    elif key == "tasks" and block.kind == "list":
        draft.tasks.extend(read_tasks(block))
    elif key == "subtasks" and block.kind == "list":
        draft.subtasks.extend(read_subtasks(block))


def _attach_lines(draft: StoryDraft, label: Line, lines: list[Line]) -> None:
    text = "\n".join(item.text for item in lines)
    block = Block("paragraph", lines[0].line, lines[-1].line, text=text, lines=lines)
    _attach(draft, label_key(label.label or "", STORY_LABELS), block)


def _looks_like_subtasks(block: Block) -> bool:
    return bool(block.children) and all(_SUBTASK.match(item.text) for item in block.children)


def read_acceptance(block: Block) -> AcceptanceCriteria:
    """Gherkin from a fence or from paragraph lines; a checklist from a list."""
    if block.kind == "fence":
        steps = parse_gherkin(block.text, block.line + 1)
        return AcceptanceCriteria(steps=steps, raw=block.text, line=block.line)
    if block.kind == "list":
        if block.children and gherkin_line(block.children[0].text):
            text = "\n".join(_item_source(item) for item in block.children)
            return AcceptanceCriteria(
                steps=parse_gherkin(text, block.line), raw=text, line=block.line
            )
        raw = "\n".join(item.text for item in block.children)
        return AcceptanceCriteria(checklist=checklist(block), raw=raw, line=block.line)
    text = block.text
    return AcceptanceCriteria(steps=parse_gherkin(text, block.line), raw=text, line=block.line)


def _item_source(item: Block) -> str:
    lines = [item.text]
    for child in item.children:
        if child.kind == "list":
            lines.extend(f"  - {sub.text}" for sub in child.children)
    return "\n".join(lines)


def checklist(block: Block) -> tuple[ChecklistItem, ...]:
    items: list[ChecklistItem] = []
    for item in block.children:
        text, checked = checkbox(item.text)
        items.append(ChecklistItem(text=text, checked=checked, line=item.line))
    return tuple(items)


def read_tasks(block: Block) -> list[Task]:
    tasks: list[Task] = []
    start = block.level if block.ordered else 1
    for offset, item in enumerate(block.children):
        first = item.text.split("\n", 1)[0]
        title, hours, hours_raw, after = split_hours(first)
        details = [
            sub.text for child in item.children if child.kind == "list" for sub in child.children
        ]
        tasks.append(
            Task(
                number=start + offset if block.ordered else None,
                title=title,
                hours=hours,
                hours_raw=hours_raw,
                roles=parse_roles(after_dash(after) or after.strip()),
                details=tuple(details),
                line=item.line,
            )
        )
    return tasks


def read_subtasks(block: Block) -> list[Subtask]:
    subtasks: list[Subtask] = []
    for item in block.children:
        text = item.text.split("\n", 1)[0]
        match = _SUBTASK.match(text)
        number = match.group("number").rstrip(".") if match else None
        rest = match.group("rest") if match else text
        title, hours, hours_raw, _ = split_hours(rest)
        subtasks.append(
            Subtask(number=number, title=title, hours=hours, hours_raw=hours_raw, line=item.line)
        )
    return subtasks


@dataclass
class EpicDraft:
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
    match = _EPIC_HEADING.match(heading)
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


def heading_kind(title: str) -> str:
    return normalize_heading(title)
