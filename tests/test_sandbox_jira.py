"""The Jira sandbox itself, driven by the real ``jira`` client over HTTP: search paging with
``nextPageToken``, the retired search answering 410, JQL errors, authentication, signed
webhooks shaped like Atlassian's example, and the HTTP control endpoints."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from jira import JIRA, JIRAError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.jira import JiraSandbox, ProjectSpec
from sandbox.runner import serve
from tests.oracle_files import JIRA_ISSUE_UPDATED

ROOT = Path(__file__).resolve().parents[1]


def _client(site: JiraSandbox, token: str | None = None) -> JIRA:
    return JIRA(site.url, basic_auth=(site.email, token or site.token), max_retries=0, timeout=5)


def _bulk(client: JIRA, count: int, label: str = "paging") -> None:
    project = client.project("BSS")
    story = next(t for t in project.issueTypes if t.name == "Story")
    for start in range(0, count, 50):
        fields = [
            {
                "project": {"id": project.id},
                "issuetype": {"id": story.id},
                "summary": f"Story {n}",
                "labels": [label],
            }
            for n in range(start, min(start + 50, count))
        ]
        results = client.create_issues(fields, prefetch=False)
        assert all(result["status"] == "Success" for result in results)


def test_enhanced_search_pages_with_next_page_token() -> None:
    with JiraSandbox() as site:
        client = _client(site)
        _bulk(client, 120)
        found = client.enhanced_search_issues(
            "project = BSS AND labels = paging ORDER BY key ASC", maxResults=0, fields="summary"
        )
        assert [issue.fields.summary for issue in found] == [f"Story {n}" for n in range(120)]
        pages = [r for r in site.requests if r.path.endswith("/search/jql")]
        assert len(pages) == 2 and "nextPageToken=" in pages[1].query


def test_retired_search_answers_410_like_cloud() -> None:
    with JiraSandbox() as site:
        for version in (2, 3):
            response = httpx.get(
                f"{site.url}/rest/api/{version}/search",
                params={"jql": "project = BSS"},
                auth=(site.email, site.token),
            )
            assert response.status_code == 410
            assert "/rest/api/3/search/jql" in response.json()["errorMessages"][0]


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        (
            "project = BSS AND color = red",
            "Field 'color' does not exist or you do not have permission to view it.",
        ),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        (
            "ORDER BY key",
            "Unbounded JQL queries are not allowed here. "
            "Please add a search restriction to your query.",
        ),
        ("sprint in openSprints()", "Unable to find JQL function 'openSprints()'."),
    ],
)
def test_jql_errors_are_400_with_jiras_words(jql: str, message: str) -> None:
    with JiraSandbox() as site:
        with pytest.raises(JIRAError) as caught:
            _client(site).enhanced_search_issues(jql)
        assert caught.value.status_code == 400
        assert caught.value.text == message


def test_jql_subset_filters() -> None:
    with JiraSandbox() as site:
        client = _client(site)
        _bulk(client, 3, label="alpha")
        _bulk(client, 2, label="beta")
        keys = lambda jql: [i.key for i in client.enhanced_search_issues(jql, fields="labels")]  # noqa: E731
        assert keys('project = BSS AND labels in ("beta") ORDER BY key DESC') == ["BSS-5", "BSS-4"]
        assert keys("project = BSS AND (key = BSS-1 OR key = BSS-5) AND labels != beta") == [
            "BSS-1"
        ]
        assert keys("project = BSS AND NOT labels = alpha AND issuetype = Story") == [
            "BSS-4",
            "BSS-5",
        ]
        assert keys("project = BSS AND sprint is EMPTY AND status = 'To Do'") == [
            f"BSS-{n}" for n in range(1, 6)
        ]


def test_authentication() -> None:
    with JiraSandbox() as site:
        with pytest.raises(JIRAError) as caught:
            _client(site, token="wrong").myself()
        assert caught.value.status_code == 401
        bearer = httpx.get(
            f"{site.url}/rest/api/3/myself", headers={"Authorization": f"Bearer {site.token}"}
        )
        assert bearer.json()["emailAddress"] == site.email
        assert httpx.get(f"{site.url}/rest/api/3/myself").status_code == 401


def test_teammates_call_as_themselves_and_the_changelog_names_them() -> None:
    with JiraSandbox() as site:
        bot = _client(site)
        project = bot.project("BSS")
        story = next(t for t in project.issueTypes if t.name == "Story")
        issue = bot.create_issue(project="BSS", summary="One", issuetype={"id": story.id})
        token = site.user_token("alice@example.com")
        alice = JIRA(site.url, basic_auth=("alice@example.com", token), max_retries=0)
        assert alice.myself()["displayName"] == "Alice Devops"
        alice.issue(issue.key).update(fields={"summary": "Two"})
        with pytest.raises(JIRAError) as caught:  # her email with the bot's token: refused
            JIRA(site.url, basic_auth=("alice@example.com", site.token), max_retries=0).myself()
        assert caught.value.status_code == 401
        [history] = bot.issue(issue.key, expand="changelog").changelog.histories
        assert history.author.displayName == "Alice Devops"
        [item] = history.items
        assert (item.field, item.fieldId, item.fromString, item.toString) == (
            "summary",
            "summary",
            "One",
            "Two",
        )
        # the same history through GET /issue/{key}/changelog (PageBeanChangelog)
        url = f"{site.url}/rest/api/3/issue/{issue.key}/changelog"
        page = bot._session.get(url, params={"startAt": 0, "maxResults": 50}).json()
        assert (page["total"], page["isLast"]) == (1, True)
        assert page["values"][0]["author"]["displayName"] == "Alice Devops"
        alice.close()  # type: ignore[no-untyped-call]
        bot.close()  # type: ignore[no-untyped-call]


def test_webhooks_are_signed_and_shaped_like_atlassians_example() -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: Request) -> Response:
        received.append((dict(request.headers), await request.body()))
        return Response(status_code=200)

    receiver_app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    with (
        serve(receiver_app) as receiver,
        JiraSandbox(webhook_url=f"{receiver.url}/hook", webhook_secret="s3cret") as site,
    ):
        client = _client(site)
        issue = client.create_issue(
            project="BSS", issuetype={"name": "Story"}, summary="What is going on here?"
        )
        issue.update(summary="A new summary.")
        site.webhooks.flush()
    assert [json.loads(body)["webhookEvent"] for _, body in received] == [
        "jira:issue_created",
        "jira:issue_updated",
    ]
    example = json.loads(JIRA_ISSUE_UPDATED.read_text(encoding="utf-8"))
    identifiers = set()
    for headers, body in received:
        expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        assert headers["x-hub-signature"] == expected
        identifiers.add(headers["x-atlassian-webhook-identifier"])
    assert len(identifiers) == 2
    updated: dict[str, Any] = json.loads(received[1][1])
    assert set(updated) == set(example)
    assert updated["issue_event_type_name"] == example["issue_event_type_name"] == "issue_generic"
    item = updated["changelog"]["items"][0]
    assert set(item) == set(example["changelog"]["items"][0])
    assert (item["field"], item["fromString"], item["toString"]) == (
        "summary",
        "What is going on here?",
        "A new summary.",
    )
    assert set(example["issue"]["fields"]) <= set(updated["issue"]["fields"])
    assert isinstance(updated["issue"]["fields"]["description"], (str, type(None)))  # v2 shape


def test_control_endpoints_over_http() -> None:
    with JiraSandbox() as site:
        auth = (site.email, site.token)
        faults = {"faults": [{"mode": "error", "status": 502, "times": 1, "methods": ["GET"]}]}
        assert httpx.post(f"{site.url}/_sandbox/faults", json=faults).status_code == 200
        assert httpx.get(f"{site.url}/rest/api/2/serverInfo", auth=auth).status_code == 502
        assert httpx.get(f"{site.url}/rest/api/2/serverInfo", auth=auth).status_code == 200
        log = httpx.get(f"{site.url}/_sandbox/requests").json()
        assert [(r["status"], r["fault"]) for r in log] == [(502, "error"), (200, None)]
        assert httpx.get(f"{site.url}/_sandbox/state").json()["issues"] == 0


def test_team_and_company_projects_validate_creates() -> None:
    with JiraSandbox(
        [ProjectSpec("TEAM", flavour="team"), ProjectSpec("CO", flavour="company", id="10001")]
    ) as site:
        client = _client(site)
        team_epic = client.create_issue(project="TEAM", issuetype={"name": "Epic"}, summary="E")
        with pytest.raises(JIRAError) as caught:
            client.create_issue(project="CO", issuetype={"name": "Epic"}, summary="E")
        assert "Epic Name is required." in caught.value.text
        with pytest.raises(JIRAError) as caught:
            client.create_issue(
                project="TEAM",
                issuetype={"name": "Story"},
                summary="S",
                customfield_10014=team_epic.key,
            )
        assert "Field 'customfield_10014' cannot be set" in caught.value.text
        with pytest.raises(JIRAError) as caught:
            client.create_issue(project="TEAM", issuetype={"name": "Subtask"}, summary="T")
        assert "parent issue key or id not specified" in caught.value.text


def test_sandbox_command_prints_settings_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIRA_")} | {
        "PYTHONPATH": str(ROOT)
    }
    command = [
        sys.executable,
        "-c",
        "import sys; from bot.cli.app import main; sys.exit(main())",
        "sandbox",
        "--only",
        "jira",
    ]
    with subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        lines = dict(process.stdout.readline().strip().split("=", 1) for _ in range(4))
        assert set(lines) == {"JIRA_URL", "JIRA_EMAIL", "JIRA_API_TOKEN", "JIRA_PROJECT"}
        info = httpx.get(
            f"{lines['JIRA_URL']}/rest/api/3/serverInfo",
            auth=(lines["JIRA_EMAIL"], lines["JIRA_API_TOKEN"]),
        )
        assert info.json()["deploymentType"] == "Cloud"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0


def test_slow_responses_and_stalls_release_on_stop() -> None:
    import time

    from sandbox.jira import Fault

    with JiraSandbox() as site:
        site.inject_fault(Fault("slow", delay=0.3, times=1))
        start = time.perf_counter()
        assert (
            httpx.get(
                f"{site.url}/rest/api/2/serverInfo", auth=(site.email, site.token)
            ).status_code
            == 200
        )
        assert time.perf_counter() - start >= 0.3
        site.inject_fault(Fault("stall_after", delay=None))
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{site.url}/rest/api/2/myself", auth=(site.email, site.token), timeout=0.3)
        assert [r.fault for r in site.requests] == ["slow", "stall_after"]
    # leaving the block stopped the server although a request was still stalled
