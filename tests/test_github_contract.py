"""Contract tests against GitHub's official API descriptions.

- every REST method + path the adapter called during a full apply, a REST pull and a DoD
  read exists in ``@octokit/openapi`` (api.github.com), and every request body and query
  validates against it (openapi-core);
- every GraphQL document the Projects client sent validates against
  ``@octokit/graphql-schema``, variables included (graphql-core);
- the sandbox's answers for a sample of endpoints validate against the same description.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import parse, validate
from graphql.execution.values import get_variable_values
from graphql.language import OperationDefinitionNode
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from backlog.parse import load_backlog, parse_text
from sandbox import oracles
from sandbox.github import GitHubSandbox
from sandbox.github.graphql_api import load_schema
from sync.github.mapping import GitHubOptions
from tests.github_support import github_target, migrated_engine

ROOT = Path(__file__).resolve().parent.parent
OPENAPI = oracles.ensure("openapi") / "generated" / "api.github.com.json"
REFERENCE = ROOT / "examples" / "bss-modernization.md"
SERVER = "https://api.github.com"


@pytest.fixture(scope="module")
def official() -> dict[str, Any]:
    return dict(json.loads(OPENAPI.read_text(encoding="utf-8")))


def _templates(spec: dict[str, Any]) -> list[tuple[re.Pattern[str], str]]:
    compiled = [
        (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"), template)
        for template in spec["paths"]
    ]
    # literal segments win over parameters (/issues/comments/{id} before /issues/{n}/...)
    return sorted(compiled, key=lambda pair: pair[1].count("{"))


def template_for(templates: list[tuple[re.Pattern[str], str]], path: str) -> str | None:
    return next((template for pattern, template in templates if pattern.match(path)), None)


def pruned(spec: dict[str, Any], keep: set[str]) -> dict[str, Any]:
    """The description cut down to ``keep`` paths and the components they reference."""
    components: dict[str, dict[str, Any]] = {}
    pending = [spec["paths"][template] for template in keep]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/"):
                _, _, section, name = ref.split("/", 3)
                if name not in components.setdefault(section, {}):
                    components[section][name] = spec["components"][section][name]
                    pending.append(components[section][name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return {
        "openapi": spec["openapi"],
        "info": spec["info"],
        "servers": [{"url": SERVER}],
        "paths": {template: spec["paths"][template] for template in keep},
        "components": components,
    }


@pytest.fixture(scope="module")
def recorded() -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Requests of a full apply (both task modes), a REST pull and a DoD read."""
    backlog = load_backlog(REFERENCE)
    with GitHubSandbox() as sandbox:
        engine = migrated_engine(f"sqlite:///{sandbox_tmp(sandbox)}")
        with github_target(sandbox, engine) as target:
            target.sync.apply(backlog)
            text = REFERENCE.read_text(encoding="utf-8").replace(
                "**Story Points:** 13", "**Story Points:** 8", 1
            )
            target.sync.apply(parse_text(text, source="changed.md"))
            sent = list(target.projects.sent)
            target.sync.projects = None  # the pull direction over REST, with ETags
            target.sync.pull()
            target.sync.pull()
            number = sandbox.issues_by_marker()["US-001"][0]
            target.rest.create_comment(number, "Definition of Done: checked")
            comments = target.rest.list_comments(number)
            target.rest.edit_comment(comments[0]["id"], "Definition of Done: passed")
            pull = sandbox.open_pull_request("Deploy", closes=number)
            sandbox.review(pull["number"])
            sandbox.check_run(pull["number"])
            target.rest.pull_request_checks(pull["number"])
            blockers = target.rest.blocked_by_ids(sandbox.issues_by_marker()["US-008"][0])
            target.rest.remove_blocked_by(sandbox.issues_by_marker()["US-008"][0], blockers.pop())
        options = GitHubOptions(tasks_as="sub-issues", subtasks_as="sub-issues")
        with GitHubSandbox() as other:
            engine2 = migrated_engine(f"sqlite:///{sandbox_tmp(other)}")
            with github_target(other, engine2, options=options) as target:
                target.sync.apply(backlog)
                sent.extend(target.projects.sent)
            requests = sandbox.requests() + other.requests()
            engine2.dispose()
        engine.dispose()
    yield requests, sent


_TMP: list[Path] = []


def sandbox_tmp(sandbox: GitHubSandbox) -> Path:
    import tempfile

    path = Path(tempfile.mkdtemp()) / f"contract-{sandbox.repo.repo['id']}.db"
    _TMP.append(path)
    return path


def test_every_rest_call_exists_in_the_official_description(recorded, official) -> None:
    requests, _ = recorded
    templates = _templates(official)
    used: set[tuple[str, str]] = set()
    for request in requests:
        if request["path"] == "/graphql":
            continue
        template = template_for(templates, request["path"])
        assert template is not None, f"{request['method']} {request['path']} is not in the API"
        method = request["method"].lower()
        assert method in official["paths"][template], f"{method} {template} is not in the API"
        used.add((request["method"], template))
    # the calls the sync relies on were all made
    for expected in [
        ("POST", "/repos/{owner}/{repo}/issues"),
        ("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}"),
        ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/sub_issues"),
        ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by"),
        ("POST", "/repos/{owner}/{repo}/milestones"),
        ("POST", "/repos/{owner}/{repo}/labels"),
        ("GET", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ]:
        assert expected in used


def test_rest_request_bodies_and_queries_validate(recorded, official) -> None:
    requests, _ = recorded
    templates = _templates(official)
    keep = {template_for(templates, r["path"]) for r in requests if r["path"] != "/graphql"}
    api = OpenAPI.from_dict(pruned(official, {t for t in keep if t}))
    checked = 0
    for request in requests:
        if request["path"] == "/graphql":
            continue
        data = json.dumps(request["body"]).encode() if request["body"] is not None else None
        mock = MockRequest(
            SERVER, request["method"].lower(), request["path"], args=request["query"], data=data
        )
        api.validate_request(mock)
        checked += 1
    assert checked > 100


def test_every_graphql_document_validates_against_the_official_schema(recorded) -> None:
    _, sent = recorded
    schema = load_schema()
    names = set()
    for payload in sent:
        document = parse(payload["query"])
        assert validate(schema, document) == [], payload["query"]
        operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        coerced = get_variable_values(
            schema, operation.variable_definitions or [], payload["variables"]
        )
        assert not isinstance(coerced, list), coerced
        names.add(operation.name.value if operation.name else "")
    assert {
        "projectContext",
        "createProjectV2",
        "createProjectV2FieldBatch",
        "addProjectV2ItemByIdBatch",
        "updateProjectV2ItemFieldValueBatch",
        "projectFields",
    } <= names


SAMPLES = [
    ("post", "/repos/acme/bss/issues", {"title": "Sample", "body": "x", "labels": ["epic"]}, 201),
    ("get", "/repos/acme/bss/issues/1", None, 200),
    ("get", "/repos/acme/bss/issues", None, 200),
    ("patch", "/repos/acme/bss/issues/1", {"state": "closed"}, 200),
    ("post", "/repos/acme/bss/issues", {"title": "Child"}, 201),
    ("get", "/repos/acme/bss/issues/2/dependencies/blocked_by", None, 200),
    ("get", "/repos/acme/bss/issues/1/sub_issues", None, 200),
    (
        "post",
        "/repos/acme/bss/milestones",
        {"title": "Sprint 1", "due_on": "2026-01-16T00:00:00Z"},
        201,
    ),
    ("get", "/repos/acme/bss/milestones", None, 200),
    ("get", "/repos/acme/bss/labels", None, 200),
    ("post", "/repos/acme/bss/issues/1/comments", {"body": "hello"}, 201),
    ("get", "/repos/acme/bss/issues/1/comments", None, 200),
    ("get", "/repos/acme/bss", None, 200),
    ("get", "/rate_limit", None, 200),
    # a rename and a milestone, then the issue events that record them (who changed what)
    ("patch", "/repos/acme/bss/issues/1", {"title": "Renamed", "milestone": 1}, 200),
    ("get", "/repos/acme/bss/issues/events", None, 200),
    ("get", "/repos/acme/bss/issues/1/events", None, 200),
]


def test_sandbox_responses_validate_against_the_official_description(official) -> None:
    templates = _templates(official)
    keep = {template_for(templates, path) for _, path, _, _ in SAMPLES}
    keep |= {
        "/repos/{owner}/{repo}/issues/{issue_number}/sub_issues",
        "/repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by",
        "/repos/{owner}/{repo}/pulls/{pull_number}",
        "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
        "/repos/{owner}/{repo}/commits/{ref}/check-runs",
    }
    api = OpenAPI.from_dict(pruned(official, {t for t in keep if t}))
    with (
        GitHubSandbox() as sandbox,
        httpx.Client(
            base_url=sandbox.url, headers={"Authorization": f"token {sandbox.token}"}
        ) as client,
    ):
        sandbox.repo.create_label("epic", "3e4b9e", "epics")
        exchanges = []
        for method, path, body, status in SAMPLES:
            answer = client.request(method, path, json=body)
            assert answer.status_code == status, (path, answer.text)
            exchanges.append((method, path, body, answer))
        child = sandbox.repo.issues[2]["id"]
        for method, path, body in [
            ("post", "/repos/acme/bss/issues/1/sub_issues", {"sub_issue_id": child}),
            (
                "post",
                "/repos/acme/bss/issues/2/dependencies/blocked_by",
                {"issue_id": sandbox.repo.issues[1]["id"]},
            ),
        ]:
            exchanges.append((method, path, body, client.request(method, path, json=body)))
        pull = sandbox.open_pull_request("Work", closes=2)
        sandbox.review(pull["number"])
        sandbox.check_run(pull["number"])
        for path in (
            f"/repos/acme/bss/pulls/{pull['number']}",
            f"/repos/acme/bss/pulls/{pull['number']}/reviews",
            f"/repos/acme/bss/commits/{pull['head']['sha']}/check-runs",
        ):
            exchanges.append(("get", path, None, client.get(path)))
    events = next(a for _, p, _, a in exchanges if p.endswith("/issues/events")).json()
    assert [(e["event"], e["issue"]["number"]) for e in events] == [
        ("milestoned", 1),
        ("renamed", 1),
    ]
    assert events[1]["rename"] == {"from": "Sample", "to": "Renamed"}
    for method, path, body, answer in exchanges:
        data = json.dumps(body).encode() if body is not None else None
        request = MockRequest(SERVER, method, path, data=data)
        response = MockResponse(
            answer.content, status_code=answer.status_code, headers=dict(answer.headers)
        )
        api.validate_response(request, response)
