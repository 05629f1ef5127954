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
    label_name,
    parse_dependencies,
    parse_gherkin,
    parse_user_story,
    suppressions,
)
from backlog.markdown.parts import (
    looks_like_subtasks,
    read_acceptance,
    read_subtasks,
    read_tasks,
)
from backlog.markdown.yamlish import read_fields
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

STORY_LABELS = {
    "story id": "id",
    "user story id": "id",
    "id": "id",
    "title": "title",
    "story points": "points",
    "story point": "points",
    "points": "points",
    "sp": "points",
    "estimate": "points",
    "estimation": "points",
    "size": "points",
    "t-shirt size": "points",
    "priority": "priority",
    "dependencies": "dependencies",
    "depends on": "dependencies",
    "dependency": "dependencies",
    "user story": "user_story",
    "story": "user_story",
    "acceptance criteria": "acceptance",
    "acceptance criterion": "acceptance",
    "criteria of satisfaction": "acceptance",
    "conditions of satisfaction": "acceptance",
    "validation criteria": "acceptance",
    "tasks": "tasks",
    "technical tasks": "tasks",
    "task breakdown": "tasks",
    "subtasks": "subtasks",
    "sub-tasks": "subtasks",
    "epic": "epic",
    "parent epic": "epic",
    "sprint": "sprint",
    "suggested sprint": "sprint",
    "target sprint": "sprint",
    "planned sprint": "sprint",
    "status": "status",
    "labels": "labels",
    "label": "labels",
    "assignee": "assignee",
    "assigned to": "assignee",
}


_NUMBERING = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[A-Z]\.)\s+(?=\S)")


def strip_numbering(title: str) -> str:
    """``6.1 Epic 1: Auth`` -> ``Epic 1: Auth``: section numbers in front of a heading."""
    title = title.strip()
    return _NUMBERING.sub("", title, count=1) if title[:1].isdigit() else title


def is_story_heading(title: str) -> bool:
    bare = strip_numbering(title)
    return bool(_STORY_HEADING.match(bare)) or bool(STORY_ID.match(bare))


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
    generated_id: bool = False
    used: list[Block] = field(default_factory=list)
    spill: list[Block] = field(default_factory=list)
    field_lines: dict[str, int] = field(default_factory=dict)
    section_blocks: list[Block] = field(default_factory=list)


def read_story(section: HeadingSection, source: str | None) -> StoryDraft:
    heading = section.title.strip()
    bare = strip_numbering(heading)
    match = _STORY_HEADING.match(bare)
    number = match.group("number") if match else None
    title = match.group("title").strip() if match else heading
    id_first = STORY_ID.match(bare)
    if match is None and id_first:  # "### US-001: Title", "### SF-01 — Title"
        title = bare[id_first.end() :].lstrip(" :-–—.").strip() or heading
    draft = StoryDraft(
        id="",
        heading=heading,
        number=number,
        title=title,
        line=section.line,
        end_line=section.end_line,
    )
    if id_first:
        draft.id = id_first.group(1)
    draft.section_blocks = list(flatten(section))
    read_story_blocks(draft, draft.section_blocks)
    story_id = draft.fields.get("id", "").strip().strip("~*` ")
    id_match = STORY_ID.search(story_id) or STORY_ID.match(bare)
    if id_match:
        draft.id = id_match.group(1)
    elif story_id and _PLAIN_ID.fullmatch(story_id):
        draft.id = story_id
    elif not section.blocks and not section.children and section.end_line <= section.line + 1:
        # A story heading with nothing under it at the very end: a cut-off document.
        raise BadInputError(
            f"story {heading!r} has no story id and nothing under it (is the document "
            "truncated?); add a line '**Story ID:** US-123'",
            file=source,
            line=section.line,
        )
    else:
        draft.id = generated_id(number, title or heading)
        draft.generated_id = True
    finish_fields(draft)
    return draft


def finish_fields(draft: StoryDraft) -> None:
    """Title and dependencies from the fields read (after the id is settled)."""
    values = draft.fields
    if values.get("title"):
        draft.title = values["title"]
    if "dependencies" in values:
        draft.dependencies = parse_dependencies(values["dependencies"])


def generated_id(number: str | None, title: str) -> str:
    """A stable id for a story the file gives none: its numbering, else its title."""
    if number:
        return f"US-{number}"
    slug = "-".join(re.findall(r"[A-Za-z0-9]+", title.upper()))[:40].strip("-")
    return f"US-{slug or 'STORY'}"


def read_story_blocks(draft: StoryDraft, blocks: list[Block]) -> None:
    """Read a story's fields from its blocks (bold labels, label bullets, sentences, lists).

    Blocks used for a field are recorded in ``draft.used`` so that the caller can report
    the rest as not understood.
    """
    pending: Line | None = None
    for block in _expand(blocks, draft):
        if block.kind == "html":
            draft.suppressions.extend(suppressions(block.text))
            draft.used.append(block)
            continue
        if block.kind == "hr":
            draft.used.append(block)
            continue
        if block.kind != "paragraph":
            if _is_other_story(draft, block):
                draft.spill.append(block)  # a story-looking item never joins this story
            elif pending is not None:
                _attach(draft, label_key(pending.label or "", STORY_LABELS), block)
                draft.used.append(block)
                pending = None
            elif block.kind == "list" and looks_like_subtasks(block):
                _attach(draft, "subtasks", block)
                draft.used.append(block)
            elif block.kind == "list" and draft.acceptance is None and draft.user_story:
                # Plain bullets right after the user story: its acceptance criteria.
                draft.acceptance = read_acceptance(block)
                draft.used.append(block)
            elif block.kind == "fence" and read_yaml_story(draft, block):
                draft.used.append(block)
            continue
        draft.suppressions.extend(suppressions(block.text))
        carry: list[Line] = []
        sentence: list[Line] = []
        understood = False
        for item in block.lines:
            key = label_key(item.label, STORY_LABELS) if item.label else None
            if key is None:
                if sentence and not _is_label_line(item):
                    sentence.append(item)
                    continue
                if pending is not None:
                    carry.append(item)
                elif draft.user_story is None and _USER_STORY_START.match(item.text):
                    sentence = [item]
                continue
            understood = True
            _finish_sentence(draft, sentence)
            sentence = []
            if pending is not None and carry:
                _attach_lines(draft, pending, carry)
            pending, carry = None, []
            if item.value:
                _set_value(draft, key, item)
            else:
                pending = item
        if sentence:
            _finish_sentence(draft, sentence)
            understood = True
        if pending is not None and carry:
            _attach_lines(draft, pending, carry)
            pending = None
            understood = True
        if understood or pending is not None:
            draft.used.append(block)
    draft.dangling_label = pending


_STORY_INTRO = re.compile(rf"^\W*(?P<id>{STORY_ID.pattern})\s*[:—–-]\s*(?P<rest>.*)$", re.S)
_YAML_INFO = ("yaml", "yml")


def _is_other_story(draft: StoryDraft, block: Block) -> bool:
    """A YAML story block or ``- US-005 — ...`` item that names another story's id."""
    if block.kind == "fence" and block.info.casefold() in _YAML_INFO:
        fields = read_fields(block.text, block.line + 1)
        other = fields.get("id")
        return bool(
            other and draft.id and STORY_ID.fullmatch(other.value) and other.value != draft.id
        )
    if block.kind == "list" and block.children:
        for item in block.children:
            intro = _STORY_INTRO.match(item.text)
            if intro is None or intro.group("id") == draft.id:
                return False  # checked item by item: task lists fail on the first
        return True
    return False


def read_yaml_story(draft: StoryDraft, block: Block) -> bool:
    """Fields of a story written as a fenced YAML block (``id:``, ``as_a:``, ...)."""
    fields = read_fields(block.text, block.line + 1)
    if not fields.keys() & _YAML_STORY_KEYS:
        return False
    for name, item in fields.items():
        key = _YAML_KEYS.get(name) or label_key(name.replace("_", " "), STORY_LABELS)
        if key in (None, "acceptance", "user_story", "tasks"):
            continue
        value = item.value or ", ".join(item.items)
        if value and key is not None:
            draft.fields.setdefault(key, value.strip("[] "))
    if draft.user_story is None:
        parts = [fields[name].value for name in ("as_a", "i_want", "so_that") if name in fields]
        if parts:
            draft.user_story = parse_user_story(
                ", ".join(parts), fields["as_a"].line if "as_a" in fields else block.line
            )
    criteria = fields.get("acceptance_criteria") or fields.get("acceptance")
    if criteria is not None and draft.acceptance is None and (criteria.items or criteria.value):
        texts = criteria.items or [criteria.value]
        lines = criteria.item_lines or [criteria.line]
        raw = "\n".join(texts)
        draft.acceptance = AcceptanceCriteria(
            steps=parse_gherkin(raw, criteria.line),
            checklist=tuple(
                ChecklistItem(text=" ".join(text.split()), line=line)
                for text, line in zip(texts, lines, strict=False)
            ),
            raw=raw,
            line=criteria.line,
        )
    return True


_YAML_STORY_KEYS = frozenset({"id", "as_a", "i_want", "so_that", "acceptance_criteria"})
_YAML_KEYS = {"story_points": "points", "as_a": "user_story", "i_want": "user_story"}


_PLAIN_ID = re.compile(r"[A-Za-z]*[-_]?\d{1,6}")
_USER_STORY_START = re.compile(r"^\W*(?:as\s+(?:an?|the)\b|en\s+tant\s+que\b)", re.I)
_PIPE_PART = re.compile(r"^\s*(?P<label>[^:|]{1,40}):(?P<value>.*)$")


def _is_label_line(item: Line) -> bool:
    return bool(item.label and item.value)


def _finish_sentence(draft: StoryDraft, lines: list[Line]) -> None:
    if not lines or draft.user_story is not None:
        return
    text = " ".join(line.text.strip("* ") for line in lines)
    draft.user_story = parse_user_story(text, lines[0].line)


def _set_value(draft: StoryDraft, key: str, item: Line) -> None:
    """A ``Label: value`` line; ``P0 | Size: S`` style combined lines give several fields."""
    value = item.value.strip()
    if " | " in value:
        first, *others = value.split(" | ")
        value = first.strip()
        for part in others:
            match = _PIPE_PART.match(part)
            other = label_key(match.group("label"), STORY_LABELS) if match else None
            if match and other and match.group("value").strip():
                draft.fields.setdefault(other, match.group("value").strip())
                draft.field_lines.setdefault(other, item.line)
    draft.fields.setdefault(key, value)
    draft.field_lines.setdefault(key, item.line)
    if key == "user_story" and draft.user_story is None:
        draft.user_story = parse_user_story(value.strip("*_ "), item.line)
    elif key == "acceptance" and draft.acceptance is None:
        draft.acceptance = AcceptanceCriteria(
            checklist=(ChecklistItem(text=value, line=item.line),), raw=value, line=item.line
        )


def _expand(blocks: list[Block], draft: StoryDraft) -> Iterator[Block]:
    """Lists of ``* **Label:** value`` bullets read like label paragraphs."""
    for block in blocks:
        if block.kind == "list" and _is_label_list(block):
            draft.used.append(block)
            for item in block.children:
                yield Block("paragraph", item.line, item.line, text=item.text, lines=item.lines)
                yield from item.children
        else:
            yield block


def _is_label_list(block: Block) -> bool:
    """A list whose first or second item is a ``**Label:** value`` field bullet."""
    return any(
        item.lines and item.lines[0].label and label_key(item.lines[0].label, STORY_LABELS)
        for item in block.children[:2]
    )


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
