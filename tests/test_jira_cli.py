"""``backlog-bot plan/apply/sync --target jira`` end to end against the sandbox: exact text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.app import main
from sandbox.jira import JiraSandbox
from tests.jira_support import REFERENCE

pytestmark = pytest.mark.usefixtures("jira_deployment")  # Cloud and Data Center


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    config = tmp_path / "backlog-bot.toml"
    config.write_text('[jira]\nsprint_start = "2026-01-05"\n', encoding="utf-8")
    with JiraSandbox() as sandbox:
        for key, value in sandbox.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
        monkeypatch.setenv("BACKLOG_BOT_CONFIG", str(config))
        monkeypatch.chdir(tmp_path)
        yield sandbox


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(list(args))
    return code, capsys.readouterr().out.splitlines()


def test_plan_apply_reapply_sync(
    site: JiraSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backlog = tmp_path / "backlog.md"
    backlog.write_text(REFERENCE.read_text(encoding="utf-8"), encoding="utf-8")

    code, out = _run(capsys, "plan", str(backlog), "--target", "jira")
    assert code == 0
    assert out[0] == f"jira: plan for {backlog}"
    assert out[1] == "  + create epic    EPIC-001: Foundation & Observability (line 23)"
    assert "  = link   dependency US-001>US-002: US-001 blocks US-002 (line 88)" in out
    assert "  > move   sprint  sprint-1: 7 stories into Sprint 1 (line 1555)" in out
    assert out[-2:] == ["summary: 153 create, 62 link, 7 move", "http calls: 12 (jira GET 12)"]
    assert site.state.summary()["issues"] == 0  # plan writes nothing

    code, out = _run(capsys, "apply", str(backlog), "--target", "jira")
    assert code == 0
    assert out[0] == "jira: applied"
    assert out[1] == f"  EPIC-001         BSS-1      {site.url}/browse/BSS-1"
    assert out[-2:] == [
        "summary: 4 create epic, 29 create story, 112 create task, 62 link dependency, "
        "8 create sprint, 29 move to sprint",
        "http calls: 94 (jira GET 12, jira POST 82)",
    ]

    code, out = _run(capsys, "apply", str(backlog), "--target", "jira")
    assert (code, out) == (
        0,
        # one search more than the first apply: the linked stories' live fields (drift)
        ["jira: applied", "summary: 215 unchanged", "http calls: 13 (jira GET 13)"],
    )

    text = backlog.read_text(encoding="utf-8")
    backlog.write_text(
        text.replace("**Story Points:** 21", "**Story Points:** 13", 1), encoding="utf-8"
    )
    code, out = _run(capsys, "plan", str(backlog), "--format", "json")
    plan = json.loads("\n".join(out))
    assert plan["counts"] == {"update": 1, "unchanged": 214}
    assert plan["changes"][0]["diff"] == {"points": [21, 13]}
    code, out = _run(capsys, "plan", str(backlog))
    expected = "US-001 BSS-5: Observability Stack Deployment — points 21 -> 13 (line 40)"
    assert out[1] == f"  ~ update story   {expected}"
    code, out = _run(capsys, "apply", str(backlog))
    assert out == [
        "jira: applied",
        f"  US-001           BSS-5      {site.url}/browse/BSS-5",
        "summary: 1 update story, 214 unchanged",
        "http calls: 14 (jira GET 13, jira PUT 1)",
    ]

    code, out = _run(capsys, "sync", "--target", "jira")
    assert (code, out) == (
        0,
        ["jira: read 145 issues, 145 changed since the last sync", "http calls: 12 (jira GET 12)"],
    )
