"""The inbox on SQLite and PostgreSQL: dedup, exclusive claims, leases, backoff, parking."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.service.inbox import Delivery, DeliveryBackoff, Inbox
from sync.state import db
from sync.state.inbox import TABLE, utcnow


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    db.upgrade(database_url)
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


def run(inbox: Inbox, worker: str, limit: int = 10) -> list[Delivery]:
    """Claim and start, as the worker does before running handlers."""
    started = [inbox.start(d, worker) for d in inbox.claim(worker, limit=limit)]
    return [d for d in started if d is not None]


def put(inbox: Inbox, delivery_id: str, event: str = "issues") -> bool:
    return inbox.enqueue(
        source="github",
        delivery_id=delivery_id,
        event=event,
        action="opened",
        payload={"n": delivery_id, "nested": {"list": [1, 2]}},
    )


def test_enqueue_deduplicates_per_source(engine: Engine) -> None:
    inbox = Inbox(engine)
    assert put(inbox, "a") is True
    assert put(inbox, "a") is False
    assert inbox.enqueue(source="jira", delivery_id="a", event="x", action=None, payload={})
    assert inbox.counts()["queued"] == 2


def test_claim_returns_payload_and_start_counts_attempts(engine: Engine) -> None:
    inbox = Inbox(engine)
    put(inbox, "a")
    put(inbox, "b")
    claimed = inbox.claim("w1", limit=10)
    assert [d.delivery_id for d in claimed] == ["a", "b"]
    assert claimed[0].payload == {"n": "a", "nested": {"list": [1, 2]}}
    assert claimed[0].attempts == 0  # claimed, not yet run
    started = inbox.start(claimed[0], "w1")
    assert started is not None and started.attempts == 1
    assert inbox.start(claimed[1], "w2") is None  # not w2's claim
    assert inbox.claim("w2") == []  # nothing left to take
    assert inbox.complete(claimed[0], "w1")
    assert not inbox.complete(claimed[1], "w2")  # not w2's claim
    assert inbox.counts() == {"queued": 0, "processing": 1, "done": 1, "parked": 0, "ignored": 0}


def test_concurrent_claims_never_share_a_delivery(engine: Engine) -> None:
    inbox = Inbox(engine)
    for i in range(120):
        put(inbox, f"d{i}")
    taken: dict[str, list[str]] = {}
    lock = threading.Lock()

    def claimer(name: str) -> None:
        # Each "replica" has its own Inbox (own lock), as separate processes would.
        mine = Inbox(engine)
        while batch := mine.claim(name, limit=7):
            with lock:
                taken.setdefault(name, []).extend(d.delivery_id for d in batch)
            for delivery in batch:
                mine.complete(delivery, name)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    every = [d for ids in taken.values() for d in ids]
    assert sorted(every) == sorted(f"d{i}" for i in range(120))  # each exactly once
    assert inbox.counts()["done"] == 120


class Clock:
    """The inbox's "now", moved by the test: leases and backoff without sleeping."""

    def __init__(self) -> None:
        self.now = utcnow()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("bot.service.inbox.utcnow", lambda: clock.now)
    return clock


def test_expired_lease_is_claimed_again(engine: Engine, clock: Clock) -> None:
    inbox = Inbox(engine)
    put(inbox, "a")
    [first] = inbox.claim("killed-worker", lease_seconds=20)
    assert inbox.start(first, "killed-worker", lease_seconds=20) is not None
    clock.advance(19.9)
    assert inbox.claim("w2", lease_seconds=30) == []  # lease still held
    clock.advance(0.2)
    [again] = inbox.claim("w2", lease_seconds=30)
    assert again.delivery_id == "a" and again.attempts == 1  # the killed run counts
    assert not inbox.complete(first, "killed-worker")  # the old claim is fenced off
    assert inbox.complete(again, "w2")


def test_failures_back_off_then_park_with_the_error(engine: Engine, clock: Clock) -> None:
    inbox = Inbox(engine, policy=DeliveryBackoff(max_attempts=3, base_seconds=2))
    put(inbox, "a")
    assert (
        DeliveryBackoff(base_seconds=2).delay(1) == 2
        and DeliveryBackoff(base_seconds=2).delay(4) == 16
    )
    [d] = run(inbox, "w")
    assert inbox.fail(d, "w", "boom 1") == "queued"
    clock.advance(1.9)
    assert inbox.claim("w") == []  # backing off: 2 s after the first failure
    clock.advance(0.2)
    [d] = run(inbox, "w")
    assert inbox.fail(d, "w", "boom 2") == "queued"
    clock.advance(3.9)
    assert inbox.claim("w") == []  # 4 s after the second
    clock.advance(0.2)
    [d] = run(inbox, "w")
    assert d.attempts == 3
    assert inbox.fail(d, "w", "boom 3") == "parked"
    [row] = inbox.list(status="parked")
    assert row["last_error"] == "boom 3" and row["attempts"] == 3
    assert inbox.claim("w") == []
    assert inbox.retry(row["id"]) == "parked"
    [d] = run(inbox, "w")
    assert d.attempts == 1
    inbox.complete(d, "w")
    assert inbox.get(row["id"])["status"] == "done"  # type: ignore[index]


def test_release_gives_claims_back_without_spending_an_attempt(engine: Engine) -> None:
    inbox = Inbox(engine)
    put(inbox, "a")
    inbox.claim("w")
    assert inbox.release("w") == 1
    [d] = run(inbox, "w2")
    assert d.attempts == 1


def test_retry_of_unknown_or_running_delivery_is_refused(engine: Engine) -> None:
    inbox = Inbox(engine)
    assert not inbox.retry(9999)
    put(inbox, "a")
    [d] = inbox.claim("w")
    assert not inbox.retry(d.id)


def test_timestamps_are_utc(engine: Engine) -> None:
    inbox = Inbox(engine)
    put(inbox, "a")
    with engine.connect() as conn:
        received = conn.execute(sa.select(TABLE.c.received_at)).scalar_one()
    assert abs(received - utcnow()) < timedelta(seconds=5)


def test_enqueue_many_is_one_batch_with_duplicates_inside_and_across(engine: Engine) -> None:
    inbox = Inbox(engine)

    def item(delivery_id: str) -> dict[str, object]:
        return {
            "source": "github",
            "delivery_id": delivery_id,
            "event": "issues",
            "action": "opened",
            "payload": {"id": delivery_id},
            "status": "queued",
        }

    assert inbox.enqueue_many([item("a"), item("a"), item("b")]) == [True, False, True]
    assert inbox.enqueue_many([item("b"), item("c")]) == [False, True]
    assert inbox.enqueue_many([]) == []
    assert sorted(d.delivery_id for d in inbox.claim("w", limit=10)) == ["a", "b", "c"]
