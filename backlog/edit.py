"""Write field values back into a Markdown backlog, touching only the lines that change.

``apply_edits(text, backlog, edits)`` takes the document as read (``backlog`` parsed from
``text``), and per story a field and its new value. Each edit rewrites the value part of the
story's own field line in the file's own style (``**Story Points:** 13``,
``- **Priority**: High``, ``Points: 5``), keeping the label, the emphasis, the spacing, any
text after the value (``13 (re-estimated)``) and the line ending. A ``status``, ``labels``
(``security, ux``) or ``assignee`` with no line yet is added right after the story's last
field line, copying that line's style. A ``criteria`` edit ticks or unticks acceptance
criteria written as ``- [ ]`` checklist items, changing only the character in the box. Titles go
where the title lives: the ``**Title:**`` line, else the story heading after its ``Story 1.2:``
prefix. A ``dependencies`` edit (value: the ids, comma-separated) rewrites the
``**Dependencies:**`` line: the parts naming only ids still wanted (or no item of the file)
kept as written, the other ids added after them with the line's own separator, the file's
word for none (``None``, ``—``) when nothing is left. Every other byte of the document is
left as it was.

A ``sprint`` edit (value: a sprint number, or empty for none) moves the story's commitment
in the sprint plan: its list item with the lines under it, or its table row, goes to the end
of the new sprint's commitments (a new line copying the last one's style when it had none),
and numbered lists that read 1, 2, 3 ... are numbered again.

An edit that cannot be placed (a story written as a table row, a field in a shape this module
does not write) is returned in ``skipped`` with the reason, never guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from backlog.model import Backlog, Story

FIELDS = (
    "title", "heading", "points", "priority", "status", "sprint", "story", "labels", "assignee",
    "criteria", "dependencies", "epic",
)  # fmt: skip
LABELS = {
    "points": ("story points", "points", "estimate", "story point estimate", "sp"),
    "priority": ("priority",),
    "status": ("status", "state"),
    "title": ("title",),
    "labels": ("labels", "label"),
    "assignee": ("assignee", "assigned to"),
    "dependencies": ("dependencies", "depends on", "dependency"),
    "epic": ("epic", "parent epic"),
}
# fields a story may not have a line for yet: added after its last field line, so labelled
ADDED = {"status": "Status", "labels": "Labels", "assignee": "Assignee"}
# how a file says "no dependencies", as the parser reads it (``backlog.markdown.fields``)
NONE_WORDS = frozenset({"none", "-", "–", "—", "n/a", "na", "nil", "no dependencies", "n.a."})
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
EPIC_ID = re.compile(r"\bEPIC-\d+\b", re.IGNORECASE)


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
    moves: list[FieldEdit] = []
    epic_moves: list[FieldEdit] = []
    context = _Context(backlog)
    for edit in edits:
        story = stories.get(edit.story_id)
        if story is None:
            result.skipped.append((edit, f"story {edit.story_id} is not in the file"))
        elif edit.field == "sprint":
            moves.append(edit)  # after the field lines: a status line added moves the plan
        elif edit.field == "epic" and not _has_epic_line(lines, story):
            epic_moves.append(edit)  # the epic is the section it sits in: the story moves
        else:
            placed.append((story, edit))
    # bottom-up: a line added to one story never moves the lines of the stories above it
    for story, edit in sorted(placed, key=lambda pair: -pair[0].line):
        why = _apply(lines, story, edit, context)
        if why:
            result.skipped.append((edit, why))
        else:
            result.applied.append(edit)
    result.text = "".join(lines)
    if epic_moves:
        _move_stories(result, backlog, epic_moves, context)
    if moves:
        from backlog.parse import parse_text  # the plan's lines as they are now

        now = parse_text(result.text, backlog.source) if result.applied else backlog
        result.text = _move_commitments(result.text, now, moves, result)
    return result


def _has_epic_line(lines: list[str], story: Story) -> bool:
    end = min(story.end_line or story.line, len(lines))
    return "epic" in _field_lines(lines, story.line, end)


def _move_stories(
    result: EditResult, backlog: Backlog, edits: list[FieldEdit], context: _Context
) -> None:
    """Each story of ``edits`` moved to the end of its new epic's stories."""
    from backlog.parse import parse_text
    from backlog.story_move import EpicMove, move_stories

    wanted = []
    for edit in edits:
        if edit.value not in context.epics:
            result.skipped.append((edit, _no_epic(edit)))
        else:
            wanted.append(edit)
    now = parse_text(result.text, backlog.source) if result.applied else backlog
    moves = [EpicMove(edit.story_id, edit.value) for edit in wanted]
    result.text, refused = move_stories(result.text, now, moves)
    for edit in wanted:
        if edit.story_id in refused:
            result.skipped.append((edit, refused[edit.story_id]))
        else:
            result.applied.append(edit)


def _no_epic(edit: FieldEdit) -> str:
    if not edit.value:
        return f"{edit.story_id} is in no epic on the tracker; move it by hand"
    return (
        f"{edit.story_id} is under {edit.value} on the tracker, which no epic of the file is; "
        "move it by hand"
    )


@dataclass
class _Context:
    """What an edit needs to know of the whole document: its ids, its word for "none"."""

    backlog: Backlog
    ids: set[str] = field(default_factory=set)
    epics: dict[str, str] = field(default_factory=dict)  # id -> name
    none_word: str = "None"

    def __post_init__(self) -> None:
        self.epics = {e.id: e.name for e in self.backlog.epics}
        self.ids = {s.id for s in self.backlog.iter_stories()} | set(self.epics)
        words: dict[str, int] = {}
        for story in self.backlog.iter_stories():
            raw = (story.dependencies_raw or "").strip()
            if raw.casefold().rstrip(".") in NONE_WORDS:
                words[raw] = words.get(raw, 0) + 1
        if words:  # the file's most used word ("None", "—" ...)
            self.none_word = max(words, key=lambda word: words[word])


def _apply(lines: list[str], story: Story, edit: FieldEdit, context: _Context) -> str | None:
    start = story.line - 1
    end = (story.end_line or story.line) + 1  # room for a status line added above
    if not 0 <= start < len(lines) or not HEADING.match(_body(lines[start])):
        return f"{story.id} is not a Markdown heading section (line {story.line})"
    if edit.field == "story":
        return _set_sentence(lines, story, edit.value)
    if edit.field == "criteria":
        return _set_ticks(lines, story, edit.value)
    found = _field_lines(lines, start + 1, min(end, len(lines)))
    if edit.field == "heading" or (edit.field == "title" and "title" not in found):
        return _set_heading(lines, start, edit.value)
    if edit.field not in LABELS:
        return f"cannot write the field {edit.field!r}"
    if edit.field == "dependencies" and edit.field in found:
        target = found[edit.field]
        new = _dependencies_value(story, target.match["value"], edit.value, context)
        if new is None or new.startswith("!"):
            return new[1:] if new else None
        edit = FieldEdit(edit.story_id, edit.field, new)
    if edit.field == "epic" and edit.field in found:
        if edit.value not in context.epics:
            return _no_epic(edit)
        old = found["epic"].match["value"]
        edit = FieldEdit(edit.story_id, "epic", _epic_value(old, edit.value, story, context))
    if edit.field in found:
        target = found[edit.field]
        lines[target.number] = _replace_value(lines[target.number], target, edit)
        return None
    if edit.field not in ADDED:
        return f"{story.id} has no {edit.field} line to change (line {story.line})"
    if not found:
        return (
            f"{story.id} has no field lines to put a {edit.field} line next to (line {story.line})"
        )
    # next to the estimate and priority lines (as before dependencies became writable)
    near = [f for name, f in found.items() if name not in ("dependencies", "epic")]
    last = max(near or found.values(), key=lambda f: f.number)
    line = _new_line(lines[last.number], last, ADDED[edit.field], edit.value)
    lines.insert(last.number + 1, line)
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


def _dependencies_value(story: Story, old: str, value: str, context: _Context) -> str | None:
    """The dependencies line's new value for the ids ``value`` (comma-separated): the parts
    written before that name only ids still wanted (or no backlog item) kept as written
    (``US-001 (Prometheus deployed)``), the new ids added after them with the file's own
    separator, the file's word for none when nothing is left. ``!reason`` when the line
    cannot be rewritten."""
    wanted = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [target for target in wanted if target not in context.ids]
    if unknown:
        return (
            f"!{story.id} is blocked on the tracker by {', '.join(unknown)}, which no item of "
            "the file is; write that dependency by hand"
        )
    raw = (story.dependencies_raw or "").strip()
    if " ".join(old.split()) != " ".join(raw.split()):
        return (
            f"!{story.id}: the dependencies are not written on their one line; change them by hand"
        )
    kept: list[str] = []
    covered: set[str] = set()
    for dep in story.dependencies:
        if dep.kind == "none":
            continue
        targets = ((dep.target,) if dep.target else ()) + dep.resolved
        if dep.kind == "epic" and not set(dep.resolved) & set(wanted):
            targets = (dep.target,) if dep.target else ()  # the epic's own issue (Jira)
        if all(t in wanted or t not in context.ids for t in targets):
            kept.append(dep.raw.strip())
            covered.update(targets)
    parts = kept + [target for target in wanted if target not in covered]
    if not parts:
        return old if raw.casefold().rstrip(".") in NONE_WORDS else context.none_word
    return ("; " if ";" in raw and "," not in raw else ", ").join(parts)


def _epic_value(old: str, epic_id: str, story: Story, context: _Context) -> str:
    """The ``**Epic:**`` line's value naming ``epic_id`` the way it named the old epic: its id
    replaced (``EPIC-02 (Payments)``, the name too), else just the new id."""
    match = EPIC_ID.search(old)
    if match is None:
        return epic_id
    new = old[: match.start()] + epic_id + old[match.end() :]
    before, after = context.epics.get(story.epic_id or "", ""), context.epics.get(epic_id, "")
    if before and after and before in new:
        new = new.replace(before, after, 1)
    return new


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


def _set_sentence(lines: list[str], story: Story, value: str) -> str | None:
    """The user story sentence replaced where it is written, on its one line."""
    sentence = story.user_story
    if sentence is None or not 0 < sentence.line <= len(lines):
        return f"{story.id} has no user story sentence to change"
    line = lines[sentence.line - 1]
    if _body(line).count(sentence.text) != 1:
        return (
            f"{story.id}: the user story is not written as one plain line "
            f"(line {sentence.line}); change it by hand"
        )
    lines[sentence.line - 1] = line.replace(sentence.text, MARKDOWN_INLINE.sub(r"\\\1", value), 1)
    return None


CHECKBOX = re.compile(r"^(?P<lead>[ \t]*(?:[-*+]|\d+[.)])[ \t]+\[)(?P<box>[ xX✓✔])\]")


def _set_ticks(lines: list[str], story: Story, value: str) -> str | None:
    """Each acceptance criterion named in ``value`` (JSON: text -> ticked) ticked or not,
    changing only the character in its box (``- [ ]`` -> ``- [x]``)."""
    wanted = json.loads(value)
    criteria = story.acceptance_criteria
    changes: list[tuple[int, re.Match[str], bool]] = []
    for item in criteria.checklist if criteria is not None else ():
        ticked = wanted.get(" ".join(item.text.split()))
        if ticked is None or ticked == item.checked:
            continue
        line = lines[item.line - 1] if 0 < item.line <= len(lines) else ""
        match = CHECKBOX.match(line)
        if match is None:  # nothing changed: the story's ticks are written all or none
            return (
                f"{story.id}: the criterion {item.text!r} has no [ ] box to tick "
                f"(line {item.line}); write it as '- [ ] ...'"
            )
        changes.append((item.line - 1, match, ticked))
    for number, match, ticked in changes:
        line = lines[number]
        box = "x" if ticked else " "
        lines[number] = line[: match.start("box")] + box + line[match.end("box") :]
    return None


# what Markdown would read as emphasis or code in a sentence: escaped, so it reads as written
MARKDOWN_INLINE = re.compile(r"([\\*_`])")


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


# --- sprint commitments -----------------------------------------------------------------------

LIST_ITEM = re.compile(r"^(?P<indent>[ \t]*)(?:(?P<number>\d+)(?P<dot>[.)])|[-*+])(?P<gap>[ \t]+)")


def _move_commitments(
    text: str, backlog: Backlog, moves: list[FieldEdit], result: EditResult
) -> str:
    """Each story's commitment (its list item with the lines under it, or its table row)
    moved to the end of the commitments of the sprint named by the edit's value (a number;
    empty: out of every sprint). Numbered lists are numbered again where the numbers were
    1, 2, 3 ...; every other line is left as it was."""
    lines = text.splitlines(keepends=True)
    plan = _Plan(lines)
    sprints = {sprint.number: sprint for sprint in backlog.sprints}
    touched: set[int] = set()
    for edit in moves:
        why = _move(plan, backlog, sprints, edit, touched)
        if why:
            result.skipped.append((edit, why))
        else:
            result.applied.append(edit)
    out, origin = plan.render()
    for number in sorted(touched):
        _renumber(out, origin, sprints[number], lines)
    return "".join(out)


@dataclass
class _Plan:
    """The document's lines, each kept or dropped, with lines inserted after any of them."""

    lines: list[str]
    dropped: set[int] = field(default_factory=set)
    after: dict[int, list[str]] = field(default_factory=dict)

    def render(self) -> tuple[list[str], list[int]]:
        """The lines, and for each the original line it is (or follows, if inserted)."""
        out: list[str] = []
        origin: list[int] = []
        for number, line in enumerate(self.lines):
            if number not in self.dropped:
                out.append(line)
                origin.append(number)
            for extra in self.after.get(number, []):
                out.append(extra)
                origin.append(number)
        return out, origin


def _move(
    plan: _Plan,
    backlog: Backlog,
    sprints: dict[int, Any],
    edit: FieldEdit,
    touched: set[int],
) -> str | None:
    lines = plan.lines
    value = edit.value.strip()
    target = int(value) if value.isdigit() else None
    if value and target is None:
        return f"{edit.value!r} is not a sprint number"
    if target is not None and target not in sprints:
        return f"the file has no Sprint {target} section to commit {edit.story_id} to"
    current = [
        (sprint, item)
        for sprint in backlog.sprints
        for item in sprint.committed
        if item.story_id == edit.story_id and not item.continued
    ]
    if current and current[0][0].number == target:
        return None
    for sprint, item in current[:1]:
        if _commitment_kind(lines, item.line) is None:
            return (
                f"{edit.story_id} is committed to sprint {sprint.number} as a section of its "
                f"own (line {item.line}); move it by hand"
            )
    goal = sprints[target] if target is not None else None
    if goal is not None and not goal.committed:
        return f"Sprint {target} commits no story to put {edit.story_id} after"
    if goal is not None and _commitment_kind(lines, goal.committed[-1].line) is None:
        where = goal.committed[-1].line
        return f"Sprint {target} lists its stories as sections (line {where}); move it by hand"
    block: list[str] = []
    if current:
        sprint, item = current[0]
        start, end = _block(lines, item.line - 1, sprint)
        block = lines[start:end]
        plan.dropped.update(range(start, end))
        if _spaced(lines, sprint):  # the blank line between it and its neighbour goes too
            later = [c for c in sprint.committed if c.line > item.line]
            blank = end if later else start - 1
            if 0 <= blank < len(lines) and not lines[blank].strip():
                plan.dropped.add(blank)
        touched.add(sprint.number)
    if goal is None:
        return None
    last = goal.committed[-1]
    if not block:
        story = next(s for s in backlog.iter_stories() if s.id == edit.story_id)
        made = _new_commitment(lines[last.line - 1], last, story)
        if made is None:
            return f"cannot write a commitment line for {edit.story_id} like line {last.line}"
        block = [made]
    _start, end = _block(lines, last.line - 1, goal)
    block = _ended(block, lines[end - 1])
    plan.after.setdefault(end - 1, []).extend((["\n"] if _spaced(lines, goal) else []) + block)
    touched.add(goal.number)
    return None


def _commitment_kind(lines: list[str], line: int) -> str | None:
    body = _body(lines[line - 1]) if 0 < line <= len(lines) else ""
    if body.lstrip().startswith("|"):
        return "row"
    if LIST_ITEM.match(body):
        return "item"
    return None


def _block(lines: list[str], start: int, sprint: Any) -> tuple[int, int]:
    """The commitment starting at ``start``: a table row, or a list item and the lines
    indented under it (up to a blank line or the next item)."""
    if _commitment_kind(lines, start + 1) == "row":
        return start, start + 1
    match = LIST_ITEM.match(_body(lines[start]))
    indent = len(match["indent"]) if match else 0
    end = start + 1
    limit = min(len(lines), sprint.end_line or len(lines))
    while end < limit:
        body = _body(lines[end])
        if not body.strip() or len(body) - len(body.lstrip()) <= indent:
            break
        end += 1
    return start, end


def _spaced(lines: list[str], sprint: Any) -> bool:
    """Whether the sprint's commitments (list items) are separated by blank lines."""
    starts = [item.line - 1 for item in sprint.committed]
    if not starts or _commitment_kind(lines, starts[0] + 1) != "item":
        return False
    return any(0 < n <= len(lines) and not lines[n - 1].strip() for n in starts[1:])


def _ended(block: list[str], like: str) -> list[str]:
    """``block`` whose last line ends like ``like`` (a block taken from the end of a file)."""
    if block and not _ending(block[-1]):
        return [*block[:-1], block[-1] + (_ending(like) or "\n")]
    return block


def _new_commitment(like: str, item: Any, story: Story) -> str | None:
    """A commitment for ``story`` written like the line of ``item`` (its id, title and
    points replaced); None when that line does not show them plainly."""
    body = _body(like)
    if item.story_id not in body or (item.title and item.title not in body):
        return None
    new = body.replace(item.story_id, story.id, 1)
    if item.title:
        new = new.replace(item.title, story.title or story.heading, 1)
    if item.points is not None:
        if story.points is None or len(re.findall(rf"\b{item.points}\b", new)) != 1:
            return None
        new = re.sub(rf"\b{item.points}\b", str(story.points), new, count=1)
    return new + (_ending(like) or "\n")


def _renumber(out: list[str], origin: list[int], sprint: Any, lines: list[str]) -> None:
    """Number the sprint's top-level numbered items 1, 2, 3 ... again, if they were."""
    if not sprint.committed:
        return
    first = min(item.line - 1 for item in sprint.committed)
    head = LIST_ITEM.match(_body(lines[first]))
    if head is None or not head["number"]:
        return
    limit = min(len(lines), sprint.end_line or len(lines))
    end = max(item.line for item in sprint.committed)  # the list goes on while items do
    while end < limit and (
        not lines[end].strip() or lines[end][:1] in " \t" or LIST_ITEM.match(lines[end])
    ):
        end += 1

    def top(line: str) -> re.Match[str] | None:
        match = LIST_ITEM.match(_body(line))
        good = match is not None and match["number"] and match["indent"] == head["indent"]
        return match if good else None

    before = [int(m["number"]) for line in lines[first:end] if (m := top(line))]
    if before != list(range(before[0], before[0] + len(before))):
        return  # not numbered 1, 2, 3 ...: left as written
    spots = [
        (index, match)
        for index, line in enumerate(out)
        if first <= origin[index] < end and (match := top(line))
    ]
    for expected, (index, match) in enumerate(spots, start=int(head["number"])):
        if int(match["number"]) != expected:
            line = out[index]
            out[index] = line[: match.start("number")] + str(expected) + line[match.end("number") :]
