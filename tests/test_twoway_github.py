"""Two-way sync with GitHub through the CLI: a teammate renames an issue on GitHub (through
GitHub's REST API with PyGithub); ``plan`` shows the change as the tracker's, ``apply`` leaves
it alone, and ``pull --write`` writes the new name into the story heading, the rest of the
file byte for byte as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from github import Auth, Github

from bot.cli.app import main
from sandbox.github import GitHubSandbox

BILLING = Path(__file__).resolve().parent / "data" / "billing-backlog.md"


def test_a_title_changed_on_github_is_pulled_into_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "backlog.md"
    file.write_bytes(BILLING.read_bytes())
    with GitHubSandbox() as sandbox:
        for key, value in {
            **sandbox.env(),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'state.db'}",
        }.items():
            monkeypatch.setenv(key, value)
        assert main(["apply", str(file), "--target", "github"]) == 0
        number = sandbox.issues_by_marker()["US-002"][0]
        client = Github(base_url=sandbox.url, auth=Auth.Token(sandbox.token))
        client.get_repo("acme/bss").get_issue(number).edit(title="US-002 · Invoice PDF download")
        capsys.readouterr()

        assert main(["plan", str(file), "--target", "github"]) == 0
        planned = capsys.readouterr().out
        assert (
            f"  < pull     US-002 #{number}: title 'Invoice PDF' -> "
            "'Invoice PDF download' (tracker)"
        ) in planned

        assert main(["apply", str(file), "--target", "github"]) == 0
        assert "left alone (changed on the tracker): US-002 title" in capsys.readouterr().out
        issue = client.get_repo("acme/bss").get_issue(number)
        assert issue.title == "US-002 · Invoice PDF download"

        assert main(["pull", str(file), "--target", "github", "--write"]) == 0
        assert file.read_bytes() == BILLING.read_bytes().replace(
            b"### Story 1.2: Invoice PDF\n", b"### Story 1.2: Invoice PDF download\n"
        )
        client.close()
