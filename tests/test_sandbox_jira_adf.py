"""Rich text in the Jira sandbox: REST v3 bodies must be Atlassian Document Format (checked
against Atlassian's ADF JSON Schema, 400 otherwise); v2 bodies are wiki text kept verbatim, so
Markdown sent through v2 shows up as the literal text a Jira user would see. Comment
properties (Jira's ``/comment/{id}/properties``) carry data that is not in the text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jira import JIRA

from sandbox.jira import JiraSandbox

HEADING_AND_CODE = {
    "type": "doc",
    "version": 1,
    "content": [
        {
            "type": "heading",
            "attrs": {"level": 3},
            "content": [{"type": "text", "text": "Acceptance criteria"}],
        },
        {
            "type": "codeBlock",
            "attrs": {"language": "gherkin"},
            "content": [{"type": "text", "text": "Given a user\nWhen it logs in"}],
        },
        {
            "type": "bulletList",
            "content": [
                {
                    "type": "listItem",
                    "content": [
                        {
                            "type": "paragraph",
                            "content": [
                                {"type": "text", "text": "warning", "marks": [{"type": "strong"}]}
                            ],
                        }
                    ],
                }
            ],
        },
    ],
}


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[JiraSandbox, httpx.Client, str]]:
    with JiraSandbox() as sandbox:
        client = JIRA(sandbox.url, basic_auth=(sandbox.email, sandbox.token), max_retries=0)
        issue = client.create_issue(project="BSS", summary="Rich text", issuetype={"name": "Story"})
        with httpx.Client(
            base_url=sandbox.url, auth=(sandbox.email, sandbox.token), timeout=10
        ) as http:
            yield sandbox, http, issue.key
        client.close()  # type: ignore[no-untyped-call]


def _comment(http: httpx.Client, version: int, key: str, body: Any, **extra: Any) -> httpx.Response:
    return http.post(f"/rest/api/{version}/issue/{key}/comment", json={"body": body, **extra})


def test_a_valid_adf_comment_is_kept_and_read_back_in_both_versions(site: Any) -> None:
    _sandbox, http, key = site
    created = _comment(http, 3, key, HEADING_AND_CODE)
    assert created.status_code == 201
    comment_id = created.json()["id"]
    v3 = http.get(f"/rest/api/3/issue/{key}/comment/{comment_id}").json()
    assert v3["body"] == HEADING_AND_CODE
    v2 = http.get(f"/rest/api/2/issue/{key}/comment/{comment_id}").json()
    assert isinstance(v2["body"], str) and "Acceptance criteria" in v2["body"]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("### Markdown is not a document", "Operation value must be an Atlassian Document"),
        (
            {"type": "doc", "version": 1, "content": [{"type": "heading", "content": []}]},
            "content/0",
        ),
        (
            {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}],
            },
            "content/0",
        ),
        (
            {
                "type": "doc",
                "version": 1,
                "content": [
                    {
                        "type": "paragraph",
                        "content": [{"type": "text", "text": "x", "marks": [{"type": "blink"}]}],
                    }
                ],
            },
            "content/0",
        ),
    ],
    ids=["markdown-string", "heading-without-level", "empty-text", "unknown-mark"],
)
def test_invalid_adf_is_refused_with_400(site: Any, body: Any, why: str) -> None:
    sandbox, http, key = site
    before = len(sandbox.state.issue(key).comments)
    answer = _comment(http, 3, key, body)
    assert answer.status_code == 400
    assert why in answer.json()["errorMessages"][0]
    assert len(sandbox.state.issue(key).comments) == before


def test_invalid_adf_description_is_refused_like_jira(site: Any) -> None:
    _sandbox, http, key = site
    answer = http.put(f"/rest/api/3/issue/{key}", json={"fields": {"description": "**bold**"}})
    assert answer.status_code == 400
    assert answer.json()["errors"]["description"].startswith(
        "Operation value must be an Atlassian Document"
    )
    good = http.put(f"/rest/api/3/issue/{key}", json={"fields": {"description": HEADING_AND_CODE}})
    assert good.status_code == 204


def test_markdown_through_v2_is_the_literal_text_users_see(site: Any) -> None:
    _sandbox, http, key = site
    markdown = "<!-- backlog-bot:report -->\n### ❌ US-001\n\n- **warning** `dor.estimated`"
    created = _comment(http, 2, key, markdown)
    assert created.status_code == 201
    comment_id = created.json()["id"]
    v2 = http.get(f"/rest/api/2/issue/{key}/comment/{comment_id}").json()
    assert v2["body"] == markdown  # kept as wiki text: nothing interprets the Markdown
    v3 = http.get(f"/rest/api/3/issue/{key}/comment/{comment_id}").json()
    texts = [node["content"][0]["text"] for node in v3["body"]["content"]]
    assert texts[0].startswith("<!-- backlog-bot:report -->\n### ❌")  # shown, not hidden


def test_comment_properties_are_not_in_the_text(site: Any) -> None:
    _sandbox, http, key = site
    created = _comment(
        http, 2, key, "h3. Report", properties=[{"key": "backlog-bot.report", "value": {"n": 1}}]
    )
    comment_id = created.json()["id"]
    assert "backlog-bot" not in created.json()["body"]
    prop = f"/rest/api/2/comment/{comment_id}/properties/backlog-bot.report"
    assert http.get(prop).json() == {"key": "backlog-bot.report", "value": {"n": 1}}
    assert http.put(prop, json={"n": 2}).status_code == 200
    keys = http.get(f"/rest/api/2/comment/{comment_id}/properties").json()["keys"]
    assert [k["key"] for k in keys] == ["backlog-bot.report"]
    listed = http.post(
        "/rest/api/2/comment/list", params={"expand": "properties"}, json={"ids": [comment_id]}
    ).json()["values"]
    assert listed[0]["properties"] == [{"key": "backlog-bot.report", "value": {"n": 2}}]
    plain = http.get(f"/rest/api/2/issue/{key}/comment").json()["comments"]
    assert all("properties" not in c for c in plain)
    assert http.delete(prop).status_code == 204
    assert http.get(prop).status_code == 404
