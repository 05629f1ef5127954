"""``apply --target all``: Jira and GitHub in one run, cross-linked both ways — each GitHub
body names its Jira issue, each Jira issue has a remote link to its GitHub issue — and a
second run sends nothing."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from bot.cli.app import main
from sandbox.github import GitHubSandbox
from sandbox.jira import JiraSandbox

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = str(ROOT / "examples" / "bss-modernization.md")


def test_target_all_cross_links_jira_and_github(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    with JiraSandbox() as jira, GitHubSandbox() as github:
        env = {**jira.env(), **github.env(), "DATABASE_URL": sqlite_url}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        assert main(["apply", REFERENCE, "--target", "all", "--format", "json"]) == 0
        outcomes = json.loads(capsys.readouterr().out)
        assert [o["target"] for o in outcomes] == ["jira", "github"]
        assert all(o["failures"] == [] for o in outcomes)
        jira_keys = outcomes[0]["keys"]
        markers = github.issues_by_marker()
        body = github.repo.issues[markers["US-001"][0]]["body"]
        assert f"Jira: [{jira_keys['US-001']}]" in body
        auth = (env["JIRA_EMAIL"], env["JIRA_API_TOKEN"])
        links = httpx.get(
            f"{jira.url}/rest/api/2/issue/{jira_keys['US-001']}/remotelink", auth=auth
        ).json()
        github_url = f"{github.url}/acme/bss/issues/{markers['US-001'][0]}"
        assert [link["object"]["url"] for link in links] == [github_url]
        assert links[0]["object"]["title"].startswith("GitHub #")
        assert outcomes[1]["http_calls"]["jira POST"] == 33

        github.clear_requests()
        assert main(["apply", REFERENCE, "--target", "all", "--format", "json"]) == 0
        again = json.loads(capsys.readouterr().out)
        # no writes; reads: the token check (a refused one is never "no changes"), the
        # board page that shows changes made on GitHub, the issue list (which issues have
        # blockers) and the blockers of each of the 15 stories with dependencies
        assert again[1]["http_calls"] == {
            "github GET": 17,
            "github graphql:query:projectItems": 1,
        }
        requests = [(r["method"], r["path"]) for r in github.requests()]
        assert requests[:3] == [
            ("GET", "/repos/acme/bss"),
            ("POST", "/graphql"),
            ("GET", "/repos/acme/bss/issues"),
        ]
        assert len(requests) == 18
        assert all(path.endswith("/dependencies/blocked_by") for _get, path in requests[3:])


def test_the_targets_of_one_command_share_one_database_engine(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    from bot.cli.sync import _runners

    with JiraSandbox() as jira, GitHubSandbox() as github:
        for key, value in {**jira.env(), **github.env(), "DATABASE_URL": sqlite_url}.items():
            monkeypatch.setenv(key, value)
        runners = _runners("all")
        (first, jira_target), (second, github_target) = next(runners), next(runners)
        assert (first, second) == ("jira", "github")
        assert jira_target.state_engine() is github_target.state_engine()
        runners.close()
