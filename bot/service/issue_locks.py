"""At most one validation per issue across replicas: a leased row per issue in ``issue_lock``.

Two deliveries for the same issue handled at the same moment by two replicas would each find
no bot comment and each create one. Holding ``issue_lock`` for the issue while it is read,
checked and reported on makes "find the bot comment, else create it" atomic across replicas.
The lock is a row (``key`` = ``github:28``, ``jira:BSS-7``) taken by one
``INSERT ... ON CONFLICT DO UPDATE ... WHERE expires_at < now``: it works alike on SQLite and
PostgreSQL, and a holder that was killed stops blocking the issue when its lease runs out.
A delivery that finds its issue busy is deferred (``DeliveryDeferred``), not blocked: the
worker goes on with other deliveries and runs it again a moment later, on the fresh state.
While the lock is held, a heartbeat thread renews its lease every third of it (as the worker
renews the inbox leases), so a validation that takes longer than the lease — a slow tracker,
a wait for a rate limit — keeps the issue to itself; a killed holder still stops blocking the
issue one lease after its last heartbeat.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.service.deferral import DeliveryDeferred
from sync.state.inbox import LOCK_TABLE, utcnow

if TYPE_CHECKING:
    from bot.settings import Settings

BUSY_RETRY_SECONDS = 1.0
log = logging.getLogger(__name__)


class IssueLocks:
    """``with locks.hold("github:28"):`` -- or ``DeliveryDeferred`` when another holds it."""

    def __init__(self, engine: Engine, *, lease_seconds: float = 300.0) -> None:
        self.engine = engine
        self.lease_seconds = lease_seconds

    def acquire(self, key: str) -> str | None:
        """Take the lock -> a token for ``release``, or ``None`` while someone else holds it."""
        token = uuid.uuid4().hex
        now = utcnow()
        row = {
            "key": key,
            "holder": token,
            "expires_at": now + timedelta(seconds=self.lease_seconds),
        }
        c = LOCK_TABLE.c
        statement = (
            _insert(self.engine.dialect.name)(LOCK_TABLE)
            .values(row)
            .on_conflict_do_update(
                index_elements=["key"],
                set_={"holder": token, "expires_at": row["expires_at"]},
                where=c.expires_at < now,
            )
            .returning(c.holder)
        )
        with self.engine.begin() as conn:
            holder = conn.execute(statement).scalar()
        return token if holder == token else None

    def renew(self, key: str, token: str) -> bool:
        """Extend the lease of a lock ``token`` holds -> False if it is not held any more."""
        c = LOCK_TABLE.c
        expires = utcnow() + timedelta(seconds=self.lease_seconds)
        with self.engine.begin() as conn:
            renewed = conn.execute(
                sa.update(LOCK_TABLE)
                .where(c.key == key, c.holder == token)
                .values(expires_at=expires)
                .returning(c.key)
            ).first()
        return renewed is not None

    def release(self, key: str, token: str) -> None:
        c = LOCK_TABLE.c
        with self.engine.begin() as conn:
            conn.execute(sa.delete(LOCK_TABLE).where(c.key == key, c.holder == token))

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        token = self.acquire(key)
        if token is None:
            raise DeliveryDeferred(
                f"issue {key} is being validated by another worker", seconds=BUSY_RETRY_SECONDS
            )
        stop = threading.Event()
        heartbeat = threading.Thread(
            target=self._heartbeat, args=(key, token, stop), name=f"issue-lock {key}", daemon=True
        )
        heartbeat.start()
        try:
            yield
        finally:
            stop.set()
            heartbeat.join()
            self.release(key, token)

    def _heartbeat(self, key: str, token: str, stop: threading.Event) -> None:
        """Renew the lease every third of it until ``stop``; a failed renewal is retried at
        the next beat (the lease has slack for two)."""
        while not stop.wait(self.lease_seconds / 3):
            try:
                if not self.renew(key, token):
                    log.warning("issue lock lost before the work finished", extra={"issue": key})
                    return
            except sa.exc.SQLAlchemyError as exc:
                log.warning("could not renew an issue lock", extra={"issue": key,
                            "error": type(exc).__name__})  # fmt: skip


def issue_guard(engine: Engine, settings: Settings) -> Any:
    """The validator's guard: locks leased for twice a delivery's lease (``WEBHOOK_LEASE_SECONDS``;
    checking one issue takes seconds), so a killed holder blocks its issue only that long."""
    return IssueLocks(engine, lease_seconds=2 * float(settings.webhook_lease_seconds)).hold


def _insert(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        return insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert
