"""``backlog-bot digest standup|capacity`` through the CLI entry point, exact output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.app import main
from sandbox.slack import SlackSandbox
from sync.state import db
from tests.slack_support import EXPECTED_STANDUP_LINES, TEAM_BACKLOG, pulled_state, store_links


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    store_links(engine, pulled_state())
    engine.dispose()
    config = tmp_path / "backlog-bot.toml"
    config.write_text('[calendar]\nsprint1_start = "2026-11-16"\n', encoding="utf-8")
    monkeypatch.setenv("BACKLOG_BOT_CONFIG", str(config))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("COLUMNS", "100")
    return url


def test_digest_standup_renders_in_terminal(
    configured: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = tmp_path / "out" / "burndown.png"
    code = main(
        [
            "digest",
            "standup",
            "--file",
            str(TEAM_BACKLOG),
            "--today",
            "2026-11-19",
            "--chart",
            str(chart),
        ]
    )
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert "Standup · Sprint 1: Take Payments" in out[0]
    assert out[1:] == [*EXPECTED_STANDUP_LINES[1:], f"burndown chart saved to {chart}"]
    assert chart.read_bytes()[:4] == b"\x89PNG"


def test_digest_standup_json_and_post(
    configured: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with SlackSandbox() as slack:
        for key, value in slack.env().items():
            monkeypatch.setenv(key, value)
        code = main(
            [
                "digest",
                "standup",
                "--file",
                str(TEAM_BACKLOG),
                "--today",
                "2026-11-19",
                "--format",
                "json",
                "--post",
            ]
        )
        out = capsys.readouterr().out
        assert code == 0
        payload = json.loads(out[: out.rindex("}") + 1])
        assert (payload["sprint"], payload["day"], payload["done_points"]) == (1, 4, 13.0)
        assert payload["blocked"][0]["blocked_by"] == ["US-002"]
        assert "posted to Slack channel C0BACKLOG1" in out
        assert len(slack.state.messages_in(slack.channel_id)) == 2  # digest + chart


def test_digest_capacity_warning_exit_0_and_error_exit_1(
    configured: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["digest", "capacity", "--file", str(TEAM_BACKLOG), "--today", "2026-11-19"]
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines() == [
        "warning: Sprint 1: Backend Developer at 87% of capacity (warning)"
    ]
    engine = db.make_engine(configured)
    from tests.slack_support import set_live

    set_live(engine, "US-004", remote_sprint="PAY Sprint 1")
    engine.dispose()
    assert main(args) == 1
    assert capsys.readouterr().out.splitlines() == [
        "error: Sprint 1: Backend Developer at 113% of capacity (error)",
        "error: Sprint 1: 39 points committed against a capacity of 30 (error)",
    ]


def test_digest_without_calendar_is_a_one_line_error(
    configured: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BACKLOG_BOT_CONFIG")
    empty = Path(configured.removeprefix("sqlite:///")).parent / "elsewhere"
    empty.mkdir()
    monkeypatch.chdir(empty)
    assert main(["digest", "standup", "--file", str(TEAM_BACKLOG)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "set [calendar] sprint1_start in backlog-bot.toml" in err[0]
