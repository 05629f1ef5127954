"""A database error during intake is retried once before the sender is answered: the
connection storing a delivery is killed on the PostgreSQL server (``pg_terminate_backend``)
just before its INSERT runs. One kill -> the retry on a fresh connection stores it and the
answer is 202; two kills in a row -> 503 (GitHub then shows the delivery as failed, to be
redelivered), nothing stored, and the redelivery is accepted once the database is back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bot.service.app import create_app
from bot.settings import load_settings
from bot.wiring.container import service_parts
from sync.state import db
from sync.state.inbox import TABLE
from tests.service_support import GITHUB_SECRET, LiveApp, github_delivery

pytestmark = pytest.mark.postgres


class Killer:
    """Kills the server process of the connection about to INSERT into the inbox, ``left``
    times (from a separate connection, and waits until that process is gone)."""

    def __init__(self, url: str) -> None:
        self.url = db.normalise_url(url).replace("postgresql+psycopg://", "postgresql://")
        self.left = 0
        self.killed: list[int] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.left <= 0 or not statement.lstrip().upper().startswith(
            f"INSERT INTO {TABLE.name}".upper()
        ):
            return
        self.left -= 1
        pid = conn.connection.dbapi_connection.info.backend_pid
        with psycopg.connect(self.url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            deadline = time.monotonic() + 5
            while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
                assert time.monotonic() < deadline, "the backend did not exit"
                time.sleep(0.01)
        self.killed.append(pid)


@contextmanager
def intake(postgres_url: str) -> Iterator[tuple[str, Engine, Killer]]:
    db.upgrade(postgres_url)
    engine = db.make_engine(postgres_url)
    killer = Killer(postgres_url)
    event.listen(engine, "before_cursor_execute", killer)
    settings = load_settings(database_url=postgres_url, github_webhook_secret=GITHUB_SECRET)
    app = create_app(service_parts(settings, engine=engine), start_worker=False)
    try:
        with LiveApp(app) as live:
            yield live.url, engine, killer
    finally:
        engine.dispose()


def stored(engine: Engine, delivery_id: str) -> int:
    with engine.connect() as conn:
        return len(conn.execute(TABLE.select().where(TABLE.c.delivery_id == delivery_id)).all())


def post(url: str, delivery_id: str) -> httpx.Response:
    body, headers = github_delivery({"action": "opened"}, "issues", delivery_id=delivery_id)
    return httpx.post(url + "/webhooks/github", content=body, headers=headers, timeout=30)


def test_a_connection_killed_during_intake_is_retried_once(postgres_url: str) -> None:
    with intake(postgres_url) as (url, engine, killer):
        assert post(url, "warm-up").status_code == 202  # the pool holds a connection now
        killer.left = 1
        response = post(url, "killed-once")
        assert len(killer.killed) == 1  # the first INSERT really ran into a dead connection
        assert response.status_code == 202, response.text
        assert stored(engine, "killed-once") == 1


def test_two_failures_in_a_row_answer_503_and_store_nothing(postgres_url: str) -> None:
    with intake(postgres_url) as (url, engine, killer):
        assert post(url, "warm-up").status_code == 202
        killer.left = 2
        response = post(url, "killed-twice")
        assert len(killer.killed) == 2
        assert response.status_code == 503
        assert "send it again" in response.json()["error"]
        assert stored(engine, "killed-twice") == 0
        redelivered = post(url, "killed-twice")  # the sender's redelivery, database back
        assert redelivered.status_code == 202
        assert stored(engine, "killed-twice") == 1
