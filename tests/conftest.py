"""Shared fixtures: the reference backlog, and databases on SQLite and PostgreSQL.

PostgreSQL tests get a database of their own (created and dropped per test) on the server at
``BACKLOG_BOT_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432/test``), so parallel
runs and parallel developers never see each other's tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_BACKLOG = ROOT / "examples" / "bss-modernization.md"
PG_ADMIN_URL = os.environ.get("BACKLOG_BOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's real tokens or config file."""
    for name in list(os.environ):
        if name.startswith(("JIRA_", "GITHUB_", "SLACK_", "BACKLOG_BOT_CONFIG")) or name in (
            "DATABASE_URL",
        ):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def reference_backlog_path() -> Path:
    return REFERENCE_BACKLOG


def _pg_admin_connect():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(
        PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://"),
        autocommit=True,
        connect_timeout=5,
    )


def postgres_available() -> bool:
    try:
        with _pg_admin_connect():
            return True
    except Exception:
        return False


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    name = f"bbtest_{uuid.uuid4().hex[:12]}"
    try:
        admin = _pg_admin_connect()
    except Exception as exc:  # CI starts PostgreSQL; a dev box without it fails loudly
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with _pg_admin_connect() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'backlog-bot.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(params=["cloud", "datacenter"])
def jira_deployment(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a Jira test once against Jira Cloud and once against Jira Data Center: every
    ``JiraSandbox`` the test makes serves that deployment (modules opt in with
    ``pytestmark = pytest.mark.usefixtures("jira_deployment")``)."""
    from sandbox.jira import JiraSandbox

    monkeypatch.setattr(JiraSandbox, "default_deployment", request.param)
    return str(request.param)
