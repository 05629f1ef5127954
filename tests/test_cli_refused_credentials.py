"""A refused credential is one line naming the service, the URL and what to check; exit 2.

Every command that talks to a tracker (plan, apply, sync) on both targets, after the state
database already holds links (the case where a plan used to read nothing and report
"no changes"). With ``--target all`` the line also says which target finished first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli.app import main
from sandbox.github import GitHubSandbox
from sandbox.jira import JiraSandbox

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = str(ROOT / "examples" / "bss-modernization.md")


@dataclass
class Sites:
    jira: JiraSandbox
    github: GitHubSandbox


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sites, dict[str, str]]]:
    """Both sandboxes with the reference backlog applied once, and the settings that work."""
    folder = tmp_path_factory.mktemp("refused")
    with JiraSandbox() as jira, GitHubSandbox() as github:
        env = {
            **jira.env(),
            **github.env(),
            "DATABASE_URL": f"sqlite:///{folder / 'state.db'}",
        }
        with pytest.MonkeyPatch.context() as patch:
            for key, value in env.items():
                patch.setenv(key, value)
            assert main(["apply", REFERENCE, "--target", "all", "--format", "json"]) == 0
        yield Sites(jira, github), env


COMMANDS = [
    ["plan", REFERENCE],
    ["apply", REFERENCE],
    ["sync"],
    ["pull", REFERENCE],
]
EXPECTED = {
    "jira": (
        "JIRA_API_TOKEN",
        "error: jira: 401 Unauthorized while reading server info at {url}: the credentials "
        "were refused. Check JIRA_EMAIL and JIRA_API_TOKEN",
    ),
    "github": (
        "GITHUB_TOKEN",
        "error: github: 401 Unauthorized at {url} (Bad credentials): the token was refused. "
        "Check GITHUB_TOKEN (and GITHUB_API_URL for GitHub Enterprise)",
    ),
}


@pytest.mark.parametrize("target", ["jira", "github"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_wrong_token_is_one_line_and_exit_2(
    sites: tuple[Sites, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    target: str,
    command: list[str],
) -> None:
    site, env = sites
    setting, expected = EXPECTED[target]
    for key, value in {**env, setting: "wrong"}.items():
        monkeypatch.setenv(key, value)
    url = site.jira.url if target == "jira" else site.github.url
    assert main([*command, "--target", target]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # never "no changes"
    (error,) = _error_lines(captured.err)  # besides progress lines, exactly one error line
    assert error.startswith(expected.format(url=url.rstrip("/")))


def test_with_every_target_the_line_says_what_was_done(
    sites: tuple[Sites, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _site, env = sites
    for key, value in {**env, "GITHUB_TOKEN": "wrong"}.items():
        monkeypatch.setenv(key, value)
    assert main(["apply", REFERENCE, "--target", "all"]) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("jira: applied\n")  # Jira's result is kept and shown
    (error,) = _error_lines(captured.err)
    assert error.startswith("error: github: 401 Unauthorized at ")
    assert error.endswith("; jira applied")

    for key, value in {**env, "JIRA_API_TOKEN": "wrong"}.items():
        monkeypatch.setenv(key, value)
    assert main(["sync", "--target", "all"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (error,) = _error_lines(captured.err)
    assert error.endswith("; github not started")


def _error_lines(stderr: str) -> list[str]:
    """The error lines on stderr; the others are progress lines (one per phase on a pipe)."""
    lines = stderr.splitlines()
    assert all(line.startswith("error: ") or ": " in line for line in lines), lines
    return [line for line in lines if line.startswith("error: ")]
