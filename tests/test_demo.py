"""``backlog-bot demo`` end to end, as a user runs it: a subprocess in an empty directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BACKLOG_BOT = Path(sys.executable).parent / "backlog-bot"  # the installed console script


@pytest.mark.slow
def test_demo_runs_the_whole_job(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA_", "GITHUB_", "SLACK_"))}
    env.pop("DATABASE_URL", None)
    env.pop("BACKLOG_BOT_CONFIG", None)
    env["COLUMNS"] = "200"
    result = subprocess.run(
        [str(BACKLOG_BOT), "demo", str(ROOT / "examples" / "bss-modernization.md")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # generous: a loaded CI machine, not the demo, sets the pace
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "29 stories in 4 epics, 8 sprints: 29 errors" in out
    assert "jira: 4 create epic, 29 create story, 112 create task, 62 link dependency" in out
    assert "inbox: jira jira:issue_updated -> done" in out
    assert "BSS-12 labels: backlog-bot, backlog-id-US-008, dor:failed" in out
    assert "US-008 does not meet the Definition of Ready / INVEST" in out
    assert "Sprint 1: Backend Developer at 92% of capacity (warning)" in out
    assert "Sprint 1: Backend Developer at 102% of capacity (error)" in out
    assert "Standup · Sprint 1: Foundation Setup" in out
    assert "34 of 110 points done" in out
    assert "US-008 API Gateway Implementation · waiting for US-003 (To do)" in out
    assert "ack 200" in out and "US-008 · API Gateway Implementation" in out
    chart = tmp_path / "demo-output" / "burndown.png"
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Traceback" not in result.stderr
