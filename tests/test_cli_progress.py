"""Progress of ``apply`` and ``sync`` as a user sees it: the real CLI in a subprocess, its stderr
on a pipe (one line per phase, and the wait GitHub's secondary limit imposed) or on a
pseudo-terminal (a rich progress bar), and silent with ``--quiet``. The GitHub sandbox answers
one issue creation with a secondary-limit 403 and ``retry-after: 2``.

Marked slow: each test is a whole process (a fresh interpreter running a full apply) that
waits out the 2 s limit; CI runs them, as ``--run-slow`` does (``tests/conftest.py``)."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.github import GitHubSandbox
from sandbox.jira import Fault, JiraSandbox

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
BACKLOG = ROOT / "tests" / "data" / "billing-backlog.md"
CLI = str(Path(sys.executable).with_name("backlog-bot"))


@pytest.fixture
def github(tmp_path: Path) -> Iterator[tuple[GitHubSandbox, dict[str, str]]]:
    with GitHubSandbox() as sandbox:
        sandbox.limits.add_fault(
            kind="secondary", method="POST", path=r"/issues$", after=2, retry_after=2
        )
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("JIRA_", "GITHUB_", "SLACK_", "BACKLOG_BOT_CONFIG"))
        }
        env |= sandbox.env() | {"DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
        env.pop("COLUMNS", None)
        yield sandbox, env


def test_on_a_pipe_one_line_per_phase_and_the_wait_with_its_reason(
    github: tuple[GitHubSandbox, dict[str, str]], tmp_path: Path
) -> None:
    _, env = github
    done = subprocess.run(
        [CLI, "apply", str(BACKLOG), "--target", "github"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == "github: planning"
    assert re.fullmatch(r"github: applying \d+ changes", lines[1])
    assert lines[2] == "github: waiting: GitHub secondary limit, next write in 2 s"
    assert re.fullmatch(
        r"github: \d+ changes applied in \d+\.\d s, 2 s of it waiting on limits", lines[3]
    )
    assert len(lines) == 4
    assert "\x1b[" not in done.stderr  # no terminal escapes in a log
    assert done.stdout.startswith("github: applied\n")

    pulled = subprocess.run(
        [CLI, "sync", "--target", "github"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stderr.splitlines()[0] == "github: pulling"
    assert re.fullmatch(r"github: read 3 issues in \d+\.\d s", pulled.stderr.splitlines()[1])


def test_quiet_prints_no_progress(
    github: tuple[GitHubSandbox, dict[str, str]], tmp_path: Path
) -> None:
    _, env = github
    done = subprocess.run(
        [CLI, "apply", str(BACKLOG), "--target", "github", "--quiet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "summary:" in done.stdout


def test_on_a_terminal_a_progress_bar(
    github: tuple[GitHubSandbox, dict[str, str]], tmp_path: Path
) -> None:
    _, env = github
    leader, follower = pty.openpty()
    result = tmp_path / "stdout.txt"
    with result.open("wb") as stdout:
        process = subprocess.Popen(
            [CLI, "apply", str(BACKLOG), "--target", "github"],
            cwd=tmp_path,
            env=env | {"TERM": "xterm-256color", "COLUMNS": "160"},
            stdout=stdout,
            stderr=follower,
        )
    os.close(follower)
    screen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    assert process.wait(timeout=60) == 0
    out = result.read_text()
    os.close(leader)
    text = screen.decode(errors="replace")
    assert "\x1b[" in text  # drawn with terminal control sequences
    assert "github" in text and "━" in text
    assert re.search(r"\d+/\d+", text)  # items done / total
    assert "GitHub secondary limit, next write in 2 s" in text
    assert "github: planning" not in text  # the plain lines are for logs only
    assert out.startswith("github: applied\n")


def test_jira_rate_limit_is_waited_for_in_the_cli_and_shown(tmp_path: Path) -> None:
    """The CLI (unlike the service, which defers) waits for Jira's Retry-After, and says so."""
    with JiraSandbox() as sandbox:
        sandbox.inject_fault(Fault("rate_limit", retry_after=2, times=1, methods=("POST",)))
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("JIRA_", "GITHUB_", "SLACK_", "BACKLOG_BOT_CONFIG"))
        }
        env |= sandbox.env() | {"DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
        done = subprocess.run(
            [CLI, "apply", str(BACKLOG), "--target", "jira"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        logged = [(r.status, r.fault) for r in sandbox.requests if r.method == "POST"]
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[:3] == [
        "jira: planning",
        lines[1],
        "jira: waiting: Jira answered 429, retry in 2 s",
    ]
    assert re.fullmatch(r"jira: applying \d+ changes", lines[1])
    assert re.fullmatch(r"jira: \d+ changes applied in \d+\.\d s, 2 s of it waiting on limits",
                        lines[3])  # fmt: skip
    assert logged[:2] == [(429, "rate_limit"), (201, None)]  # the same request, sent again
