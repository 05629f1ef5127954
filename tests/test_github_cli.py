"""``backlog-bot plan|apply|sync --target github`` against the sandbox, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.app import main
from bot.demo.sandboxes import start
from sandbox.github import GitHubSandbox

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = str(ROOT / "examples" / "bss-modernization.md")


def test_plan_apply_reapply_and_sync(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    with GitHubSandbox() as sandbox:
        for key, value in {**sandbox.env(), "DATABASE_URL": sqlite_url}.items():
            monkeypatch.setenv(key, value)
        assert main(["plan", REFERENCE, "--target", "github"]) == 0
        planned = capsys.readouterr().out
        assert "summary: 52 create, 33 update, 77 link" in planned
        assert "+ create story   US-001" in planned
        assert "http calls: 1 (github GET 1)" in planned  # the token is verified first

        assert main(["apply", REFERENCE, "--target", "github", "--format", "json"]) == 0
        applied = json.loads(capsys.readouterr().out)
        assert applied["target"] == "github" and applied["failures"] == []
        assert applied["counts"]["create story"] == 29
        assert applied["keys"]["US-001"].startswith("#")
        assert applied["http_calls"]["github POST"] > 0

        assert main(["apply", REFERENCE, "--target", "github"]) == 0
        again = capsys.readouterr().out
        # the token check and the reads that look for changes made on GitHub: the board,
        # the issue list and the blockers of the 15 stories that have some
        assert "summary: 51 unchanged" in again  # as Jira says it
        assert "http calls: 18 (github GET 17, github graphql:query:projectItems 1)" in again

        sandbox.close_issue(sandbox.issues_by_marker()["US-001"][0])
        assert main(["sync", "--target", "github"]) == 0
        pulled = capsys.readouterr().out
        assert "github: read 33 issues, 33 changed" in pulled


def test_missing_settings_are_named(monkeypatch: pytest.MonkeyPatch, capsys, sqlite_url) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    assert main(["plan", REFERENCE, "--target", "github"]) == 2
    error = capsys.readouterr().err
    assert (
        "GITHUB_TOKEN, GITHUB_REPOSITORY" in error and error[-1] == "\n" and error.count("\n") == 1
    )


def test_sandbox_registry_starts_the_github_emulator() -> None:
    running = start("github", None, {})
    try:
        assert running.env["GITHUB_API_URL"] == running.url
        assert running.env["GITHUB_REPOSITORY"] == "acme/bss"
        assert set(running.env) == {
            "GITHUB_API_URL",
            "GITHUB_TOKEN",
            "GITHUB_REPOSITORY",
            "GITHUB_PROJECT",
        }
    finally:
        running.stop()


def test_unknown_repository_fails_once_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    with GitHubSandbox() as sandbox:
        env = {**sandbox.env(), "GITHUB_REPOSITORY": "acme/nope", "DATABASE_URL": sqlite_url}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        assert main(["apply", REFERENCE, "--target", "github"]) == 2
        error = capsys.readouterr().err.splitlines()[-1]  # after the progress lines
        assert error.startswith("error: github: repository acme/nope not found")
        assert len(sandbox.requests()) == 1
