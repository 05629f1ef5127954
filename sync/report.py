"""What a sync engine hands back, and where it reports progress: the same types for every
target (Jira, GitHub), so commands print and store one shape.

Each engine runs the same steps: mapping (backlog -> desired state) -> plan (pure diff) ->
apply (writes, each recorded in the ``LinkStore`` right after it happened) -> record (the
``SyncRun`` row, see :func:`recorded_run`) -> report (a ``SyncReport``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, get_args

from backlog.model import Backlog
from sync.calls import CallCounter
from sync.plan import Plan, thing
from sync.state.links import LinkStore

Direction = Literal["push", "pull"]
MAX_RECORDED_FAILURES = 200  # the run record keeps the first ones; the report keeps them all

# What an apply counts, in the same words on every target: "<verb> <thing>", one counter per
# kind of step. ``adopt`` is an issue found already there by its backlog id (the label in
# Jira, the hidden marker on GitHub: a create whose answer was lost, a run that died before
# recording it, or a fresh database against a populated tracker) and linked instead of
# created again; likewise a dependency already linked in Jira, a GitHub label or milestone
# (sprint) found by its name. A sprint is a Jira sprint or a GitHub
# milestone; a dependency is a Jira "Blocks" link or a GitHub "blocked by" relation; the board
# is the GitHub Projects v2 board. A pull counts ``issues`` read and how many ``changed``.
Count = Literal[
    "create epic",
    "create story",
    "create task",
    "create subtask",
    "adopt epic",
    "adopt story",
    "adopt task",
    "adopt subtask",
    "update epic",
    "update story",
    "update task",
    "update subtask",
    "close epic",
    "close story",
    "close task",
    "close subtask",
    "create sprint",
    "update sprint",
    "move to sprint",
    "link dependency",
    "unlink dependency",
    "link sub-issue",
    "adopt sprint",
    "adopt dependency",
    "create label",
    "adopt label",
    "update label",
    "create board",
    "add to board",
    "update board fields",
    "unchanged",
]
COUNTS: tuple[Count, ...] = get_args(Count)

_SPECIAL: dict[tuple[str, str], Count] = {
    ("move", "sprint"): "move to sprint",
    ("delete", "dependency"): "unlink dependency",
    ("link", "board item"): "add to board",
}


def count_name(action: str, kind: str) -> Count:
    """The counter of one applied change: ``("link", "link")`` (Jira) and ``("link",
    "dependency")`` (GitHub) are both ``"link dependency"``."""
    noun = thing(kind)
    name = _SPECIAL.get((action, noun), f"{action} {noun}")
    if name not in COUNTS:
        raise ValueError(f"no report counter for {action!r} {kind!r}")
    return name


class Progress(Protocol):
    """Where apply reports progress: the number of writes planned, then each step done."""

    def start(self, total: int) -> None: ...

    def advance(self, description: str, amount: int) -> None: ...


class SilentProgress:
    """Progress that goes nowhere (the service, tests, JSON output)."""

    def start(self, total: int) -> None:
        return None

    def advance(self, description: str, amount: int) -> None:
        return None


@dataclass
class SyncReport:
    """The outcome of one plan, apply or pull of one target.

    ``counts`` are what the run did, by ``Count`` (``create story``, ``link dependency``
    ...; a pull counts the ``issues`` read and how many ``changed``); ``keys`` and ``urls``
    name the remote issue of each backlog item the run created or updated; ``failures`` are
    per-item messages (the run went on); ``warnings`` are things synced without (a missing
    field, an orphan).
    """

    target: str
    plan: Plan
    counts: dict[str, int] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    http_calls: dict[str, int] = field(default_factory=dict)
    run_id: int | None = None
    rounds: int = 0

    @property
    def outcome(self) -> str:
        return "partial" if self.failures else "ok"

    @property
    def issues(self) -> int:
        """A pull's number of managed issues read."""
        return self.counts.get("issues", 0)

    @property
    def changed(self) -> int:
        """A pull's number of issues whose pulled state changed since the last pull."""
        return self.counts.get("changed", 0)

    @property
    def applied(self) -> int:
        """How many steps an apply carried out (``unchanged`` is not a step)."""
        return sum(n for name, n in self.counts.items() if name != "unchanged")

    def summary(self) -> str:
        """The counts as one line: ``4 create epic, 29 create story, 62 unchanged``."""
        return ", ".join(f"{n} {name}" for name, n in self.counts.items() if n) or "no changes"

    def count(self, name: Count, amount: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount

    def count_change(self, action: str, kind: str, amount: int = 1) -> None:
        """Count one applied plan change (or ``amount`` items of it) under its ``Count``."""
        self.count(count_name(action, kind), amount)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of an apply."""
        return {
            "target": self.target,
            "counts": self.counts,
            "keys": self.keys,
            "failures": self.failures,
            "warnings": self.warnings,
            "http_calls": self.http_calls,
        }


class SyncEngine(Protocol):
    """The shape of both engines (``sync.jira.engine.JiraSync``,
    ``sync.github.engine.GitHubSync``): built from a port, a link store and a mapping."""

    store: LinkStore

    def plan(
        self, backlog: Backlog, source: str | None = None, *, prune: bool = False
    ) -> SyncReport:
        """What apply would do; writes nothing anywhere."""
        ...

    def apply(
        self,
        backlog: Backlog,
        source: str | None = None,
        *,
        prune: bool = False,
        progress: Progress | None = None,
    ) -> SyncReport:
        """Make the target match the backlog, recording each step and the run."""
        ...

    def pull(self) -> SyncReport:
        """Read workflow state (status, assignee, points, sprint) back into the links."""
        ...


@contextmanager
def recorded_run(
    store: LinkStore,
    calls: CallCounter,
    report: SyncReport,
    direction: Direction,
    source: str | None,
) -> Iterator[SyncReport]:
    """The ``SyncRun`` row of one apply or pull: started before, finished after the body.

    A body that raises leaves the run ``failed`` (with what it did so far and why it stopped);
    otherwise it is ``ok`` or ``partial``. Either way the report carries the HTTP calls.
    """
    report.run_id = store.start_run(direction, source)
    try:
        yield report
    except BaseException as exc:
        report.http_calls = calls.snapshot()
        store.finish_run(
            report.run_id,
            outcome="failed",
            counts=_run_counts(report),
            http_calls=report.http_calls,
            error=_run_error([*report.failures, f"run stopped: {exc}"]),
        )
        raise
    report.http_calls = calls.snapshot()
    store.finish_run(
        report.run_id,
        outcome=report.outcome,
        counts=_run_counts(report),
        http_calls=report.http_calls,
        error=_run_error(report.failures),
    )


def _run_counts(report: SyncReport) -> dict[str, int]:
    failed = {"failed": len(report.failures)} if report.failures else {}
    return {**report.counts, **failed}


def _run_error(failures: list[str]) -> str | None:
    return "\n".join(failures[:MAX_RECORDED_FAILURES]) or None
