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
from typing import Any, Literal, Protocol

from backlog.model import Backlog
from sync.calls import CallCounter
from sync.plan import Plan
from sync.state.links import LinkStore

Direction = Literal["push", "pull"]
MAX_RECORDED_FAILURES = 200  # the run record keeps the first ones; the report keeps them all


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

    ``counts`` are what the run did (``created``, ``create story`` ...; a pull counts the
    ``issues`` read and how many ``changed``); ``keys`` and ``urls`` name the remote issue of
    each backlog item the run created or updated; ``failures`` are per-item messages (the run
    went on); ``warnings`` are things synced without (a missing field, an orphan).
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

    def count(self, name: str, amount: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount

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
