"""A wrong path or a gutted backlog never closes the board: ``plan``/``apply`` refuse a file
with no stories, and ``--prune`` beyond PRUNE_MAX_SHARE of the linked issues needs
``--prune-all`` (GitHub sandbox, through the CLI)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli.app import main
from sandbox.github import GitHubSandbox

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "examples" / "bss-modernization.md"


@pytest.fixture
def applied(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> Iterator[GitHubSandbox]:
    """The reference backlog applied to a GitHub sandbox (33 issues: 4 epics, 29 stories)."""
    with GitHubSandbox() as sandbox:
        for key, value in {**sandbox.env(), "DATABASE_URL": sqlite_url}.items():
            monkeypatch.setenv(key, value)
        assert main(["apply", str(REFERENCE), "--target", "github"]) == 0
        capsys.readouterr()
        yield sandbox


def open_issues(sandbox: GitHubSandbox) -> int:
    return sum(1 for issue in sandbox.repo.issues.values() if issue["state"] == "open")


def without(tmp_path: Path, first: str, last: str) -> Path:
    """The reference backlog without the lines from heading ``first`` up to ``last``."""
    lines = REFERENCE.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(first))
    end = next(i for i, line in enumerate(lines) if line.startswith(last))
    path = tmp_path / "backlog.md"
    path.write_text("".join(lines[:start] + lines[end:]))
    return path


@pytest.mark.parametrize("text", [None, "garbage\n"])
def test_a_file_that_is_not_a_backlog_is_refused_before_anything_is_closed(
    applied: GitHubSandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str | None
) -> None:
    path = ROOT / "README.md" if text is None else tmp_path / "notes.md"
    if text is not None:
        path.write_text(text)
    before = open_issues(applied)
    for command in ("plan", "apply"):
        assert main([command, str(path), "--target", "github", "--prune"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {path}: no user stories found") and err.count("\n") == 1
    assert main(["apply", str(path), "--target", "github", "--prune-all"]) == 2
    assert open_issues(applied) == before == 33


def test_prune_beyond_the_share_is_refused_with_the_list_then_allowed_with_prune_all(
    applied: GitHubSandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    gutted = without(tmp_path, "# EPIC 4:", "# SPRINT PLANNING")
    assert main(["apply", str(gutted), "--target", "github", "--prune"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("github: --prune would close 9 of 33 linked issues (27%), more than the")
    assert "20% allowed (PRUNE_MAX_SHARE)" in err and "run again with --prune-all" in err
    assert "  x close  epic    EPIC-004 #" in err and "  x close  story   US-029 #" in err
    assert open_issues(applied) == 33
    assert main(["plan", str(gutted), "--target", "github", "--prune"]) == 2
    capsys.readouterr()

    assert main(["apply", str(gutted), "--target", "github", "--prune-all"]) == 0
    assert open_issues(applied) == 24


def test_prune_within_the_share_goes_ahead(
    applied: GitHubSandbox,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trimmed = without(tmp_path, "### Story 4.8:", "# SPRINT PLANNING")
    assert main(["apply", str(trimmed), "--target", "github", "--prune"]) == 0
    assert open_issues(applied) == 32
    # the share is a setting: at 0% even one close is refused
    monkeypatch.setenv("PRUNE_MAX_SHARE", "0")
    smaller = without(tmp_path, "### Story 4.7:", "# SPRINT PLANNING")
    assert main(["apply", str(smaller), "--target", "github", "--prune"]) == 2
    assert "--prune would close 1 of 32 linked issues (3%)" in capsys.readouterr().err
    assert open_issues(applied) == 32
