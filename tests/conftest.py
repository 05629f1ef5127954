"""Shared fixtures: the reference backlog, and databases on SQLite and PostgreSQL; which
tests the default run selects.

Tests marked ``slow`` (whole-process scenarios: real ``serve`` processes killed with SIGKILL,
the end-to-end demo, ...) are left out of the default run (plain ``pytest`` or
``scripts/test.sh``), which stays under a few minutes. They run when asked for: in CI
(``CI=true``, as ``.ci/run`` sets), with ``--run-slow``, with a ``-m`` or ``-k`` expression of
your own, or when you name test files or ids on the command line.

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


SYSTEM_CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, object]) -> dict[str, object]:
    """pytest-playwright launches Debian's Chromium (installed by scripts/test.sh); Playwright
    must not download a browser build of its own."""
    if not SYSTEM_CHROMIUM.is_file():
        pytest.fail(f"{SYSTEM_CHROMIUM} is missing: run scripts/test.sh (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": str(SYSTEM_CHROMIUM)}
