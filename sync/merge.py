"""Three-way merge of one field: the file's value, the tracker's value and the base.

The base is the value both sides agreed on at the last apply or pull (kept in the state
database, ``sync.state.base``). Per field::

    file == tracker                 -> same     (nothing to do; both may have moved there)
    tracker == base, file changed   -> file     (apply pushes it)
    file == base, tracker changed   -> tracker  (pull writes it into the file)
    all three differ                -> both     (a conflict: nothing is written for it)

With no base yet (a link made before two-way sync), a difference is taken to come from the
tracker when the tracker holds it and the file does not change it: the file is what was pushed.
The fields that became two-way later (the story sentence, the sprint) were always pushed from
the file before, and the labels and assignee were never pushed nor pulled: without a base, a
difference in them is the file's.
Where the links table remembers what apply pushed (the dependencies it linked, the epic it
made the parent), that is the base of a field with none recorded
(``sync.twoway.LiveItem.pushed``): an upgrade shows no drift, a change on either side since
is told apart, and nothing of the tracker's is reverted.
``[sync] conflicts`` resolves ``both``: ``report`` (default: leave both sides alone, exit 1),
``file-wins`` (push the file's value) or ``tracker-wins`` (pull the tracker's value).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from backlog.errors import ConfigurationError

Origin = Literal["same", "file", "tracker", "both"]
Action = Literal["none", "push", "pull", "conflict"]
POLICIES = ("report", "file-wins", "tracker-wins")
# two-way since the sentence and sprint write-back (labels, assignee, criteria ticks: since
# they were read at all): links made before have no base for them
FILE_WITHOUT_BASE = frozenset({"story", "sprint", "labels", "assignee", "criteria"})


def normalise(field: str, value: Any) -> Any:
    """The comparable form of a field value (``13.0`` and ``"13"`` are the same points)."""
    if value is None or value == "" or (isinstance(value, list | tuple | set) and not value):
        return None  # no labels are no value, like no points
    if field == "criteria":  # the ticked items' texts: (text, ticked) pairs, or texts
        ticked = {str(v) if isinstance(v, str) else str(v[0]) for v in value if _ticked(v)}
        return tuple(sorted(ticked)) or None
    if field == "points":
        try:
            number = float(value)
        except (TypeError, ValueError):
            return " ".join(str(value).split())  # not a number: compared as written
        return int(number) if number.is_integer() else number
    if field in ("labels", "dependencies"):
        return tuple(sorted({str(v) for v in value}))
    text = " ".join(str(value).split())
    return text.casefold() if field in ("priority", "status", "assignee") else text


@dataclass(frozen=True)
class FieldMerge:
    """One field of one item, its three values and where a difference came from."""

    target: str
    item: str
    field: str
    base: Any
    file: Any
    tracker: Any
    has_base: bool = True
    changed_by: str | None = None  # who changed the tracker side, when the tracker says

    @property
    def origin(self) -> Origin:
        if self.field == "criteria":
            return self._ticks_origin()
        file, tracker = normalise(self.field, self.file), normalise(self.field, self.tracker)
        if file == tracker:
            return "same"
        if not self.has_base:
            return "file" if self.field in FILE_WITHOUT_BASE else "tracker"
        base = normalise(self.field, self.base)
        if tracker == base:
            return "file"
        if file == base:
            return "tracker"
        return "both"

    def differing_ticks(self) -> list[str]:
        """Acceptance criteria: the items (by text) both sides have, ticked on one only."""
        mine, theirs = ticks(self.file), ticks(self.tracker)
        return [text for text in mine if text in theirs and mine[text] != theirs[text]]

    def _ticks_origin(self) -> Origin:
        """Where the differing ticks come from, item by item: all from the tracker, all from
        the file, or some from each (a conflict). An item ticked alike on both sides is no
        difference, whatever the base says."""
        differ = self.differing_ticks()
        if not differ:
            return "same"
        if not self.has_base:
            return "file"
        base = {text for text, ticked in ticks(self.base).items() if ticked}
        mine, theirs = ticks(self.file), ticks(self.tracker)
        if all(theirs[text] == (text in base) for text in differ):
            return "file"
        if all(mine[text] == (text in base) for text in differ):
            return "tracker"
        return "both"

    def action(self, policy: str = "report") -> Action:
        origin = self.origin
        if origin == "same":
            return "none"
        if origin == "file":
            return "push"
        if origin == "tracker":
            return "pull"
        if policy == "file-wins":
            return "push"
        if policy == "tracker-wins":
            return "pull"
        return "conflict"

    def describe_item(self) -> str:
        """``US-002 points 13 -> 3 (tracker)``."""
        return f"{self.item} {self.describe()}"

    def describe(self) -> str:
        """``points 13 -> 3 (tracker)``; a conflict shows both sides (of acceptance criteria,
        the items whose ticks differ)."""
        origin = self.origin
        file, tracker, base = self.file, self.tracker, self.base
        if self.field == "criteria":
            differ = self.differing_ticks()
            mine, theirs = ticks(self.file), ticks(self.tracker)
            was = {text for text, ticked in ticks(self.base).items() if ticked}
            file = tuple((text, mine[text]) for text in differ)
            tracker = tuple((text, theirs[text]) for text in differ)
            base = tuple((text, text in was) for text in differ)
        if origin == "both":
            who = f" by {self.changed_by}" if self.changed_by else ""
            return (
                f"{self.field}: conflict — file {_show(file)}, tracker {_show(tracker)}"
                f"{who} (was {_show(base)})"
            )
        if origin == "file":
            return f"{self.field} {_show(tracker)} -> {_show(file)} (file)"
        who = f", by {self.changed_by}" if self.changed_by else ""
        return f"{self.field} {_show(file)} -> {_show(tracker)} (tracker{who})"


def conflict_policy(table: Mapping[str, Any]) -> str:
    """``[sync] conflicts`` (default ``report``), checked."""
    value = table.get("conflicts", "report")
    if value not in POLICIES:
        raise ConfigurationError(
            f"[sync] conflicts = {value!r}: use one of {', '.join(repr(p) for p in POLICIES)}"
        )
    return str(value)


def _ticked(item: Any) -> bool:
    return isinstance(item, str) or bool(item[1])


def ticks(value: Any) -> dict[str, bool]:
    """A criteria value as text -> ticked (a base holds only the ticked texts)."""
    return {(str(v) if isinstance(v, str) else str(v[0])): _ticked(v) for v in (value or ())}


def _show(value: Any) -> str:
    if value is None or value == "" or (isinstance(value, list | tuple) and not value):
        return "(none)"
    if isinstance(value, list | tuple) and not isinstance(value[0], str):  # criteria ticks
        return "; ".join(f"[{'x' if ticked else ' '}] {text}" for text, ticked in value)
    if isinstance(value, list | tuple):  # labels: as the file writes them
        text = ", ".join(str(v) for v in value)
        return repr(text) if " " in text else text
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return repr(text) if " " in text else text
