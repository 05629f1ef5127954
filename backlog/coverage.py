"""How much of a document the reader understood: the coverage line and the empty-backlog check.

``parse`` and ``validate`` print :func:`coverage_line` so that a team sees at once whether
backlog-bot read its whole file (``read 24 stories; 31 lines in 3 blocks not understood:
lines 12-20 (table under "MVP scope"), ...``).
"""

from __future__ import annotations

from backlog.errors import BadInputError
from backlog.model import Backlog, UnreadBlock

SHOWN_BLOCKS = 3


def _block(block: UnreadBlock) -> str:
    where = (
        f"line {block.line}"
        if block.end_line <= block.line
        else (f"lines {block.line}-{block.end_line}")
    )
    context = f" {block.context}" if block.context else ""
    return f"{where} ({block.what}{context})"


def coverage_line(backlog: Backlog) -> str:
    """One line: stories read, and the blocks not understood (the first few by line)."""
    stories = len(backlog.stories)
    epics = sum(1 for epic in backlog.epics if epic.id != "NO-EPIC")
    head = f"read {stories} stor{'y' if stories == 1 else 'ies'}"
    if epics:
        head += f" in {epics} epic{'s' if epics != 1 else ''}"
    if backlog.sprints:
        head += f", {len(backlog.sprints)} sprint{'s' if len(backlog.sprints) != 1 else ''}"
    unread = backlog.unread
    if not unread:
        return f"{head}; every line understood"
    lines = sum(block.lines for block in unread)
    shown = ", ".join(_block(block) for block in unread[:SHOWN_BLOCKS])
    more = f", and {len(unread) - SHOWN_BLOCKS} more" if len(unread) > SHOWN_BLOCKS else ""
    blocks = f"{len(unread)} block{'s' if len(unread) != 1 else ''}"
    counted = f"{lines} line{'s' if lines != 1 else ''}"
    return f"{head}; {counted} in {blocks} not understood: {shown}{more}"


def require_stories(backlog: Backlog, source: str | None) -> None:
    """A document in which no story is found is not a backlog: refuse it (exit 2)."""
    if backlog.stories:
        return
    epics = sum(1 for epic in backlog.epics if epic.id != "NO-EPIC")
    raise BadInputError(
        f"no user stories found (read as a backlog: {epics} epics, 0 stories); "
        "see docs/backlog-format.md",
        file=source,
    )
