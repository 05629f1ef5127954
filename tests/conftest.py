"""Shared fixtures: the reference backlog, and databases on SQLite and PostgreSQL; which
tests the default run selects.

Tests marked ``slow`` (whole-process scenarios: real ``serve`` processes killed with SIGKILL,
the end-to-end demo, ...) are left out of the default run (plain ``pytest`` or
``scripts/test.sh``), which stays under a few minutes. They run when asked for: in CI
(``CI=true``, as ``.ci/run`` sets), with ``--run-slow``, with a ``-m`` or ``-k`` expression of
your own, or when you name test files or ids on the command line.

PostgreSQL tests get a database of their own, empty, on the server at ``BACKLOG_BOT_TEST_PG``
(default ``postgresql://postgres@127.0.0.1:5432/test``); the run's databases have random names
and are emptied between tests and dropped at the end (``PostgresDatabases``), so parallel runs
and parallel developers never see each other's tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_BACKLOG = ROOT / "examples" / "bss-modernization.md"
PG_ADMIN_URL = os.environ.get("BACKLOG_BOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        help="also run the tests marked slow (CI=true does the same)",
    )


def _runs_slow_tests(config: pytest.Config) -> bool:
    """False only for a default run: no --run-slow, not CI, no -m or -k of the user's, and no
    test file or id named (whole folders, such as ``tests``, are still a default run)."""
    here = config.invocation_params.dir
    names_files = config.args_source is pytest.Config.ArgsSource.ARGS and any(
        not (here / arg.split("::")[0]).is_dir() for arg in config.args
    )
    return bool(
        config.getoption("--run-slow")
        or os.environ.get("CI", "").lower() in ("1", "true", "yes")
        or config.getoption("markexpr")
        or config.getoption("keyword")
        or names_files
    )


def pytest_report_header(config: pytest.Config) -> str:
    if _runs_slow_tests(config):
        return "slow tests: included"
    return "slow tests: left out (--run-slow or CI=true runs them)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _runs_slow_tests(config):
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("slow") is None]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's real tokens or config file."""
    for name in list(os.environ):
        if name.startswith(
            ("JIRA_", "GITHUB_", "SLACK_", "BACKLOG_BOT_CONFIG", "PAGE_")
        ) or name in (
            "DATABASE_URL",
            "BACKLOG_WEB_URL",
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


class PostgresDatabases:
    """The test run's PostgreSQL databases: each test gets one to itself, empty; afterwards it is
    emptied (its connections ended, its settings reset, its schemas dropped and an empty
    ``public`` made again) and handed to a later test. Creating and dropping a database
    costs the server a second or more on a busy machine; emptying one, a few milliseconds. All
    are dropped when the run ends."""

    def __init__(self) -> None:
        self.made: list[str] = []
        self.free: list[str] = []

    def take(self) -> str:
        if self.free:
            return self.free.pop()
        name = f"bbtest_{uuid.uuid4().hex[:12]}"
        with self._admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return name

    def give_back(self, name: str) -> None:
        import psycopg

        try:
            with self._admin() as admin:
                self._end_connections(admin, name)
                admin.execute(f'ALTER DATABASE "{name}" RESET ALL')
            with psycopg.connect(_dsn(name), autocommit=True, connect_timeout=5) as conn:
                others = conn.execute(
                    "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
                    "AND nspname NOT IN ('information_schema', 'public')"
                ).fetchall()
                for (schema,) in others:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
                conn.execute("DROP SCHEMA public CASCADE")
                conn.execute("CREATE SCHEMA public")
                conn.execute("GRANT USAGE ON SCHEMA public TO PUBLIC")
        except Exception:
            self._drop(name)  # not reusable: the next test gets a new one
            return
        self.free.append(name)

    def drop_all(self) -> None:
        for name in self.made:
            self._drop(name)

    def _drop(self, name: str) -> None:
        with self._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.made:
            self.made.remove(name)

    @staticmethod
    def _end_connections(admin: Any, name: str) -> None:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )

    @staticmethod
    def _admin() -> Any:
        try:
            return _pg_admin_connect()
        except Exception as exc:  # CI starts PostgreSQL; a dev box without it fails loudly
            pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc}")


def _url(name: str) -> str:
    return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def _dsn(name: str) -> str:
    return _url(name).replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases()
    try:
        yield databases
    finally:
        databases.drop_all()


@pytest.fixture
def postgres_url(postgres_databases: PostgresDatabases) -> Iterator[str]:
    """An empty PostgreSQL database for this test alone (see ``PostgresDatabases``)."""
    name = postgres_databases.take()
    try:
        yield _url(name)
    finally:
        postgres_databases.give_back(name)


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


SYSTEM_CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, object]) -> dict[str, object]:
    """pytest-playwright launches Debian's Chromium (installed by scripts/test.sh); Playwright
    must not download a browser build of its own."""
    if not SYSTEM_CHROMIUM.is_file():
        pytest.fail(f"{SYSTEM_CHROMIUM} is missing: run scripts/test.sh (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": str(SYSTEM_CHROMIUM)}
