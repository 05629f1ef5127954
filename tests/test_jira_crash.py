"""Crash safety: kill ``backlog-bot apply`` after Jira created issues but before the state
recorded them, run it again, and find every issue exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sandbox.jira import Fault
from sync.state.db import make_engine
from sync.state.links import LinkStore
from tests.jira_support import REFERENCE, issue_count_by_label, jira_site

pytestmark = pytest.mark.usefixtures("jira_deployment")  # Cloud and Data Center

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "import sys; from bot.cli.app import main; sys.exit(main())"]
STALL_AFTER = 40  # the first sub-task batch takes the site from 33 to 83 issues


def _env(site, database_url: str, config: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA_", "GITHUB_", "SLACK_"))}
    env.update(site.env())
    env.update(
        {"DATABASE_URL": database_url, "BACKLOG_BOT_CONFIG": str(config), "PYTHONPATH": str(ROOT)}
    )
    return env


@pytest.mark.slow  # a real `apply` process, killed and run again
def test_killed_mid_apply_then_rerun_creates_no_duplicates(
    database_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "backlog-bot.toml"
    config.write_text('[jira]\nsprint_start = "2026-01-05"\ntimeout_read = 60\n', encoding="utf-8")
    with jira_site() as site:
        env = _env(site, database_url, config)
        stall = Fault(
            "stall_after",
            methods=("POST",),
            path_contains="/issue/bulk",
            after_creates=STALL_AFTER,
            delay=None,
        )
        site.inject_fault(stall)
        command = [*CLI, "apply", str(REFERENCE), "--target", "jira"]
        log = tmp_path / "killed-apply.log"
        with (
            log.open("wb") as output,
            subprocess.Popen(
                command, cwd=tmp_path, env=env, stdout=output, stderr=subprocess.STDOUT
            ) as process,
        ):
            try:
                deadline = time.monotonic() + 60
                while stall.fired == 0:
                    assert process.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, "apply never reached the stalled create"
                    time.sleep(0.05)
                created_before_kill = site.state.created_issue_count
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)
            finally:
                if process.poll() is None:
                    process.kill()
        assert process.returncode == -signal.SIGKILL
        site.clear_faults()
        assert created_before_kill == 83

        engine = make_engine(database_url)
        try:
            recorded = LinkStore(engine, "jira").load()
            assert len(recorded) == 33  # epics and stories; the 50 sub-tasks were never recorded

            rerun = subprocess.run(
                [*CLI, "apply", str(REFERENCE), "--target", "jira"],
                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert rerun.returncode == 0, rerun.stderr
            assert site.state.summary()["issues"] == 145
            assert set(issue_count_by_label(site).values()) == {1}
            assert site.state.created_issue_count == 145
            runs = LinkStore(engine, "jira").runs()
            assert [run.outcome for run in runs] == [
                "running",
                "ok",
            ]  # the killed run never finished
            assert runs[1].counts["create task"] == 145 - 83  # the rest of the sub-tasks
            assert "create story" not in runs[1].counts and "adopt story" not in runs[1].counts
        finally:
            engine.dispose()
