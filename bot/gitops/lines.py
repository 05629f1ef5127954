"""A three-way merge of texts by lines, for the bot's branch: the lines the bot changes since
its last commit are written over the branch as people left it, unless they touch the same
lines (then there is no merge: the caller leaves the branch alone)."""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher


@dataclass(frozen=True)
class Hunk:
    """Lines ``start``..``end`` of the base (end excluded) become ``lines``."""

    start: int
    end: int
    lines: tuple[str, ...]

    def clashes(self, other: Hunk) -> bool:
        """Both change one line, or insert at one place: only the same change goes with it."""
        if self == other:
            return False
        overlap = self.start < other.end and other.start < self.end
        return overlap or self.start == other.start


def _hunks(base: list[str], text: list[str]) -> list[Hunk]:
    # autojunk off: a long backlog's blank and separator lines must still match as lines
    matcher = SequenceMatcher(None, base, text, autojunk=False)
    return [
        Hunk(i1, i2, tuple(text[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def merge_lines(base: str, ours: str, theirs: str) -> str | None:
    """``base`` with the changes of ``ours`` and of ``theirs``; None when a change of one
    touches a line the other changes (or inserts at the same place) differently."""
    if ours in (base, theirs):
        return theirs
    if theirs == base:
        return ours
    lines = base.splitlines(keepends=True)
    mine = _hunks(lines, ours.splitlines(keepends=True))
    other = _hunks(lines, theirs.splitlines(keepends=True))
    if any(a.clashes(b) for a in mine for b in other):
        return None
    merged: list[str] = []
    at = 0
    for hunk in sorted(set(mine) | set(other), key=lambda h: (h.start, h.end)):
        merged += lines[at : hunk.start]
        merged += hunk.lines
        at = hunk.end
    merged += lines[at:]
    return "".join(merged)
