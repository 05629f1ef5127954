"""Plans: the pure difference between the backlog and what a target already has.

A planner (one per target) compares desired state with known remote state and returns a
``Plan`` of ``Change`` records. ``plan`` prints it; ``apply`` executes it step by step and
records each step. Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# The backlog elements that become issues, on every target (the link kinds of ``SyncLink``).
ISSUE_KINDS: tuple[str, ...] = ("epic", "story", "task", "subtask")

Action = Literal["create", "update", "link", "move", "close", "delete", "orphan", "unchanged"]
WRITE_ACTIONS: frozenset[str] = frozenset({"create", "update", "link", "move", "close", "delete"})

# A change's kind is the kind of its state link; what it is called in plans and reports is the
# same on every target: a Jira "Blocks" link and a GitHub "blocked by" relation are both a
# dependency, a Jira sprint and a GitHub milestone are both a sprint, and the GitHub Projects
# v2 board is the board.
THINGS: dict[str, str] = {
    "link": "dependency",
    "milestone": "sprint",
    "project": "board",
    "project-item": "board item",
    "project-fields": "board fields",
}


def thing(kind: str) -> str:
    """The word plans and reports use for a change kind (Jira's ``link`` -> ``dependency``)."""
    return THINGS.get(kind, kind)


@dataclass(frozen=True, slots=True)
class Change:
    """One step of a plan: what to do to which remote object for which backlog element.

    ``diff`` maps a field name to ``(current, desired)`` for updates; ``fields`` is the full
    desired content for creates. ``line`` points at the backlog line the element comes from.
    ``orphan`` reports a remote object whose backlog element is gone (closed only with prune).
    ``note`` says why an update is due when the backlog's own change does not show it (a
    GitHub issue following a value changed on the board). ``titles`` names what a diff's
    numbers stand for, field by field (a GitHub milestone's number -> its title): the diff
    keeps the numbers apply writes, people read the titles.
    """

    action: Action
    target: str
    kind: str
    backlog_id: str
    summary: str = ""
    remote_key: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    diff: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    line: int | None = None
    note: str = ""
    titles: Mapping[str, tuple[str | None, str | None]] = field(default_factory=dict)

    @property
    def is_write(self) -> bool:
        return self.action in WRITE_ACTIONS

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "target": self.target,
            "kind": thing(self.kind),
            "backlog_id": self.backlog_id,
            "summary": self.summary,
            "remote_key": self.remote_key,
            "fields": dict(self.fields),
            "diff": {name: list(pair) for name, pair in self.diff.items()},
            "titles": {name: list(pair) for name, pair in self.titles.items()},
            "line": self.line,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """The ordered changes for one target."""

    target: str
    changes: tuple[Change, ...] = ()

    @property
    def writes(self) -> tuple[Change, ...]:
        return tuple(change for change in self.changes if change.is_write)

    @property
    def is_noop(self) -> bool:
        return not self.writes

    def counts(self) -> dict[str, int]:
        """Number of changes by action, in a stable order."""
        counter = Counter(change.action for change in self.changes)
        order: tuple[Action, ...] = (
            "create",
            "update",
            "link",
            "move",
            "close",
            "delete",
            "orphan",
            "unchanged",
        )
        return {action: counter[action] for action in order if counter[action]}

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "counts": self.counts(),
            "changes": [
                change.to_dict() for change in self.changes if change.action != "unchanged"
            ],
        }


def merge(plans: Iterable[Plan], target: str = "all") -> Plan:
    return Plan(target, tuple(change for plan in plans for change in plan.changes))


def content_hash(content: Mapping[str, Any]) -> str:
    """A stable hash of what is pushed for one element: equal content, equal hash."""
    encoded = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()[:32]
