"""``apply`` with a fresh database against a populated repository or project adopts what it
finds (GitHub: issues by their hidden marker, labels by name, milestones by title; Jira: issues
by their backlog id): no duplicates, and the report says adopted, not created nor unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.app import main
from sandbox.github import GitHubSandbox
from sandbox.jira import JiraSandbox

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = str(ROOT / "examples" / "bss-modernization.md")


def test_fresh_database_adopts_the_issues_it_finds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with GitHubSandbox() as sandbox:
        for key, value in sandbox.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'first.db'}")
        assert main(["apply", REFERENCE, "--target", "github", "--format", "json"]) == 0
        first = json.loads(capsys.readouterr().out)["counts"]
        assert (first["create epic"], first["create story"]) == (4, 29)
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
        assert main(["apply", REFERENCE, "--target", "github", "--format", "json"]) == 0
        again = json.loads(capsys.readouterr().out)["counts"]
        assert (again.get("adopt epic"), again.get("adopt story")) == (4, 29)
        assert "create epic" not in again and "create story" not in again
        assert (again.get("adopt label"), again.get("adopt sprint")) == (10, 8)
        assert "create label" not in again and "create sprint" not in again
        assert len(sandbox.repo.labels) == 10 and len(sandbox.repo.milestones) == 8
        assert len(sandbox.repo.issues) == 33


def test_fresh_database_adopts_the_jira_issues_it_finds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "backlog-bot.toml"
    config.write_text('[jira]\nsprint_start = "2026-01-05"\n', encoding="utf-8")
    monkeypatch.setenv("BACKLOG_BOT_CONFIG", str(config))
    with JiraSandbox() as sandbox:
        for key, value in sandbox.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'first.db'}")
        assert main(["apply", REFERENCE, "--target", "jira", "--format", "json"]) == 0
        first = json.loads(capsys.readouterr().out)["counts"]
        assert (first["create epic"], first["create task"], first["link dependency"]) == (
            4,
            112,
            62,
        )
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
        assert main(["apply", REFERENCE, "--target", "jira", "--quiet"]) == 0
        summary = [line for line in capsys.readouterr().out.splitlines() if "summary" in line]
        assert summary[0].startswith(
            "summary: 4 adopt epic, 29 adopt story, 112 adopt task, 62 adopt dependency, "
        )
        assert "create" not in summary[0] and "unchanged" not in summary[0]
        assert sandbox.state.summary()["issues"] == 145  # nothing created twice
        # a third run, on the database the second filled in: nothing left to adopt
        assert main(["apply", REFERENCE, "--target", "jira", "--format", "json"]) == 0
        third = json.loads(capsys.readouterr().out)["counts"]
        assert not [name for name in third if name.startswith("adopt")]
        assert third["unchanged"] == 215
