"""``parse`` and ``validate`` start fast: they import no service, sync or Slack libraries.

Every command module is registered at start-up (``bot.cli.app._register``), so one careless
module-level import would slow every command down. Each case runs a fresh interpreter and
lists the heavy packages it ended up importing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "examples" / "bss-modernization.md"

HEAVY = (
    "alembic",
    "apscheduler",
    "github",
    "httpx",
    "jira",
    "matplotlib",
    "prometheus_client",
    "pydantic_settings",
    "requests",
    "slack_bolt",
    "slack_sdk",
    "sqlalchemy",
    "sqlmodel",
    "starlette",
    "tenacity",
    "uvicorn",
)

PROBE = """
import contextlib, io, json, sys
from bot.cli.app import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
heavy = set(json.loads(sys.stdin.read()))
print(json.dumps([code, sorted(heavy & {name.split(".")[0] for name in sys.modules})]))
"""


@pytest.mark.parametrize(
    ("args", "expected_code"),
    [
        (["parse", str(REFERENCE), "--format", "json"], 0),
        (["validate", str(REFERENCE), "--format", "json"], 1),
    ],
    ids=["parse", "validate"],
)
def test_command_imports_no_heavy_library(args: list[str], expected_code: int) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        input=json.dumps(HEAVY),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    code, imported = json.loads(done.stdout)
    assert code == expected_code
    assert imported == []
