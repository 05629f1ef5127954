"""What Jira and GitHub issues are called and how their acceptance criteria read: one rule
for both trackers.

* Title: the backlog id and the heading's name, ``US-001 · Observability Stack Deployment``
  (the heading without its ``Story 1.1:`` label); the story's "As a ..." sentence goes in the
  body, never in the title. Epics likewise: ``EPIC-001 · Foundation & Observability``.
* Acceptance criteria: the Gherkin as written, in a code block, and the ``Then`` outcomes
  (the items under Then/And/But, or the step itself when it has none) as the checklist a
  reviewer ticks; ``Given``/``When`` are context, not things to tick.
* Stories outside any epic (the reader's placeholder epic) get no epic issue and no parent.
"""

from __future__ import annotations

import re

from backlog.model import AcceptanceCriteria, Epic, Story

SEPARATOR = " · "
# the labels the service's Definition of Ready / Done checks put on a failing issue
# (``bot.validation``): the bot's own on both trackers, never a team label
CHECK_LABELS = {"dor": "dor:failed", "dod": "dod:failed"}
# the reader's placeholder epic for stories outside any epic (backlog.markdown.reader)
UNASSIGNED_EPIC = "NO-EPIC"
_LABEL = re.compile(r"^\s*(?:story|epic)\s+[\w.-]+\s*[:\-–]\s*", re.IGNORECASE)
_EPIC_HEADING = re.compile(r"^\s*epic\s+[\w.-]+\s*[:\-–]\s*", re.IGNORECASE)


def is_placeholder_epic(epic: Epic | None) -> bool:
    return epic is not None and epic.id == UNASSIGNED_EPIC


def story_name(story: Story) -> str:
    """The heading's name (``Story 1.1: Observability Stack Deployment`` -> the name)."""
    name = _LABEL.sub("", story.heading or "").strip()
    return " ".join((name or story.title or story.id).split())


def epic_name(epic: Epic) -> str:
    name = epic.name or _EPIC_HEADING.sub("", epic.heading or "").strip()
    return " ".join((name or epic.id).split())


def issue_title(backlog_id: str, name: str, limit: int = 255) -> str:
    """``US-001 · Name``, shortened at a word boundary to ``limit`` characters."""
    title = f"{backlog_id}{SEPARATOR}{name}" if name and name != backlog_id else backlog_id
    if len(title) <= limit:
        return title
    cut = title[: limit - 1].rsplit(" ", 1)[0].rstrip(" ·:,;-")
    return cut + "…"


def then_checklist(criteria: AcceptanceCriteria) -> tuple[str, ...]:
    """The outcomes to tick: items under Then (and the And/But after it), else the step."""
    items: list[str] = []
    in_then = False
    for step in criteria.steps:
        if step.keyword == "Then":
            in_then = True
        elif step.keyword in ("Given", "When"):
            in_then = False
        if not in_then:
            continue
        if step.items:
            items.extend(step.items)
        elif step.text.strip():
            items.append(step.text.strip().rstrip(":"))
    return tuple(items)
