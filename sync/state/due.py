"""Runs that are due once a burst of changes is quiet: a row per run in ``run_due``.

A burst of webhook deliveries (twenty issue edits in a few seconds) should make one GitOps
run, not twenty. Each delivery ``mark``\\ s the run as due ``quiet`` seconds after it was
received; a later delivery pushes the time on, but never past ``max_wait`` after the burst's
first delivery, so a steady stream still produces runs. Whoever runs it
(``bot.gitops.debounce``, under the run's lock) ``start``\\ s it, which records when the run
began: a delivery received before that (by more than ``margin``, for clocks that differ
between replicas) is one the run reads anyway and marks nothing, one received after it
starts a new burst. While it runs the row stays due a ``lease`` later, so a run whose
replica died is run again; ``finish`` clears the due time unless a new burst began meanwhile.
A failed run is due again after a backoff.

Every write compares and sets the row's ``version`` (an ``UPDATE ... WHERE version = ?``, an
``INSERT ... ON CONFLICT DO NOTHING`` for the first mark), so replicas that share the
database never lose a mark, alike on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

BACKOFF_SECONDS = 30.0  # the first retry of a failed run (doubles, up to LONGEST_BACKOFF)
LONGEST_BACKOFF_SECONDS = 900.0
MARGIN_SECONDS = 1.0  # how far replicas' clocks may differ


def utcnow() -> datetime:
    return datetime.now(UTC)


class RunDue(SQLModel, table=True):
    """A run (``gitops:acme/bss``): when it is due, if it is, and when it last began."""

    __tablename__ = "run_due"

    key: str = Field(primary_key=True, description="the run, e.g. gitops:acme/bss")
    due_at: datetime | None = Field(default=None, description="when the run is due (or none)")
    burst_started_at: datetime | None = Field(
        default=None, description="the burst's first delivery (the max wait counts from it)"
    )
    run_started_at: datetime | None = Field(default=None, description="when the last run began")
    version: int = Field(default=1, description="bumped by every write (compare and set)")
    failures: int = Field(default=0, description="runs failed in a row (backoff)")
    updated_at: datetime = Field(default_factory=utcnow)


TABLE: sa.Table = RunDue.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Due:
    """The row as read."""

    key: str
    due_at: datetime | None
    burst_started_at: datetime | None
    run_started_at: datetime | None
    version: int
    failures: int


class DueRuns:
    """``mark`` / ``due`` / ``start`` / ``finish`` / ``fail`` for the rows of ``run_due``."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock  # aware UTC now (tests step it)

    def read(self, key: str) -> Due | None:
        c = TABLE.c
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(TABLE).where(c.key == key)).mappings().first()
        if row is None:
            return None
        return Due(
            row["key"],
            _aware(row["due_at"]),
            _aware(row["burst_started_at"]),
            _aware(row["run_started_at"]),
            int(row["version"]),
            int(row["failures"]),
        )

    def is_pending(self, key: str) -> bool:
        """Whether a run is due, now or later."""
        row = self.read(key)
        return row is not None and row.due_at is not None

    def mark(
        self,
        key: str,
        *,
        quiet: float,
        max_wait: float,
        at: datetime | None = None,
        margin: float = MARGIN_SECONDS,
    ) -> datetime | None:
        """A change was received ``at`` (now by default): the run is due ``quiet`` seconds
        later, or at the latest ``max_wait`` seconds after the burst's first change -> the
        due time; None when a run began after the change (it reads it: nothing to mark)."""
        received = _aware(at) or self.clock()

        def marked(row: Due | None, now: datetime) -> dict[str, Any] | None:
            if row is None:
                return {"due_at": received + timedelta(seconds=quiet),
                        "burst_started_at": received}  # fmt: skip
            if row.run_started_at and received < row.run_started_at - timedelta(seconds=margin):
                return None
            due = received + timedelta(seconds=quiet)
            started = row.burst_started_at  # None: no burst waits (nothing due, or a run's lease)
            if started is not None and row.due_at is not None and not row.failures:
                due = max(due, row.due_at)  # a delivery received later pushed it further
            started = min(started or received, received)
            due = min(due, started + timedelta(seconds=max_wait))
            return {"due_at": due, "burst_started_at": started, "failures": 0}

        new = self._write(key, marked)
        return None if new is None else new["due_at"]

    def due(self, key: str) -> Due | None:
        """The row when its run is due now."""
        row = self.read(key)
        if row is None or row.due_at is None or row.due_at > self.clock():
            return None
        return row

    def start(self, row: Due, *, lease: float) -> int | None:
        """The run of ``row`` begins (due again ``lease`` seconds from now should it never
        finish) -> the version to ``finish`` with, or None when a change was marked since
        ``row`` was read (its due time moved: the run waits for it)."""
        c = TABLE.c
        version = row.version + 1
        now = self.clock()
        with self.engine.begin() as conn:
            started = conn.execute(
                sa.update(TABLE)
                .where(c.key == row.key, c.version == row.version)
                .values(
                    due_at=now + timedelta(seconds=lease),
                    burst_started_at=None,
                    run_started_at=now,
                    version=version,
                    updated_at=now,
                )
            ).rowcount
        return version if started == 1 else None

    def finish(self, key: str, version: int) -> bool:
        """The run succeeded: nothing is due any more, unless a change received since it
        began was marked (then its burst stays due) -> whether nothing is due."""
        c = TABLE.c
        with self.engine.begin() as conn:
            done = conn.execute(
                sa.update(TABLE)
                .where(c.key == key, c.version == version)
                .values(due_at=None, failures=0, version=version + 1, updated_at=self.clock())
            ).rowcount
            if not done:  # the next failure backs off from the start again
                conn.execute(sa.update(TABLE).where(c.key == key).values(failures=0))
        return done == 1

    def fail(self, key: str) -> datetime:
        """The run failed: due again after a backoff (doubling per failure in a row; a new
        change brings it forward) -> the due time."""

        def failed(row: Due | None, now: datetime) -> dict[str, Any]:
            failures = (row.failures if row is not None else 0) + 1
            wait = min(BACKOFF_SECONDS * 2 ** (failures - 1), LONGEST_BACKOFF_SECONDS)
            due = now + timedelta(seconds=wait)
            burst = row is not None and row.burst_started_at is not None  # (not the lease)
            if burst and row is not None and row.due_at is not None and row.due_at > due:
                due = row.due_at
            started = (row.burst_started_at if row is not None else None) or now
            return {"due_at": due, "burst_started_at": started, "failures": failures}

        new = self._write(key, failed)
        assert new is not None
        return new["due_at"]  # type: ignore[no-any-return]

    def _write(
        self, key: str, values: Callable[[Due | None, datetime], dict[str, Any] | None]
    ) -> dict[str, Any] | None:
        """Insert or update the row with ``values(row, now)`` (None: leave it), compared
        and set on its version (retried when another writer got there first)."""
        c = TABLE.c
        while True:
            row, now = self.read(key), self.clock()
            wanted = values(row, now)
            if wanted is None:
                return None
            new = {**wanted, "updated_at": now}
            with self.engine.begin() as conn:
                if row is None:
                    statement = (
                        _insert(self.engine.dialect.name)(TABLE)
                        .values(key=key, version=1, **{"failures": 0, **new})
                        .on_conflict_do_nothing(index_elements=["key"])
                    )
                else:
                    statement = (
                        sa.update(TABLE)
                        .where(c.key == key, c.version == row.version)
                        .values(version=row.version + 1, **new)
                    )
                if conn.execute(statement).rowcount == 1:
                    return new


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives back naive UTC datetimes; PostgreSQL aware ones."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _insert(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        return insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert
