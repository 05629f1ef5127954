"""The sandbox GitHub over real HTTP: auth, ETags, rate limits, faults, GraphQL validation,
signed webhook deliveries and the user actions that emit them."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import oracles
from sandbox.github import GitHubSandbox
from sandbox.github.limits import SECONDARY_MESSAGE
from sandbox.runner import ServedApp

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = oracles.ensure("webhooks-examples") / "api.github.com" / "index.json"


@pytest.fixture
def sandbox() -> Iterator[GitHubSandbox]:
    with GitHubSandbox() as running:
        yield running


@pytest.fixture
def client(sandbox: GitHubSandbox) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"token {sandbox.token}"}
    with httpx.Client(base_url=sandbox.url, headers=headers) as http:
        yield http


def test_bad_credentials_are_refused(sandbox: GitHubSandbox) -> None:
    answer = httpx.get(f"{sandbox.url}/repos/acme/bss", headers={"Authorization": "token nope"})
    assert answer.status_code == 401 and answer.json()["message"] == "Bad credentials"


def test_conditional_get_answers_304_without_spending_the_budget(client: httpx.Client) -> None:
    created = client.post("/repos/acme/bss/issues", json={"title": "one"}).json()
    first = client.get(f"/repos/acme/bss/issues/{created['number']}")
    used = int(first.headers["x-ratelimit-used"])
    again = client.get(
        f"/repos/acme/bss/issues/{created['number']}",
        headers={"If-None-Match": first.headers["etag"]},
    )
    assert again.status_code == 304 and again.content == b""
    assert int(again.headers["x-ratelimit-used"]) == used
    client.patch(f"/repos/acme/bss/issues/{created['number']}", json={"title": "two"})
    changed = client.get(
        f"/repos/acme/bss/issues/{created['number']}",
        headers={"If-None-Match": first.headers["etag"]},
    )
    assert changed.status_code == 200 and changed.json()["title"] == "two"


def test_primary_limit_headers_and_exhaustion(sandbox: GitHubSandbox, client: httpx.Client) -> None:
    sandbox.limits.configure("core", limit=3, window=60)
    answers = [client.get("/repos/acme/bss") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 403]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert answers[-1].headers["x-ratelimit-resource"] == "core"
    assert answers[-1].json()["message"].startswith("API rate limit exceeded")
    overview = client.get("/rate_limit").json()
    assert overview["resources"]["core"]["remaining"] == 0


def test_secondary_limit_on_demand_and_by_creation_budget(
    sandbox: GitHubSandbox, client: httpx.Client
) -> None:
    sandbox.limits.add_fault(kind="secondary", method="POST", retry_after=30)
    refused = client.post("/repos/acme/bss/issues", json={"title": "x"})
    assert refused.status_code == 403 and refused.headers["retry-after"] == "30"
    prefix = SECONDARY_MESSAGE.split("{id}")[0]
    assert refused.json()["message"].startswith(prefix)
    assert sandbox.repo.issues == {}
    sandbox.limits.creates_per_minute = 2
    codes = [
        client.post("/repos/acme/bss/labels", json={"name": f"l{i}"}).status_code for i in range(3)
    ]
    assert codes == [201, 201, 403]


def test_faults_5xx_and_create_then_fail(sandbox: GitHubSandbox, client: httpx.Client) -> None:
    sandbox.limits.add_fault(kind="5xx", method="POST", status=503)
    assert client.post("/repos/acme/bss/issues", json={"title": "a"}).status_code == 503
    assert sandbox.repo.issues == {}
    sandbox.limits.add_fault(kind="create_then_fail", method="POST")
    assert client.post("/repos/acme/bss/issues", json={"title": "b"}).status_code == 502
    assert [i["title"] for i in sandbox.repo.issues.values()] == ["b"]
    logged = [(r["method"], r["status"], r["fault"]) for r in sandbox.requests()]
    assert logged == [("POST", 503, "5xx"), ("POST", 502, "create_then_fail")]


def test_dropped_connection_after_the_write(sandbox: GitHubSandbox, client: httpx.Client) -> None:
    sandbox.limits.add_fault(kind="drop", method="POST")
    with pytest.raises(httpx.HTTPError):
        client.post("/repos/acme/bss/issues", json={"title": "c"})
    assert len(sandbox.repo.issues) == 1


def test_graphql_documents_are_validated_against_the_schema(client: httpx.Client) -> None:
    answer = client.post("/graphql", json={"query": 'query { repository(owner: "acme") { id } }'})
    errors = answer.json()["errors"]
    assert "Query.repository(name:)" in errors[0]["message"] and "data" not in answer.json()
    good = client.post(
        "/graphql", json={"query": 'query { repository(owner: "acme", name: "bss") { id } }'}
    )
    assert good.json()["data"]["repository"]["id"].startswith("R_")
    assert good.headers["x-ratelimit-resource"] == "graphql"


def test_pagination_links(client: httpx.Client) -> None:
    for n in range(5):
        client.post("/repos/acme/bss/issues", json={"title": f"t{n}"})
    page = client.get("/repos/acme/bss/issues", params={"per_page": 2, "state": "all"})
    assert len(page.json()) == 2 and 'rel="next"' in page.headers["link"]
    last = client.get("/repos/acme/bss/issues", params={"per_page": 2, "page": 3, "state": "all"})
    assert len(last.json()) == 1 and 'rel="next"' not in last.headers["link"]


class _Receiver:
    """A webhook endpoint that checks signatures the way the service does."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.received: list[tuple[dict[str, str], dict]] = []
        self.lock = threading.Lock()

    async def endpoint(self, request: Request) -> Response:
        raw = await request.body()
        expected = "sha256=" + hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers["x-hub-signature-256"]):
            return Response(status_code=401)
        with self.lock:
            self.received.append((dict(request.headers), json.loads(raw)))
        return Response(status_code=204)


def test_user_actions_emit_signed_webhooks_shaped_like_githubs(sandbox: GitHubSandbox) -> None:
    receiver = _Receiver("s3cret")
    app = Starlette(routes=[Route("/hooks", receiver.endpoint, methods=["POST"])])
    with ServedApp(app) as served:
        sandbox.webhooks.configure(f"{served.url}/hooks", "s3cret")
        issue = sandbox.repo.create_issue({"title": "story"})
        sandbox.add_assignee(issue["number"], "alice")
        sandbox.comment(issue["number"], "looks good")
        pull = sandbox.open_pull_request("Implement", closes=issue["number"])
        sandbox.review(pull["number"])
        sandbox.check_run(pull["number"])
        sandbox.merge(pull["number"])
        sandbox.webhooks.drain()
    assert all(d.status == 204 for d in sandbox.webhooks.deliveries)
    events = [(h["x-github-event"], body.get("action")) for h, body in receiver.received]
    assert events[:3] == [
        ("issues", "opened"),
        ("issues", "assigned"),
        ("issue_comment", "created"),
    ]
    for expected in [
        ("push", None),
        ("pull_request", "opened"),
        ("pull_request_review", "submitted"),
        ("check_run", "completed"),
        ("check_suite", "completed"),
        ("pull_request", "closed"),
        ("issues", "closed"),
    ]:
        assert expected in events
    deliveries = {h["x-github-delivery"] for h, _ in receiver.received}
    assert len(deliveries) == len(receiver.received)
    examples = json.loads(EXAMPLES.read_text())
    by_event = {entry["name"]: entry["examples"] for entry in examples}
    for headers, body in receiver.received:
        event = headers["x-github-event"]
        same_action = [e for e in by_event[event] if e.get("action") == body.get("action")]
        candidates = same_action or by_event[event]
        common = set.intersection(*(set(e) for e in candidates))  # keys every example has
        required = common - {"installation", "organization", "enterprise"}
        example = candidates[0]
        assert required <= set(body), (event, body.get("action"), required - set(body))
        if "issue" in body:
            assert set(example["issue"]) - set(body["issue"]) <= {
                "performed_via_github_app", "reactions", "body_html", "type", "pinned_comment",
                "closed_by", "draft", "issue_field_values",
            }  # fmt: skip


def test_control_endpoints_over_http(sandbox: GitHubSandbox, client: httpx.Client) -> None:
    created = client.post("/repos/acme/bss/issues", json={"title": "x"}).json()
    control = httpx.Client(base_url=f"{sandbox.url}/_sandbox")
    with control:
        assert control.post("/faults", json={"kind": "5xx", "method": "GET"}).json()["ok"]
        assert client.get("/repos/acme/bss").status_code == 502
        assert control.post("/faults", json={"kind": "teapot"}).status_code == 400
        closed = control.post(
            "/actions/close_issue", json={"number": created["number"], "reason": "not_planned"}
        ).json()
        assert closed["state"] == "closed" and closed["state_reason"] == "not_planned"
        logged = control.get("/requests").json()
        assert [(r["method"], r["status"]) for r in logged] == [("POST", 201), ("GET", 502)]
        assert control.post("/actions/delete_repo", json={}).status_code == 404
        assert control.delete("/requests").json()["ok"] and control.get("/requests").json() == []


def test_moving_a_card_emits_projects_v2_item_edited(sandbox: GitHubSandbox) -> None:
    receiver = _Receiver("k")
    app = Starlette(routes=[Route("/hooks", receiver.endpoint, methods=["POST"])])
    issue = sandbox.repo.create_issue({"title": "story"})
    project = sandbox.projects.create_project(sandbox.projects.owner_node_id, sandbox.project_title)
    sandbox.projects.add_item(project["id"], sandbox.repo.issues[issue["number"]]["node_id"])
    with ServedApp(app) as served:
        sandbox.webhooks.configure(f"{served.url}/hooks", "k")
        sandbox.move_status(issue["number"], "Done")
        sandbox.webhooks.drain()
    [(headers, body)] = receiver.received
    assert headers["x-github-event"] == "projects_v2_item" and body["action"] == "edited"
    examples = json.loads(EXAMPLES.read_text())
    example = next(
        e
        for entry in examples
        if entry["name"] == "projects_v2_item"
        for e in entry["examples"]
        if e["action"] == "edited"
    )
    assert set(example["projects_v2_item"]) <= set(body["projects_v2_item"])
    assert body["changes"]["field_value"]["field_type"] == "single_select"
    item = sandbox.item_for_issue(issue["number"])
    assert sandbox.projects.value_of(item, "Status") == "Done"


def test_a_ref_update_that_is_not_a_fast_forward_needs_force() -> None:
    """``PATCH /git/refs/{ref}``: without ``force`` (or with false) GitHub refuses to move a
    branch to a commit that does not descend from its head (422), so no commit is lost."""
    with GitHubSandbox() as sandbox:
        first = sandbox.push_files({"a.md": "one\n"})
        second = sandbox.push_files({"a.md": "two\n"})
        with httpx.Client(
            base_url=sandbox.url, headers={"Authorization": f"token {sandbox.token}"}
        ) as client:
            path = "/repos/acme/bss/git/refs/heads/main"
            back = client.patch(path, json={"sha": first})
            assert back.status_code == 422 and "fast forward" in back.json()["message"]
            assert client.patch(path, json={"sha": first, "force": False}).status_code == 422
            assert sandbox.flow.git.refs["heads/main"] == second
            assert client.patch(path, json={"sha": first, "force": True}).status_code == 200
            assert sandbox.flow.git.refs["heads/main"] == first
            assert client.patch(path, json={"sha": second}).status_code == 200  # fast-forward
