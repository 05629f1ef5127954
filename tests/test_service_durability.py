"""Acknowledged deliveries survive SIGKILL; replicas on one PostgreSQL never double-process.

The kill tests run the real ``backlog-bot serve`` in a subprocess,
with a handler loaded by name that journals its start and end to a file.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from bot.service.app import create_app
from bot.service.inbox import Delivery, Inbox
from bot.service.worker import HandlerRegistry
from bot.settings import load_settings
from bot.wiring.container import service_parts
from sync.state import db
from tests.serve_support import serve
from tests.service_support import GITHUB_SECRET, LiveApp, github_delivery, wait_until


@contextmanager
def serve_process(
    database_url: str, journal: Path, *, migrate: bool
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``backlog-bot serve`` journaling its deliveries (``tests.service_handlers``), ready."""
    env = {
        "DATABASE_URL": database_url,
        "GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
        "WEBHOOK_HANDLER_MODULES": "tests.service_handlers:register",
        "WEBHOOK_LEASE_SECONDS": "1.5",
        "WEBHOOK_POLL_SECONDS": "0.2",
        "BACKLOG_BOT_TEST_JOURNAL": str(journal),
        "BACKLOG_BOT_TEST_HANDLER_SECONDS": "0.8",
    }
    with serve(env, *(["--migrate"] if migrate else []), ready="/readyz") as served:
        yield served


def lines(journal: Path) -> list[str]:
    return journal.read_text().splitlines() if journal.exists() else []


@pytest.mark.slow
def test_delivery_survives_sigkill_after_ack_and_during_processing(
    database_url: str, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.txt"
    with serve_process(database_url, journal, migrate=True) as (url, process):
        # 1. Killed right after the acknowledgement (the handler cannot have finished).
        body, headers = github_delivery({"action": "opened"}, "issues", delivery_id="after-ack")
        assert (
            httpx.post(url + "/webhooks/github", content=body, headers=headers).status_code == 202
        )
        process.kill()  # SIGKILL: no shutdown code runs
        process.wait()
    assert "done after-ack" not in lines(journal)
    with serve_process(database_url, journal, migrate=False) as (url, process):
        wait_until(lambda: "done after-ack" in lines(journal), timeout=20, what="after-ack")
        # 2. Killed while the handler is running.
        body, headers = github_delivery({"action": "edited"}, "issues", delivery_id="mid-way")
        assert (
            httpx.post(url + "/webhooks/github", content=body, headers=headers).status_code == 202
        )
        wait_until(lambda: "start mid-way" in lines(journal), what="handler start")
        process.kill()  # SIGKILL: no shutdown code runs
        process.wait()
    assert "done mid-way" not in lines(journal)
    with serve_process(database_url, journal, migrate=False):
        wait_until(lambda: "done mid-way" in lines(journal), timeout=20, what="mid-way redo")
        engine = db.make_engine(database_url)
        try:
            inbox = Inbox(engine)
            wait_until(lambda: inbox.counts()["done"] == 2, what="inbox rows done")
            rows = {row["delivery_id"]: row for row in inbox.list()}
        finally:
            engine.dispose()
    done = Counter(line for line in lines(journal) if line.startswith("done"))
    assert done == {"done after-ack": 1, "done mid-way": 1}
    assert rows["mid-way"]["attempts"] == 2  # the killed attempt counted, then the redo


@pytest.mark.slow  # two live services, 160 deliveries
@pytest.mark.postgres
def test_two_replicas_on_one_postgresql_deduplicate_and_never_double_process(
    postgres_url: str,
) -> None:
    db.upgrade(postgres_url)
    processed: list[tuple[str, str]] = []
    lock = threading.Lock()

    def replica(name: str) -> object:
        settings = load_settings(
            database_url=postgres_url, github_webhook_secret=GITHUB_SECRET, webhook_poll_seconds=0.1
        )
        registry = HandlerRegistry()

        def handle(delivery: Delivery) -> None:
            time.sleep(0.005)
            with lock:
                processed.append((delivery.delivery_id, name))

        registry.add("github", "issues", handle)
        return create_app(service_parts(settings, registry=registry))

    count = 80
    with LiveApp(replica("a")) as a, LiveApp(replica("b")) as b:
        deliveries = [
            github_delivery({"action": "opened", "n": i}, "issues", delivery_id=f"d-{i}")
            for i in range(count)
        ]

        def send_to_both(item: tuple[bytes, dict[str, str]]) -> list[str]:
            body, headers = item
            return [
                httpx.post(
                    u + "/webhooks/github", content=body, headers=headers, timeout=10
                ).json()["status"]
                for u in (a.url, b.url)
            ]

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(send_to_both, deliveries))
        assert all(sorted(pair) == ["duplicate", "queued"] for pair in answers), answers
        # Every row settled as done: no claim (and so no second run) can follow, and each
        # handler call has returned, since a row is settled only after its handlers ran.
        inbox = a.app.state.service.inbox
        wait_until(lambda: inbox.counts()["done"] == count, timeout=30, what="all rows done")
    per_delivery = Counter(delivery_id for delivery_id, _ in processed)
    assert set(per_delivery) == {f"d-{i}" for i in range(count)}
    assert set(per_delivery.values()) == {1}
