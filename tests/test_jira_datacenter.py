"""Jira Data Center / Server: what differs from Cloud, through the real CLI and sandbox.

The other Jira tests run on both deployments (``jira_deployment`` in tests/conftest.py); these
pin the differences: a personal access token sent as Bearer (Basic refused), detection from
``serverInfo.deploymentType`` or ``[jira] deployment``, reads through ``/rest/api/2/search``
paged by ``startAt`` and never the Cloud-only API v3, and the sandbox command's flavour.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bot.cli.app import main
from sandbox.jira import JiraSandbox, ProjectSpec

ROOT = Path(__file__).resolve().parents[1]
BACKLOG = ROOT / "tests" / "data" / "billing-backlog.md"


@pytest.fixture
def datacenter(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    with JiraSandbox([ProjectSpec("BSS", flavour="company")], deployment="datacenter") as site:
        for key, value in site.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
        monkeypatch.chdir(tmp_path)
        yield site


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*args, "--quiet"] if args[0] in ("apply", "sync") else list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_detected_from_server_info_with_a_token_alone(
    datacenter: JiraSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "apply", str(BACKLOG), "--target", "jira")
    assert code == 0, err
    assert "summary: " in out and "create story" in out and "link dependency" in out
    paths = [r.path for r in datacenter.requests]
    assert not [p for p in paths if p.startswith("/rest/api/3/")]
    assert "/rest/api/2/serverInfo" in paths
    code, out, _ = run(capsys, "apply", str(BACKLOG), "--target", "jira")
    assert out.splitlines()[1].endswith("unchanged")  # idempotent through the v2 search
    searches = [r for r in datacenter.requests if r.path == "/rest/api/2/search"]
    assert searches and all("startAt=" in r.query for r in searches)
    code, out, _ = run(capsys, "sync", "--target", "jira")
    assert code == 0 and re.match(r"jira: read \d+ issues", out)


def test_deployment_set_in_the_config(
    datacenter: JiraSandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "backlog-bot.toml").write_text('[jira]\ndeployment = "datacenter"\n')
    code, _, err = run(capsys, "apply", str(BACKLOG), "--target", "jira")
    assert code == 0, err


def test_basic_auth_is_refused_and_the_message_says_what_to_use(
    datacenter: JiraSandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIRA_EMAIL", "someone@example.com")  # Cloud habits: email + token
    code, _, err = run(capsys, "apply", str(BACKLOG), "--target", "jira")
    assert code == 2
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert "401 Unauthorized" in line and "personal access token" in line
    assert "leave JIRA_EMAIL unset" in line


def test_sandbox_speaks_data_center(datacenter: JiraSandbox) -> None:
    basic = base64.b64encode(f"{datacenter.email}:{datacenter.token}".encode()).decode()
    bearer = {"Authorization": f"Bearer {datacenter.token}"}
    with httpx.Client(base_url=datacenter.url) as client:
        info = client.get("/rest/api/2/serverInfo").json()  # anonymous, as on Data Center
        assert info["deploymentType"] == "DataCenter" and info["versionNumbers"][0] == 9
        assert (
            client.get(
                "/rest/api/2/myself", headers={"Authorization": f"Basic {basic}"}
            ).status_code
            == 401
        )
        me = client.get("/rest/api/2/myself", headers=bearer).json()
        assert "accountId" not in me and me["name"] == "backlog-bot"
        assert client.get("/rest/api/3/myself", headers=bearer).status_code == 404
        assert (
            client.get(
                "/rest/api/2/search/jql", params={"jql": "project = BSS"}, headers=bearer
            ).status_code
            == 404
        )
        page = client.get(
            "/rest/api/2/search", params={"jql": "project = BSS", "startAt": 0}, headers=bearer
        ).json()
        assert (page["startAt"], page["total"], page["issues"]) == (0, 0, [])


def test_sandbox_command_starts_a_data_center_site(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("backlog-bot")), "sandbox", "--only", "jira",
         "--jira-flavour", "datacenter"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        env = dict(process.stdout.readline().strip().split("=", 1) for _ in range(3))
        assert set(env) == {"JIRA_URL", "JIRA_API_TOKEN", "JIRA_PROJECT"}  # no JIRA_EMAIL
        info = httpx.get(env["JIRA_URL"] + "/rest/api/2/serverInfo").json()
        assert info["deploymentType"] == "DataCenter"
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def test_an_assignee_is_sent_by_name_and_read_back_as_the_display_name(
    datacenter: JiraSandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Data Center users have a name, no accountId: apply finds ``**Assignee:** Bob Backend``
    with ``GET /rest/api/2/user/search?username=`` and assigns by name; plan then finds the
    display name Jira shows equal to the file's."""
    file = tmp_path / "backlog.md"
    text = BACKLOG.read_text(encoding="utf-8")
    file.write_text(
        text.replace("**Priority:** High\n", "**Priority:** High\n**Assignee:** Bob Backend\n"),
        encoding="utf-8",
    )
    code, _out, err = run(capsys, "apply", str(file), "--target", "jira")
    assert code == 0, err
    searches = [r for r in datacenter.requests if r.path == "/rest/api/2/user/search"]
    assert [r.query for r in searches] == ["username=Bob+Backend&maxResults=50"]
    with datacenter.state.lock:
        [issue] = [
            i for i in datacenter.state.issues.values() if "backlog-id-US-001" in i.fields["labels"]
        ]
        assert issue.assignee == "712020:bob"
    code, out, _ = run(capsys, "plan", str(file), "--target", "jira")
    assert code == 0 and "changed since the last apply or pull" not in out
