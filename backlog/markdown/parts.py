"""The parts of a story that are lists or blocks: acceptance criteria, checklists, tasks and
subtasks (``1. **Title** (8 hrs) - DevOps``, ``- Subtask 1.1.1: Title (2 hrs)``)."""

from __future__ import annotations

import re

from backlog.markdown.blocks import Block
from backlog.markdown.fields import (
    after_dash,
    checkbox,
    gherkin_line,
    parse_gherkin,
    parse_roles,
    split_hours,
)
from backlog.model import AcceptanceCriteria, ChecklistItem, Subtask, Task

_SUBTASK = re.compile(r"^sub-?task\s+(?P<number>[\w.]+)\s*[:\-–—]\s*(?P<rest>.*)$", re.I)


def looks_like_subtasks(block: Block) -> bool:
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
        if first.startswith("["):  # a "- [ ] task" checklist
            first, _ = checkbox(first)
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
