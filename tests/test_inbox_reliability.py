"""Inbox and worker under replicas: bounded claims, leases renewed, deliveries settled one by
one, attempts capped, deferrals that spend no attempt (issue: reliability under replicas)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from backlog.errors import RateLimitedError
from bot.service.deferral import DeliveryDeferred, TargetLimits
from bot.service.inbox import Delivery, DeliveryBackoff, Inbox
from bot.service.metrics import Metrics
from bot.service.worker import HandlerRegistry, Worker
from sync.state import db
from sync.state.inbox import TABLE, utcnow
from tests.service_support import run_async


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    db.upgrade(database_url)
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


def fill(engine: Engine, *, done: int, queued: int, analyze: bool = True) -> None:
    """``done`` finished rows (statistics taken on them), then ``queued`` fresh ones."""
    now = utcnow()

    def rows(prefix: str, count: int, status: str) -> list[dict[str, Any]]:
        return [
            {
                "source": "github",
                "delivery_id": f"{prefix}{i}",
                "event": "issues",
                "action": "opened",
                "payload": {"i": i},
                "received_at": now,
                "status": status,
                "attempts": 1 if status == "done" else 0,
                "next_attempt_at": now,
                "finished_at": now if status == "done" else None,
            }
            for i in range(count)
        ]

    with engine.begin() as conn:
        if done:
            conn.execute(sa.insert(TABLE), rows("done-", done, "done"))
    if analyze:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE webhook_delivery" if engine.dialect.name ==
                                 "postgresql" else "ANALYZE")  # fmt: skip
    with engine.begin() as conn:
        conn.execute(sa.insert(TABLE), rows("q-", queued, "queued"))


def test_claim_takes_at_most_its_batch_after_analyze_over_20000_done_rows(
    engine: Engine,
) -> None:
    # The statistics say "everything is done", so PostgreSQL plans a nested-loop semi join
    # under which a locking IN-subquery was re-run per outer row: claim(limit=20) took 2,000.
    fill(engine, done=20_000, queued=2_000)
    inbox = Inbox(engine)
    sizes = []
    while batch := inbox.claim("w1", limit=20):
        sizes.append(len(batch))
        assert inbox.settle("w1", [(d, "done", None) for d in batch]) == ["done"] * len(batch)
    assert sizes == [20] * 100
    assert inbox.counts()["done"] == 22_000


@pytest.mark.postgres
def test_claim_is_bounded_whatever_join_the_planner_picks(postgres_url: str) -> None:
    db.upgrade(postgres_url)
    admin = db.make_engine(postgres_url)
    name = postgres_url.rsplit("/", 1)[1]
    with admin.begin() as conn:  # leave the planner only nested loops without materialising
        for option in ("enable_hashjoin", "enable_mergejoin", "enable_material"):
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET {option} = off')
    admin.dispose()
    engine = db.make_engine(postgres_url)
    try:
        fill(engine, done=5_000, queued=300)
        assert len(Inbox(engine).claim("w1", limit=7)) == 7
        assert len(Inbox(engine).claim("w2", limit=50)) == 50
    finally:
        engine.dispose()


def test_lease_expired_at_the_last_attempt_parks_the_delivery(engine: Engine) -> None:
    inbox = Inbox(engine, policy=DeliveryBackoff(max_attempts=2))
    fill(engine, done=0, queued=1, analyze=False)
    for attempt in (1, 2):
        [delivery] = inbox.claim(f"killed-{attempt}", lease_seconds=0.1)
        started = inbox.start(delivery, f"killed-{attempt}", lease_seconds=0.1)
        assert started is not None and started.attempts == attempt
        time.sleep(0.15)  # the worker dies: its lease runs out
    assert inbox.claim("w3") == []
    [row] = inbox.list(status="parked")
    assert row["attempts"] == 2 and "gave up after 2 attempts" in row["last_error"]


def test_defer_spends_no_attempt_and_waits_until_its_time(engine: Engine) -> None:
    inbox = Inbox(engine)
    fill(engine, done=0, queued=1, analyze=False)
    [delivery] = inbox.claim("w1")
    started = inbox.start(delivery, "w1")
    assert started is not None
    assert inbox.defer(started, "w1", until=utcnow() + timedelta(seconds=0.3), reason="busy")
    [row] = inbox.list()
    assert (row["status"], row["attempts"]) == ("queued", 0)
    assert inbox.get(row["id"])["deferred_reason"] == "busy"  # type: ignore[index]
    assert inbox.claim("w2") == []
    time.sleep(0.35)
    [again] = inbox.claim("w2")
    assert again.attempts == 0


def test_renew_keeps_the_batch_from_other_replicas(engine: Engine) -> None:
    inbox = Inbox(engine)
    fill(engine, done=0, queued=3, analyze=False)
    batch = inbox.claim("w1", lease_seconds=0.2)
    time.sleep(0.1)
    assert inbox.renew("w1", [d.id for d in batch], lease_seconds=30) == 3
    time.sleep(0.2)
    assert inbox.claim("w2") == []
    assert inbox.renew("w2", [d.id for d in batch]) == 0  # not w2's


def test_retry_takes_parked_and_failed_only_with_force(engine: Engine) -> None:
    inbox = Inbox(engine, policy=DeliveryBackoff(max_attempts=1, base_seconds=60))
    fill(engine, done=1, queued=2, analyze=False)
    done_id = inbox.list(status="done")[0]["id"]
    first, second = inbox.claim("w")
    assert inbox.fail(inbox.start(first, "w"), "w", "boom") == "parked"  # type: ignore[arg-type]
    second_started = inbox.start(second, "w")
    assert second_started is not None
    inbox.settle("w", [(second_started, None, "temporary")])  # max 1: parked too
    assert inbox.retry(done_id) is None and inbox.retry(done_id, force=True) is None
    assert inbox.retry(first.id) == "parked"
    [again] = inbox.claim("w")
    started = inbox.start(again, "w")
    assert started is not None
    inbox2 = Inbox(engine, policy=DeliveryBackoff(max_attempts=5, base_seconds=60))
    assert inbox2.fail(started, "w", "later") == "queued"  # failed, backing off for a minute
    assert inbox2.retry(first.id) is None  # a failed delivery needs --force
    assert inbox2.retry(first.id, force=True) == "queued"
    assert [d.id for d in inbox2.claim("w")] == [first.id]


class Recorder:
    """A handler that records each run, optionally slow or refusing some deliveries."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.runs: list[str] = []
        self.limited: set[str] = set()
        self.busy: set[str] = set()

    def __call__(self, delivery: Delivery) -> None:
        key = delivery.delivery_id
        if key in self.limited:
            raise RateLimitedError("primary limit spent", service="github", retry_after=30)
        if key in self.busy:
            self.busy.discard(key)
            raise DeliveryDeferred("issue busy elsewhere", seconds=0.0)
        self.runs.append(key)
        time.sleep(self.seconds)


def worker_for(inbox: Inbox, handler: Recorder, **options: Any) -> Worker:
    registry = HandlerRegistry()
    registry.add("github", None, handler)
    registry.add("jira", None, handler)
    return Worker(inbox, registry, Metrics(), **options)


def test_a_killed_worker_leaves_only_its_running_delivery_to_redo(engine: Engine) -> None:
    fill(engine, done=0, queued=5, analyze=False)
    inbox = Inbox(engine)
    handler = Recorder()
    first = worker_for(inbox, handler, lease_seconds=0.3, batch=5)
    batch = inbox.claim(first.id, limit=5, lease_seconds=0.3)
    for delivery in batch[:2]:
        assert run_async(first.process(delivery)) == "done"
    assert inbox.start(batch[2], first.id, lease_seconds=0.3) is not None  # killed mid-run
    time.sleep(0.35)
    second = worker_for(inbox, handler, lease_seconds=30, batch=5)
    assert run_async(second.run_once()) == 3
    assert sorted(handler.runs) == sorted(f"q-{i}" for i in range(5))
    attempts = {row["delivery_id"]: row["attempts"] for row in inbox.list()}
    assert attempts == {"q-0": 1, "q-1": 1, "q-2": 2, "q-3": 1, "q-4": 1}


def test_leases_are_renewed_while_a_slow_batch_runs(engine: Engine) -> None:
    fill(engine, done=0, queued=3, analyze=False)
    inbox = Inbox(engine)
    handler = Recorder(seconds=0.5)
    worker = worker_for(inbox, handler, lease_seconds=0.6, batch=3)
    stolen: list[Delivery] = []

    async def scenario() -> None:
        running = asyncio.create_task(worker.run_once())
        for _ in range(14):  # 1.4 s: well past the 0.6 s lease of the last delivery
            await asyncio.sleep(0.1)
            stolen.extend(await asyncio.to_thread(Inbox(engine).claim, "thief"))
        await running

    run_async(scenario())
    assert stolen == []
    assert handler.runs == ["q-0", "q-1", "q-2"]
    assert inbox.counts()["done"] == 3


def test_a_rate_limited_target_defers_while_the_other_flows(engine: Engine) -> None:
    inbox = Inbox(engine)
    for source, key in (("github", "gh-1"), ("jira", "j-1"), ("github", "gh-2"), ("jira", "j-2")):
        inbox.enqueue(source=source, delivery_id=key, event="e", action=None, payload={})
    handler = Recorder()
    handler.limited.add("gh-1")
    limits = TargetLimits()
    worker = worker_for(inbox, handler, limits=limits, batch=10)
    assert run_async(worker.run_once()) == 4
    assert handler.runs == ["j-1", "j-2"]  # gh-2 never reached GitHub: the limit was known
    until = limits.until("github")
    assert until is not None and 25 < (until - utcnow()).total_seconds() <= 30
    rows = {row["delivery_id"]: row for row in inbox.list()}
    assert {k: rows[k]["status"] for k in rows} == {
        "gh-1": "queued", "gh-2": "queued", "j-1": "done", "j-2": "done",
    }  # fmt: skip
    assert rows["gh-1"]["attempts"] == 0 and rows["gh-1"]["next_attempt_at"] >= until
    text = worker.metrics.render().decode()
    assert 'backlog_bot_webhook_deferred_total{reason="rate_limited",source="github"} 2.0' in text


def test_a_busy_issue_is_deferred_and_runs_once_later(engine: Engine) -> None:
    inbox = Inbox(engine)
    inbox.enqueue(source="github", delivery_id="a", event="e", action=None, payload={})
    handler = Recorder()
    handler.busy.add("a")
    worker = worker_for(inbox, handler)
    run_async(worker.run_once())
    assert handler.runs == []
    assert inbox.list()[0]["status"] == "queued"
    run_async(worker.run_once())
    assert handler.runs == ["a"]
    [row] = inbox.list()
    assert (row["status"], row["attempts"]) == ("done", 1)


def test_inbox_retry_cli_takes_parked_and_failed_with_force_only(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli.app import main

    db.upgrade(database_url)
    engine = db.make_engine(database_url)
    try:
        inbox = Inbox(engine, policy=DeliveryBackoff(max_attempts=5, base_seconds=600))
        for key in ("done", "failed"):
            inbox.enqueue(source="github", delivery_id=key, event="issues", action=None, payload={})
        done, failed = (inbox.start(d, "w") for d in inbox.claim("w"))
        assert done is not None and failed is not None
        inbox.complete(done, "w")
        assert inbox.fail(failed, "w", "boom") == "queued"
        args = ["--database-url", database_url]
        assert main(["inbox", "retry", str(done.id), *args]) == 2
        assert capsys.readouterr().err == (
            f"error: inbox: delivery {done.id} is done; only parked (or, with --force, failed) "
            "deliveries are retried\n"
        )
        assert main(["inbox", "retry", str(failed.id), *args]) == 2
        assert "add --force to run it now" in capsys.readouterr().err
        assert main(["inbox", "retry", str(failed.id), "--force", *args]) == 0
        assert "queued again" in capsys.readouterr().out
        assert [d.id for d in inbox.claim("w")] == [failed.id]  # due now, not in 10 minutes
        assert inbox.get(done.id)["status"] == "done"  # type: ignore[index]
    finally:
        engine.dispose()


def test_an_issue_lock_held_longer_than_its_lease_stays_with_its_holder(
    database_url: str,
) -> None:
    """Two replicas (two engines) on one database; the lease is 0.6 s and the work 2 s: the
    heartbeat keeps the lock, so the other replica is refused all along, and gets it after."""
    from bot.service.issue_locks import IssueLocks

    db.upgrade(database_url)
    engines = [db.make_engine(database_url) for _ in range(2)]
    try:
        mine, theirs = (IssueLocks(e, lease_seconds=0.6) for e in engines)
        refused = 0
        with mine.hold("github:28"):
            deadline = time.monotonic() + 2.0  # more than three leases
            while time.monotonic() < deadline:
                with pytest.raises(DeliveryDeferred), theirs.hold("github:28"):
                    pass  # pragma: no cover - must not be reached
                refused += 1
                time.sleep(0.1)
        assert refused >= 15
        token = theirs.acquire("github:28")  # released: free at once
        assert token is not None
        assert mine.acquire("github:28") is None
        time.sleep(0.8)  # a holder without a heartbeat (killed) loses it after its lease
        assert mine.acquire("github:28") is not None
    finally:
        for engine in engines:
            engine.dispose()
