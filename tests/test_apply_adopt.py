"""``apply`` with a fresh database against a populated repository adopts the issues it finds
by their hidden marker: no duplicates, and the report says "adopt", not "create"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.app import main
from sandbox.github import GitHubSandbox

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
        assert len(sandbox.repo.issues) == 33
