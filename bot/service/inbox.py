"""The durable webhook inbox: every accepted delivery is a row before it is acknowledged.

Lifecycle of a row (``status``)::

    queued ──claim──> processing ──start (attempts+1)──> handlers ──settle──> done
      ^  ^                │                                   ├───────────> ignored
      │  └──defer (rate limit, busy issue; attempt refunded)──┤
      └──fail (backoff)───────────────────────────────────────┤
                          │                                   └──fail (attempt N)──> parked
                          └──lease expired at attempt N (worker killed N times)──> parked

Deduplication is the unique key ``(source, delivery_id)``: a redelivery inserts nothing.
Claiming takes at most ``limit`` due rows and gives them a lease (``claimed_by`` /
``claimed_until``). The candidates are picked in a materialised CTE: on PostgreSQL with
``FOR UPDATE SKIP LOCKED``, so replicas never block on or double-claim a row, and computed
exactly once (a locking subquery under ``IN`` may be re-run by a nested-loop semi join for
every outer row, each run skipping the rows the previous one just updated, until one claim
has taken every due row). On SQLite the statement holds the database write lock, which is
just as exclusive. A row whose lease ran out (its worker was killed) is claimable again.

``attempts`` counts *starts*, not claims: the worker calls ``start`` right before running a
delivery's handlers and settles each delivery as soon as it finishes, renewing the lease of
what it still holds meanwhile. So after a kill only the delivery that was running is
redone, and a delivery that keeps killing its worker is parked when its lease runs out at
the last attempt.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from sync.state.inbox import (
    DONE,
    IGNORED,
    MAX_ERROR_CHARS,
    PARKED,
    PROCESSING,
    QUEUED,
    STATUSES,
    TABLE,
    utcnow,
)


@dataclass(frozen=True)
class Delivery:
    """A claimed delivery as handlers see it."""

    id: int
    source: str
    delivery_id: str
    event: str
    action: str | None
    payload: dict[str, Any]
    attempts: int  # runs started so far, this one included once ``Inbox.start`` returned it
    received_at: datetime


@dataclass(frozen=True)
class DeliveryBackoff:
    """Backoff ``base * 2**(attempt-1)`` seconds, capped; parked after ``max_attempts``."""

    max_attempts: int = 5
    base_seconds: float = 2.0
    cap_seconds: float = 600.0

    def delay(self, attempt: int) -> float:
        return float(min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempt - 1)))


class Inbox:
    """Operations on the ``webhook_delivery`` table, safe across threads and replicas."""

    def __init__(self, engine: Engine, *, policy: DeliveryBackoff | None = None) -> None:
        self.engine = engine
        self.policy = policy or DeliveryBackoff()
        self.dialect = engine.dialect.name
        # SQLite has one writer: serialising this process's writes avoids its busy-wait sleeps
        # (1-100 ms), which would otherwise dominate acknowledgement latency under load.
        self._write_lock = threading.Lock() if self.dialect == "sqlite" else None
        c = TABLE.c
        self._settle_statement = (
            sa.update(TABLE)
            .where(
                c.id == sa.bindparam("b_id"),
                c.claimed_by == sa.bindparam("b_worker"),
                c.status == PROCESSING,
            )
            .values(
                status=sa.bindparam("b_status"),
                last_error=sa.bindparam("b_error"),
                finished_at=sa.bindparam("b_finished"),
                next_attempt_at=sa.bindparam("b_due"),
                claimed_by=None,
                claimed_until=None,
            )
        )

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        if self._write_lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    def enqueue(
        self,
        *,
        source: str,
        delivery_id: str,
        event: str,
        action: str | None,
        payload: dict[str, Any],
        status: str = QUEUED,
    ) -> bool:
        """Store a delivery; False when ``(source, delivery_id)`` was already there."""
        item = {
            "source": source,
            "delivery_id": delivery_id,
            "event": event,
            "action": action,
            "payload": payload,
            "status": status,
        }
        return self.enqueue_many([item])[0]

    def enqueue_many(self, items: Sequence[dict[str, Any]]) -> list[bool]:
        """Store deliveries in ONE transaction (one disk flush); per item, False = duplicate.

        Items are dicts with ``source, delivery_id, event, action, payload, status``.
        """
        now = utcnow()
        rows: list[dict[str, Any]] = []
        first: dict[tuple[str, str], int] = {}  # key -> index of its first item in the batch
        for index, item in enumerate(items):
            key = (item["source"], item["delivery_id"])
            if key in first:
                continue  # the same delivery twice in one batch: the later one is a duplicate
            first[key] = index
            status = item.get("status", QUEUED)
            rows.append(
                {
                    **{k: item[k] for k in ("source", "delivery_id", "event", "action")},
                    "payload": item["payload"],
                    "received_at": now,
                    "status": status,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "finished_at": now if status == IGNORED else None,
                }
            )
        if not rows:
            return [False] * len(items)
        # One multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING: one round trip and one
        # statement for the whole batch; the returned keys are the rows actually stored.
        statement = (
            _insert(self.dialect)(TABLE)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["source", "delivery_id"])
            .returning(TABLE.c.source, TABLE.c.delivery_id)
        )
        with self._writing() as conn:
            stored = {(source, delivery_id) for source, delivery_id in conn.execute(statement)}
        return [
            first.get((item["source"], item["delivery_id"])) == index
            and (item["source"], item["delivery_id"]) in stored
            for index, item in enumerate(items)
        ]

    def claim(
        self, worker_id: str, *, limit: int = 10, lease_seconds: float = 60.0
    ) -> list[Delivery]:
        """Lease at most ``limit`` due deliveries (queued and due, or with an expired lease).

        A due row whose lease ran out during its last allowed attempt is parked instead:
        its worker died every time it ran it, so running it again would kill another.
        """
        now = utcnow()
        c = TABLE.c
        due = sa.or_(
            sa.and_(c.status == QUEUED, c.next_attempt_at <= now),
            sa.and_(c.status == PROCESSING, c.claimed_until < now),
        )
        candidates = sa.select(c.id).where(due).order_by(c.id).limit(limit)
        if self.dialect == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        # A CTE that locks rows is never inlined by PostgreSQL; MATERIALIZED says so anyway.
        picked = candidates.cte("picked")
        if self.dialect == "postgresql":
            picked = picked.prefix_with("MATERIALIZED")
        spent = c.attempts >= self.policy.max_attempts
        gave_up = (
            f"gave up after {self.policy.max_attempts} attempts: the worker running it stopped "
            "before finishing each time (killed, or the handler outran its lease)"
        )
        statement = (
            sa.update(TABLE)
            .where(c.id.in_(sa.select(picked.c.id)))
            .where(due)
            .values(
                status=sa.case((spent, PARKED), else_=PROCESSING),
                claimed_by=sa.case((spent, None), else_=worker_id),
                claimed_until=sa.case((spent, None), else_=now + timedelta(seconds=lease_seconds)),
                finished_at=sa.case((spent, now), else_=None),
                last_error=sa.case((spent, gave_up), else_=c.last_error),
            )
            .returning(
                c.id,
                c.source,
                c.delivery_id,
                c.event,
                c.action,
                c.payload,
                c.attempts,
                c.received_at,
                c.status,
            )
        )
        with self._writing() as conn:
            rows = conn.execute(statement).all()
        claimed = [Delivery(*row[:-1]) for row in rows if row[-1] == PROCESSING]
        return sorted(claimed, key=lambda d: d.id)

    def start(
        self, delivery: Delivery, worker_id: str, *, lease_seconds: float = 60.0
    ) -> Delivery | None:
        """Count an attempt and refresh the lease right before running the handlers.

        ``None`` when the lease was lost meanwhile (another worker has the delivery now).
        """
        c = TABLE.c
        with self._writing() as conn:
            attempts = conn.execute(
                sa.update(TABLE)
                .where(c.id == delivery.id, c.claimed_by == worker_id, c.status == PROCESSING)
                .values(
                    attempts=c.attempts + 1,
                    claimed_until=utcnow() + timedelta(seconds=lease_seconds),
                    deferred_reason=None,
                )
                .returning(c.attempts)
            ).scalar()
        return None if attempts is None else replace(delivery, attempts=int(attempts))

    def renew(self, worker_id: str, ids: Sequence[int], *, lease_seconds: float = 60.0) -> int:
        """Extend the lease on the deliveries this worker still holds -> how many it holds."""
        if not ids:
            return 0
        c = TABLE.c
        with self._writing() as conn:
            result = conn.execute(
                sa.update(TABLE)
                .where(c.id.in_(list(ids)), c.claimed_by == worker_id, c.status == PROCESSING)
                .values(claimed_until=utcnow() + timedelta(seconds=lease_seconds))
            )
        return int(result.rowcount)

    def defer(self, delivery: Delivery, worker_id: str, *, until: datetime, reason: str) -> bool:
        """Put a started delivery back until ``until`` without spending its attempt.

        For waits that say nothing about the delivery itself: a rate-limited target, or its
        issue being validated by another replica. False if the lease was lost meanwhile.
        """
        c = TABLE.c
        with self._writing() as conn:
            result = conn.execute(
                sa.update(TABLE)
                .where(c.id == delivery.id, c.claimed_by == worker_id, c.status == PROCESSING)
                .values(
                    status=QUEUED,
                    attempts=sa.case((c.attempts > 0, c.attempts - 1), else_=0),
                    next_attempt_at=until,
                    deferred_reason=reason[:MAX_ERROR_CHARS],
                    claimed_by=None,
                    claimed_until=None,
                )
            )
        return bool(result.rowcount == 1)

    def complete(self, delivery: Delivery, worker_id: str, *, status: str = DONE) -> bool:
        """Mark a claimed delivery done (or ignored); False if the lease was lost meanwhile."""
        return self.settle(worker_id, [(delivery, status, None)])[0] == status

    def fail(self, delivery: Delivery, worker_id: str, error: str) -> str:
        """Record a failure: back to ``queued`` with backoff, or ``parked`` at the last attempt."""
        return self.settle(worker_id, [(delivery, None, error)])[0]

    def settle(
        self, worker_id: str, outcomes: Sequence[tuple[Delivery, str | None, str | None]]
    ) -> list[str]:
        """Record a batch of outcomes in one transaction (one disk flush).

        Each outcome is ``(delivery, DONE|IGNORED, None)`` or ``(delivery, None, error)``;
        errors go back to ``queued`` with backoff, or to ``parked`` after the last attempt.
        Returns each delivery's new status, or ``"lost"`` when its lease had passed to
        another worker (which will then do it again: handlers must be idempotent).
        """
        now = utcnow()
        c = TABLE.c
        finished: dict[str, list[int]] = {}  # DONE / IGNORED -> ids: one statement each
        failed: list[dict[str, Any]] = []
        for delivery, status, error in outcomes:
            if error is None:
                finished.setdefault(status or DONE, []).append(delivery.id)
                continue
            row: dict[str, Any] = {
                "b_id": delivery.id,
                "b_worker": worker_id,
                "b_finished": now,
                "b_due": now,
                "b_error": error[:MAX_ERROR_CHARS],
                "b_status": PARKED,
            }
            if delivery.attempts < self.policy.max_attempts:
                delay = timedelta(seconds=self.policy.delay(delivery.attempts))
                row.update(b_status=QUEUED, b_finished=None, b_due=now + delay)
            failed.append(row)
        new: dict[int, str] = {}
        with self._writing() as conn:
            for status, ids in finished.items():
                kept = conn.execute(
                    sa.update(TABLE)
                    .where(c.id.in_(ids), c.claimed_by == worker_id, c.status == PROCESSING)
                    .values(
                        status=status,
                        last_error=None,
                        deferred_reason=None,
                        finished_at=now,
                        claimed_by=None,
                        claimed_until=None,
                    )
                    .returning(c.id)
                ).scalars()
                new.update((row_id, status) for row_id in kept)
            for row in failed:
                if conn.execute(self._settle_statement, row).rowcount == 1:
                    new[row["b_id"]] = row["b_status"]
        return [new.get(delivery.id, "lost") for delivery, _, _ in outcomes]

    def release(self, worker_id: str) -> int:
        """Give back every delivery this worker holds (graceful shutdown).

        Attempts are counted when a run starts, so a delivery claimed but never started
        costs nothing; one interrupted while running keeps its attempt.
        """
        c = TABLE.c
        with self._writing() as conn:
            result = conn.execute(
                sa.update(TABLE)
                .where(c.status == PROCESSING, c.claimed_by == worker_id)
                .values(status=QUEUED, claimed_by=None, claimed_until=None)
            )
        return int(result.rowcount)

    def retry(self, row_id: int, *, force: bool = False) -> str | None:
        """Requeue a parked delivery now with a fresh attempt budget -> its former status.

        With ``force`` a failed delivery waiting for its next attempt (queued with an error)
        is taken too. Done, ignored and running deliveries never are: ``None``.
        """
        c = TABLE.c
        allowed = c.status == PARKED
        if force:
            allowed = sa.or_(allowed, sa.and_(c.status == QUEUED, c.last_error.is_not(None)))
        with self._writing() as conn:
            before = conn.execute(sa.select(c.status).where(c.id == row_id)).scalar()
            result = conn.execute(
                sa.update(TABLE)
                .where(c.id == row_id, allowed)
                .values(
                    status=QUEUED,
                    attempts=0,
                    next_attempt_at=utcnow(),
                    claimed_by=None,
                    claimed_until=None,
                    finished_at=None,
                    deferred_reason=None,
                )
            )
        return str(before) if result.rowcount == 1 else None

    def counts(self) -> dict[str, int]:
        """Rows per status (every status present, zero when none)."""
        c = TABLE.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(c.status, sa.func.count()).group_by(c.status)).all()
        found = {status: int(count) for status, count in rows}
        return {status: found.get(status, 0) for status in STATUSES}

    def list(self, *, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first, without payloads: for ``backlog-bot inbox list``."""
        c = TABLE.c
        columns: Sequence[Any] = (
            c.id,
            c.source,
            c.delivery_id,
            c.event,
            c.action,
            c.status,
            c.attempts,
            c.received_at,
            c.next_attempt_at,
            c.finished_at,
            c.last_error,
            c.deferred_reason,
        )
        query = sa.select(*columns).order_by(c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(c.status == status)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def get(self, row_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(TABLE).where(TABLE.c.id == row_id)).first()
        return dict(row._mapping) if row else None


def _insert(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert
    raise ValueError(f"unsupported database dialect {dialect!r}")  # pragma: no cover
