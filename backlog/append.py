"""Append stories created in a tracker to their epic in the Markdown, in the file's own style.

``append_stories(text, backlog, stories)`` adds each new story after the last story of its
epic, written like that story: its heading (the id or the number in it moved on: ``### Story
1.7: ...`` -> ``### Story 1.8: <title>``, ``#### SH-003: ...`` -> ``#### SH-011: <title>``),
its field lines (same bullets, emphasis, colons: the id, title, points, priority, status and
"None" for dependencies; other fields such as the sprint or the owner are not guessed), and
the separator that follows it (``---``). The id follows the file's pattern (``US-030`` after
``US-029``, zero-padded as the others). Every other byte of the document is left as it was.

An epic whose stories are rows of a story table (``| US-01 | User Login | High | #1 |``) gets
a new row right under its last one, written like it (``backlog.append_rows``): the same
columns, pipes and padding, the next id of the file's pattern, the points, priority and status
cells filled where the table has those columns.

A story that cannot be placed (an epic with no story to copy) is returned in ``skipped`` with
the reason; each addition is checked by reading the document again (the new story must read
back with its id, in its epic, and not as a commitment of a sprint).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from backlog.append_rows import row_template
from backlog.edit import BOLD_LABEL, HEADING, LABELS
from backlog.model import Backlog, Story

ID_LABELS = ("story id", "id", "story")
RULE = re.compile(r"^[ \t]*(?:-{3,}|\*{3,}|_{3,})[ \t]*$")
TRAILING_ID = re.compile(r"^(?P<prefix>.*?)(?P<number>\d+)$")


@dataclass(frozen=True)
class NewStory:
    """A story found in a tracker under a linked epic, not yet in the file."""

    epic_id: str  # the backlog id of its epic
    title: str
    points: float | None = None
    priority: str | None = None  # in the backlog's own words
    status: str | None = None
    source: str = ""  # the tracker's key, for messages


@dataclass
class AppendResult:
    text: str
    added: list[tuple[NewStory, str]] = field(default_factory=list)  # (story, its new id)
    skipped: list[tuple[NewStory, str]] = field(default_factory=list)


def append_stories(text: str, backlog: Backlog, stories: Iterable[NewStory]) -> AppendResult:
    """``text`` with every placeable new story appended to its epic (see the module doc)."""
    result = AppendResult(text)
    by_epic: dict[str, list[NewStory]] = {}
    for story in stories:
        by_epic.setdefault(story.epic_id, []).append(story)
    taken = {story.id for story in backlog.iter_stories()}
    epics = {epic.id: epic for epic in backlog.epics}
    ids = _IdPattern(list(backlog.iter_stories()))
    lines = text.splitlines(keepends=True)

    # bottom-up: an insertion never moves the epics above it
    def position(epic_id: str) -> int:
        epic = epics.get(epic_id)
        if epic is None:
            return 0
        template = _template(epic, lines)
        if template is not None:
            return template.end_line
        row = row_template(epic, lines)
        return row.index + 1 if row is not None else 0

    order = sorted(by_epic, key=lambda epic_id: -position(epic_id))
    for epic_id in order:
        wanted = by_epic[epic_id]
        epic = epics.get(epic_id)
        if epic is None:
            result.skipped += [(story, f"epic {epic_id} is not in the file") for story in wanted]
            continue
        template = _template(epic, lines)
        row = row_template(epic, lines) if template is None else None
        if template is None and row is None:
            why = (
                f"epic {epic_id} has no story to copy (written as a heading section, or as a "
                "row of a story table with an id column)"
            )
            result.skipped += [(story, why) for story in wanted]
            continue
        block: list[str] = []
        planned: list[tuple[NewStory, str]] = []
        numbers = [s.number for s in epic.stories if s.number]
        for story in wanted:
            if row is not None:  # a row of the epic's story table: the file's next id
                new_id = ids.next(taken)
                taken.add(new_id)
                values = {"points": _points(story.points), "priority": story.priority,
                          "status": story.status}  # fmt: skip
                block.append(row.write(story.title, new_id, values, story.source))
                planned.append((story, new_id))
                continue
            assert template is not None
            number = _next_number(numbers)
            if number:
                numbers.append(number)
            derived = number and template.number and template.id.endswith(template.number)
            if derived and number:  # ids read from the heading's number (US-1.4)
                new_id = template.id[: -len(str(template.number))] + number
            else:
                new_id = ids.next(taken)
            if new_id in taken:
                result.skipped.append((story, f"the next id {new_id} is taken"))
                continue
            taken.add(new_id)
            written = _write(lines, template, story, new_id, number)
            if written is None:
                result.skipped.append((story, f"the heading of {template.id} has no place "
                                              "for an id or a title"))  # fmt: skip
                continue
            block += written
            planned.append((story, new_id))
        if not planned:
            continue
        if row is not None:  # right under the template row, in its table
            at = row.index + 1
            candidate = lines[:at] + block + lines[at:]
        else:
            assert template is not None
            at = template.end_line  # after the last line of the template story
            candidate = lines[:at] + _separated(lines[:at], block) + lines[at:]
        bad = _unread(candidate, backlog.source or "", epic_id, [new_id for _, new_id in planned])
        if bad:
            result.skipped += [(s, "did not read back as a story of its epic "
                               "outside the sprint plan")
                               for s, i in planned if i in bad]  # fmt: skip
            continue
        lines = candidate
        result.added += planned
    result.text = "".join(lines)
    return result


def _unread(lines: list[str], source: str, epic_id: str, new_ids: list[str]) -> set[str]:
    """The new ids that do not read back as stories of ``epic_id`` outside every sprint (a
    row that a sprint's table would commit is not written)."""
    from backlog.parse import parse_text

    parsed = parse_text("".join(lines), source)
    found = {s.id: s for s in parsed.iter_stories()}
    committed = {i for sprint in parsed.sprints for i in sprint.committed_story_ids}
    return {i for i in new_ids if i not in found or found[i].epic_id != epic_id or i in committed}


class _IdPattern:
    """The file's story id pattern: the most common prefix before a trailing number, and the
    width its numbers are written with (``US-`` and 3 for ``US-001``)."""

    def __init__(self, stories: list[Story]) -> None:
        counts: dict[str, int] = {}
        widths: dict[str, int] = {}
        self.highest: dict[str, int] = {}
        for story in stories:
            match = TRAILING_ID.match(story.id)
            if match is None:
                continue
            prefix, digits = match["prefix"], match["number"]
            counts[prefix] = counts.get(prefix, 0) + 1
            widths[prefix] = max(widths.get(prefix, 0), len(digits))
            self.highest[prefix] = max(self.highest.get(prefix, 0), int(digits))
        self.prefix = max(counts, key=lambda p: counts[p]) if counts else "US-"
        self.width = widths.get(self.prefix, 3)
        if "." in self.prefix:  # US-1.4: numbered per epic; the file's own ids use "US-"
            self.prefix = self.prefix.split(".")[0].rstrip("0123456789") or "US-"

    def next(self, taken: set[str]) -> str:
        number = self.highest.get(self.prefix, 0) + 1
        while True:
            candidate = f"{self.prefix}{number:0{self.width}d}"
            if candidate not in taken:
                self.highest[self.prefix] = number
                return candidate
            number += 1


def _template(epic: object, lines: list[str]) -> Story | None:
    """The epic's last story written as a Markdown heading section."""
    stories = getattr(epic, "stories", ())
    for story in reversed(stories):
        start = story.line - 1
        if 0 <= start < len(lines) and HEADING.match(lines[start].rstrip("\r\n")):
            return story  # type: ignore[no-any-return]
    return None


def _next_number(numbers: list[str]) -> str | None:
    """``1.7`` -> ``1.8``; ``21`` -> ``22``; None when the stories carry no number."""
    if not numbers:
        return None
    last = numbers[-1]
    head, _, tail = last.rpartition(".")
    if not tail.isdigit():
        return None
    same = [n for n in numbers if n.rpartition(".")[0] == head and n.rpartition(".")[2].isdigit()]
    top = max(int(n.rpartition(".")[2]) for n in same)
    return f"{head}.{top + 1}" if head else str(top + 1)


def _write(
    lines: list[str], template: Story, story: NewStory, new_id: str, number: str | None
) -> list[str] | None:
    start, end = template.line - 1, template.end_line
    heading = _heading(lines[start], template, story.title, new_id, number)
    if heading is None:
        return None
    ending = lines[start][len(lines[start].rstrip("\r\n")) :] or "\n"
    body = lines[start + 1 : end]
    fields = _fields(body, story, new_id, ending)
    tail: list[str] = []  # the separator after the template: ["\n", "---\n", "\n"]
    for line in reversed(body):
        if line.strip() and not RULE.match(line.rstrip("\r\n")):
            break
        tail.insert(0, line)
    while tail and not tail[0].strip():
        tail = tail[1:]
    gap = [ending] if fields and body and not body[0].strip() else []
    return [heading, *gap, *fields, ending, *tail]


def _heading(line: str, template: Story, title: str, new_id: str, number: str | None) -> str | None:
    match = HEADING.match(line.rstrip("\r\n"))
    if match is None:
        return None
    text = match["text"]
    ending = line[len(line.rstrip("\r\n")) :] or "\n"
    if ":" in text:
        prefix, _, name = text.partition(":")
        space = name[: len(name) - len(name.lstrip())] or " "
        if template.id in prefix:
            prefix = prefix.replace(template.id, new_id)
        elif template.number and number and template.number in prefix:
            at = prefix.rfind(template.number)
            prefix = prefix[:at] + number + prefix[at + len(template.number) :]
        else:
            return None
        return f"{match['hashes']}{prefix}:{space}{title}{match['trail']}{ending}"
    if text.startswith(template.id):
        rest = text[len(template.id) :]
        separator = rest[: len(rest) - len(rest.lstrip(" \t—–-:|"))] or " "
        return f"{match['hashes']}{new_id}{separator}{title}{match['trail']}{ending}"
    return None


def _fields(body: list[str], story: NewStory, new_id: str, ending: str) -> list[str]:
    """The template's first run of bold field lines, rewritten for the new story."""
    values = {
        "points": _points(story.points),
        "priority": story.priority,
        "status": story.status,
        "title": story.title,
    }
    names = {name: key for key, labels in LABELS.items() for name in labels}
    out: list[str] = []
    seen: set[str] = set()
    last = None
    started = False
    for line in body:
        text = line.rstrip("\r\n")
        match = BOLD_LABEL.match(text)
        if match is None or not (match["inner"] or match["outer"]):
            if started and text.strip():
                break  # the end of the field run
            if started:
                break
            continue
        started = True
        label = " ".join(match["label"].casefold().split())
        key = "id" if label in ID_LABELS else names.get(label)
        if label == "dependencies":
            value: str | None = "None"
        elif key == "id":
            value = new_id
        elif key == "epic":
            value = match["value"]  # the same epic
        elif key is not None:
            value = values.get(key)
        else:
            continue  # sprint, owner, the user story ... are not guessed
        last = match
        if value is None or (not match["value"] and key is None):
            continue
        seen.add(key or label)
        out.append(text[: match.start("value")] + value + text[match.end("value") :] + ending)
    if last is not None and story.status and "status" not in seen:
        head = f"{last['lead']}{last['mark']}Status{last['inner']}{last['mark']}{last['outer']}"
        out.append(f"{head}{last['gap'] or ' '}{story.status}{ending}")
    return out


def _separated(before: list[str], block: list[str]) -> list[str]:
    """A blank line between the previous content and the new heading when there is none."""
    if before and before[-1].strip():
        ending = before[-1][len(before[-1].rstrip("\r\n")) :] or "\n"
        return [ending if before[-1].endswith(("\n", "\r")) else "\n" + ending, *block]
    return block


def _points(points: float | None) -> str | None:
    if points is None:
        return None
    return str(int(points)) if float(points).is_integer() else str(points)
