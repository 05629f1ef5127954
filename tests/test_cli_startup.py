"""``parse`` and ``validate`` start fast: they import no service, sync or Slack libraries.

``main`` imports only the module that defines the command being run
(``bot.cli.app.COMMAND_MODULES``; ``--help`` loads them all), and a careless module-level
import in the reader or the rules would still slow these two down. Each case runs a fresh
interpreter and lists what it ended up importing.
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
    "pydantic",  # the model is msgspec Structs; typer < 0.29 coerces without pydantic
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


def test_command_map_names_every_command_and_its_module() -> None:
    """``main`` imports only the module of the command run: the map must match the modules."""
    import importlib

    from bot.cli.app import COMMAND_MODULES, app

    defined: dict[str, str] = {}
    for module in dict.fromkeys(COMMAND_MODULES.values()):
        importlib.import_module(module)
    for info in app.registered_commands:
        assert info.name is not None
        defined[info.name] = info.callback.__module__  # type: ignore[union-attr]
    for group in app.registered_groups:
        assert group.name is not None and group.typer_instance is not None
        callbacks = [command.callback for command in group.typer_instance.registered_commands]
        defined[group.name] = next(c.__module__ for c in callbacks if c is not None)
    assert defined == COMMAND_MODULES


ONLY_PROBE = """
import contextlib, io, json, sys
from bot.cli.app import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    code = main(sys.argv[1:])
print(json.dumps([code, sorted(m for m in sys.modules if m.startswith(("bot.cli.", "bot.conf")))]))
"""


@pytest.mark.parametrize(
    ("args", "modules"),
    [
        # The working directory's pyproject.toml has no [tool.backlog-bot]: nothing to check,
        # so the config schema is not even imported.
        (
            ["parse", str(REFERENCE), "--format", "json"],
            ["bot.cli.app", "bot.cli.backlog", "bot.config_file"],
        ),
        (["rules"], ["bot.cli.app", "bot.cli.rules", "bot.config_file"]),
        (
            ["config", "example"],
            ["bot.cli.app", "bot.cli.config", "bot.config_example", "bot.config_schema"],
        ),
    ],
    ids=["parse", "rules", "config"],
)
def test_command_imports_only_its_own_module(args: list[str], modules: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", ONLY_PROBE, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    code, imported = json.loads(done.stdout)
    assert code == 0
    assert imported == modules


def test_help_still_lists_every_command() -> None:
    from bot.cli.app import COMMAND_MODULES

    done = subprocess.run(
        [sys.executable, "-c", PROBE.replace("redirect_stdout(io.StringIO())", "nullcontext()"),
         "--help"],
        input="[]",
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = {line.split()[1] for line in done.stdout.splitlines() if line.startswith("│ ")}
    assert set(COMMAND_MODULES) <= listed


def test_importing_the_entry_point_loads_no_command_and_no_heavy_library() -> None:
    """What the console script imports before it knows the command."""
    probe = (
        "import json, sys\n"
        "import bot.cli\n"
        "heavy = set(json.loads(sys.stdin.read()))\n"
        "top = {name.split('.')[0] for name in sys.modules}\n"
        "print(json.dumps([sorted(heavy & top),\n"
        "                  sorted(m for m in sys.modules if m.startswith('bot.cli.'))]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        input=json.dumps(HEAVY),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    heavy, commands = json.loads(done.stdout)
    assert heavy == []
    assert commands == ["bot.cli.app"]
