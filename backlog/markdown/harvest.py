"""Stories written without a story heading: table rows, list items and fenced YAML blocks.

- A **story table** has an id column (``ID``, ``Story ID``, ``Order / ID``) or a story column
  (``User Story``, ``Story Title``, ``Backlog item``), and rows whose id cell holds a story id
  (``US-01``, ``1 / SF-01``; bare numbers only under a header that says "id"). Optional
  columns: points/estimate/size, priority, sprint, status, epic, acceptance/validation
  criteria, dependencies.
- A **story list item** starts with ``**User Story ID**: 1`` or ``US-005 — As a ...``, or is a
  user story sentence itself (``- [ ] As a user, I want ...``).
- An **epic list item** starts with an epic id: ``* **EPIC-01: Identity & Access**``.

Everything here returns drafts; :mod:`backlog.markdown.reader` decides where they belong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from backlog.markdown.blocks import Block, Line
from backlog.markdown.epic import EpicDraft
from backlog.markdown.fields import EPIC_ID, STORY_ID, checkbox, parse_user_story
from backlog.markdown.story import (
    STORY_LABELS,
    StoryDraft,
    finish_fields,
    generated_id,
    label_key,
    read_story_blocks,
    read_yaml_story,
)
from backlog.model import AcceptanceCriteria, ChecklistItem

_NUMBER_ID = re.compile(r"^\d{1,6}$")
_USER_STORY = re.compile(r"^\W*(?:as\s+(?:an?|the)\b|en\s+tant\s+que\b)", re.I)
_INTRO = re.compile(rf"^\W*(?P<id>{STORY_ID.pattern})\s*[:—–-]\s*(?P<rest>.*)$", re.S)
_EPIC_ITEM = re.compile(r"^(?P<id>EPIC-\d+)\s*[:—–-]\s*(?P<name>.*)$", re.I | re.S)
_SPRINT_NUMBER = re.compile(r"(?:sprint\s*)?(\d{1,4})", re.I)


@dataclass
class StoryRow:
    """A story as one table row: what the row says, cell by cell."""

    id: str
    line: int
    fields: dict[str, str]
    generated: bool = False


def clean_cell(text: str) -> str:
    """A cell without strikethrough tildes and surrounding emphasis."""
    text = text.strip()
    if text.startswith("~") and text.endswith("~"):  # string methods: no regex backtracking
        text = text.strip("~").strip()
    return text.strip("*_ ").strip()


def _column(header: list[str], *names: str, exclude: tuple[int, ...] = ()) -> int | None:
    for name in names:
        for index, cell in enumerate(header):
            if index in exclude:
                continue
            if cell == name or re.search(rf"(?<![a-z]){re.escape(name)}(?![a-z])", cell):
                return index
    return None


def story_table_columns(header: list[str]) -> dict[str, int] | None:
    """Column roles of a story table, or None when the header is not one."""
    folded = [" ".join(clean_cell(cell).casefold().split()) for cell in header]
    cols: dict[str, int] = {}
    id_col = _column(folded, "story id", "user story id", "id", "key", "ticket")
    if id_col is not None:
        cols["id"] = id_col
    taken = tuple(cols.values())
    story = _column(
        folded, "story title", "title", "backlog item", "user story", "story", "summary", "name",
        exclude=taken,
    )  # fmt: skip
    if story is not None:
        cols["title"] = story
    if "id" not in cols and story is None:
        return None
    if "id" not in cols:
        cols["id"] = story  # type: ignore[assignment]
    optional = {
        "points": ("story points", "points", "sp", "estimate", "size", "t-shirt"),
        "priority": ("priority", "moscow"),
        "sprint": ("sprint", "iteration"),
        "status": ("status", "state"),
        "epic": ("epic", "feature"),
        "acceptance": ("acceptance criteria", "validation criteria", "acceptance", "criteria"),
        "dependencies": ("dependencies", "depends on", "dependency"),
    }
    for role, names in optional.items():
        index = _column(folded, *names, exclude=tuple(cols.values()))
        if index is not None and not (role == "points" and "hour" in folded[index]):
            cols[role] = index
    cols["_numeric_ids"] = int(id_col is not None)
    return cols


def unread_columns(block: Block) -> list[str]:
    """The headers of a story table's columns that no field reads (their cells are dropped)."""
    cols = story_table_columns(block.rows[0]) if block.kind == "table" and block.rows else None
    if cols is None:
        return []
    cols.pop("_numeric_ids")
    used = set(cols.values())
    return [
        name
        for index, cell in enumerate(block.rows[0])
        if index not in used and (name := clean_cell(cell))
    ]


def story_rows(block: Block) -> list[StoryRow]:
    """The story rows of a table (empty when it is not a story table)."""
    if block.kind != "table" or len(block.rows) < 2:
        return []
    cols = story_table_columns(block.rows[0])
    if cols is None:
        return []
    numeric_ok = bool(cols.pop("_numeric_ids"))
    rows: list[StoryRow] = []
    seen: set[str] = set()
    for cells, line in zip(block.rows[1:], block.row_lines[1:], strict=False):
        values = {
            role: clean_cell(cells[index]) for role, index in cols.items() if index < len(cells)
        }
        raw_id = values.pop("id", "")
        match = STORY_ID.search(raw_id)
        if match:
            story_id = match.group(1)
        elif numeric_ok and _NUMBER_ID.match(raw_id):
            story_id = raw_id
        elif not numeric_ok and _USER_STORY.match(raw_id):
            # No id column, a user story sentence: a story whose id has to be generated.
            story_id = generated_id(None, _short_title(raw_id))
            base, count = story_id, 1
            while story_id in seen:  # two rows must never merge into one story
                count += 1
                story_id = f"{base}-{count}"
            seen.add(story_id)
            fields = {k: v for k, v in values.items() if v}
            rows.append(StoryRow(story_id, line, fields, generated=True))
            continue
        else:
            continue
        if values.get("title") and STORY_ID.fullmatch(values["title"]):
            values.pop("title")
        rows.append(StoryRow(story_id, line, {k: v for k, v in values.items() if v}))
    return rows


def row_story(row: StoryRow) -> StoryDraft:
    """A new story from a table row that no story section describes."""
    title = row.fields.get("title", "")
    draft = StoryDraft(
        id=row.id, heading="", number=None, title=title, line=row.line, end_line=row.line
    )
    draft.generated_id = row.generated
    merge_row(draft, row)
    if _USER_STORY.match(title):
        draft.title = _short_title(title)
    finish_fields(draft)
    return draft


def merge_row(draft: StoryDraft, row: StoryRow) -> None:
    """Fill the fields a story section leaves out from its table row (the section wins)."""
    for key in ("points", "priority", "dependencies", "sprint", "status", "epic"):
        if key in row.fields:
            draft.fields.setdefault(key, row.fields[key])
    title = row.fields.get("title", "")
    if title and draft.user_story is None and _USER_STORY.match(title):
        draft.user_story = parse_user_story(title, row.line)
    if not draft.title and title and not _USER_STORY.match(title):
        draft.title = title
    criteria = row.fields.get("acceptance")
    if criteria and draft.acceptance is None:
        draft.acceptance = AcceptanceCriteria(
            checklist=(ChecklistItem(text=criteria, line=row.line),), raw=criteria, line=row.line
        )


def _short_title(sentence: str) -> str:
    """A title from a user story sentence: what the user wants (first eight words)."""
    story = parse_user_story(sentence, 0)
    words = (story.want or sentence).split()
    if story.want and words[0].casefold() in ("to", "be", "can"):
        words = words[1:] or words
    title = " ".join(words[:8]).rstrip(",.;")
    return title[:1].upper() + title[1:]


def list_stories(block: Block) -> list[StoryDraft]:
    """Stories written as list items (empty when the list is not a list of stories)."""
    if block.kind != "list" or not block.children:
        return []
    drafts: list[StoryDraft] = []
    for item in block.children:
        draft = _item_story(item)
        if draft is None:
            return []
        drafts.append(draft)
    return drafts


def _item_story(item: Block) -> StoryDraft | None:
    first = item.lines[0] if item.lines else Line(text=item.text, line=item.line)
    key = label_key(first.label, STORY_LABELS) if first.label else None
    text, _ = checkbox(item.text)
    intro = _INTRO.match(text)
    if key == "id" and first.value:
        draft = StoryDraft(
            id="", heading="", number=None, title="", line=item.line, end_line=_end(item)
        )
        read_story_blocks(draft, [_paragraph(item), *item.children])
        story_id = draft.fields.get("id", "").strip()
        found = STORY_ID.search(story_id)
        draft.id = found.group(1) if found else story_id
        if draft.user_story is not None and not draft.title:
            draft.title = _short_title(draft.user_story.text)
        finish_fields(draft)
        return draft if draft.id else None
    if intro is None and not _USER_STORY.match(text):
        return None
    sentence = intro.group("rest") if intro else text
    title = _short_title(sentence)
    draft = StoryDraft(
        id=intro.group("id") if intro else generated_id(None, title),
        heading="",
        number=None,
        title=title,
        line=item.line,
        end_line=_end(item),
    )
    draft.generated_id = intro is None
    draft.user_story = parse_user_story(" ".join(sentence.split()), item.line)
    read_story_blocks(draft, list(item.children))
    finish_fields(draft)
    return draft


def _end(item: Block) -> int:
    return max([item.end_line, *(child.end_line for child in item.children)])


def _paragraph(item: Block) -> Block:
    return Block("paragraph", item.line, item.line, text=item.text, lines=item.lines)


def yaml_story(block: Block) -> StoryDraft | None:
    """A story written as one fenced YAML block with an ``id:`` key."""
    if block.kind != "fence" or block.info.casefold() not in ("yaml", "yml"):
        return None
    draft = StoryDraft(
        id="", heading="", number=None, title="", line=block.line, end_line=block.end_line
    )
    if not read_yaml_story(draft, block):
        return None
    found = STORY_ID.search(draft.fields.get("id", ""))
    if found is None:
        return None
    draft.id = found.group(1)
    finish_fields(draft)
    return draft


def epic_items(block: Block) -> list[EpicDraft]:
    """Epics written as list items: ``* **EPIC-01: Identity & Access** ...``."""
    if block.kind != "list":
        return []
    epics: list[EpicDraft] = []
    for item in block.children:
        first = item.text.split("\n", 1)[0].strip("* ")
        match = _EPIC_ITEM.match(first)
        if match is None:
            return []
        epics.append(
            EpicDraft(
                id=match.group("id").upper(),
                name=match.group("name").strip("* "),
                heading="",
                number=int(match.group("id").split("-")[1]),
                line=item.line,
                end_line=_end(item),
            )
        )
    return epics


def epic_reference(text: str) -> str | None:
    """The epic id a story's ``Epic:`` field names (``EPIC-01 (IAM)`` -> ``EPIC-01``)."""
    match = EPIC_ID.search(text)
    return match.group(1).upper() if match else None


def sprint_number(text: str) -> int | None:
    """``Sprint 2``, ``2``, ``S2`` -> 2."""
    match = _SPRINT_NUMBER.search(text)
    return int(match.group(1)) if match else None
