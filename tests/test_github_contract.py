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
from sync.github.port import CommitIdentity
from tests.github_support import github_target, migrated_engine

ROOT = Path(__file__).resolve().parent.parent
OPENAPI = oracles.ensure("openapi") / "generated" / "api.github.com.json"
REFERENCE = ROOT / "examples" / "bss-modernization.md"
SERVER = "https://api.github.com"


@pytest.fixture(scope="module")
def official() -> dict[str, Any]:
    return dict(json.loads(OPENAPI.read_text(encoding="utf-8")))


def _templates(spec: dict[str, Any]) -> list[tuple[re.Pattern[str], str]]:
    def pattern(template: str) -> str:
        # a trailing {ref} or {path} spans segments (heads/backlog-bot/sync, docs/backlog.md)
        tail = re.sub(r"\{(ref|path)\}$", "(.+)", template)
        return "^" + re.sub(r"\{[^}]+\}", "[^/]+", tail) + "$"

    compiled = [(re.compile(pattern(template)), template) for template in spec["paths"]]
    # literal segments win over parameters (/issues/comments/{id} before /issues/{n}/...),
    # and one-segment parameters over a spanning one (/commits/{ref}/check-runs first)
    return sorted(
        compiled,
        key=lambda pair: (pair[1].count("{"), bool(re.search(r"\{(ref|path)\}$", pair[1]))),
    )


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


def _gitops_exchanges() -> tuple[list[dict[str, Any]], list[tuple[str, str, Any, httpx.Response]]]:
    """A GitOps round through the adapter (PyGithub): read main, commit on the bot's branch,
    open the pull request, move the branch, edit the pull request, merge it; and the same
    endpoints asked directly for their answers."""
    from sync.github.adapter import GitHubRestAdapter

    with GitHubSandbox() as sandbox:
        sandbox.push_files({"docs/backlog.md": "# Backlog\n"})
        adapter = GitHubRestAdapter(api_url=sandbox.url, token=sandbox.token, repository="acme/bss")
        try:
            main = adapter.branch_head(adapter.default_branch())
            assert main is not None and adapter.branch_head("backlog-bot/sync") is None
            assert adapter.contents_text("docs/backlog.md", main) == "# Backlog\n"
            bot = CommitIdentity("backlog-bot", "bot@example.invalid")
            first = adapter.commit_file("backlog-bot/sync", "docs/backlog.md",
                                        "# Backlog\n\nv1\n", parent=main, message="one",
                                        identity=bot)  # fmt: skip
            pull = adapter.create_pull("backlog-bot/sync", "main", title="Sync", body="one")
            head = adapter.commit_file("backlog-bot/sync", "docs/backlog.md",
                                       "# Backlog\n\nv2\n", parent=main, message="two",
                                       identity=bot, replace=first)  # fmt: skip
            found = adapter.open_pull("backlog-bot/sync", "main")
            assert found is not None and (found.number, found.head_sha) == (pull.number, head)
            comparison = adapter.compare(main, "backlog-bot/sync")
            assert comparison.merge_base == main and comparison.behind_by == 0
            assert [(c.sha, c.message, c.committer) for c in comparison.ahead] == [
                (head, "two", bot)
            ]
            adapter.edit_pull(pull.number, title="Sync", body="two")
            adapter.comment_pull(pull.number, "held")
            assert adapter.pull_comments(pull.number) == ["held"]
        finally:
            adapter.close()
        requests = sandbox.requests()
        exchanges = []
        with httpx.Client(
            base_url=sandbox.url, headers={"Authorization": f"token {sandbox.token}"}
        ) as client:
            repo = "/repos/acme/bss"
            for method, path, body in [
                ("get", f"{repo}/git/ref/heads/main", None),
                ("get", f"{repo}/git/commits/{main}", None),
                (
                    "post",
                    f"{repo}/git/blobs",
                    {"content": "# Backlog\n\nv3\n", "encoding": "utf-8"},
                ),
                ("get", f"{repo}/pulls?state=open&head=acme:backlog-bot/sync&base=main", None),
                ("patch", f"{repo}/pulls/{pull.number}", {"body": "three"}),
                ("get", f"{repo}/compare/{main}...backlog-bot/sync", None),
                ("get", f"{repo}/issues/{pull.number}/comments", None),
                ("put", f"{repo}/pulls/{pull.number}/merge", {"merge_method": "merge"}),
            ]:
                exchanges.append((method, path, body, client.request(method, path, json=body)))
            [compared] = [a.json() for _, p, _, a in exchanges if "/compare/" in p]
            assert (compared["status"], compared["ahead_by"]) == ("ahead", 1)
            blob = exchanges[2][3].json()["sha"]
            main = sandbox.flow.git.refs["heads/main"]
            tree_sha = sandbox.flow.git.commits[main]["tree"]
            tree_body = {
                "base_tree": tree_sha,
                "tree": [
                    {"path": "docs/backlog.md", "mode": "100644", "type": "blob", "sha": blob}
                ],
            }
            tree = client.post(f"{repo}/git/trees", json=tree_body)
            exchanges.append(("post", f"{repo}/git/trees", tree_body, tree))
            commit_body = {"message": "three", "tree": tree.json()["sha"], "parents": [main]}
            commit = client.post(f"{repo}/git/commits", json=commit_body)
            exchanges.append(("post", f"{repo}/git/commits", commit_body, commit))
            ref_body = {"ref": "refs/heads/next", "sha": commit.json()["sha"]}
            exchanges.append(("post", f"{repo}/git/refs", ref_body,
                              client.post(f"{repo}/git/refs", json=ref_body)))  # fmt: skip
            move = {"sha": commit.json()["sha"], "force": True}
            moved = client.patch(f"{repo}/git/refs/heads/backlog-bot/sync", json=move)
            exchanges.append(("patch", f"{repo}/git/refs/heads/backlog-bot/sync", move, moved))
            pull_body = {"title": "Next", "head": "next", "base": "main", "body": "x"}
            exchanges.append(("post", f"{repo}/pulls", pull_body,
                              client.post(f"{repo}/pulls", json=pull_body)))  # fmt: skip
    return requests, exchanges


def one_segment(templates: list[tuple[re.Pattern[str], str]], path: str) -> str:
    """``path`` with the slashes of a trailing ``{ref}``/``{path}`` escaped: GitHub takes
    ``heads/backlog-bot/sync`` as one parameter; openapi-core matches one segment."""
    template = template_for(templates, path)
    if template is None or not re.search(r"\{(ref|path|head)\}$", template):
        return path
    fixed = template.count("/") - 1  # segments before the trailing parameter
    head = path.split("/")[: fixed + 1]
    return "/".join(head) + "/" + "/".join(path.split("/")[fixed + 1 :]).replace("/", "%2F")


def test_gitops_requests_and_answers_validate_against_the_official_description(official) -> None:
    requests, exchanges = _gitops_exchanges()
    templates = _templates(official)
    used = {
        (r["method"], template_for(templates, r["path"]))
        for r in requests
        if r["path"] != "/graphql"
    }
    for expected in [
        ("GET", "/repos/{owner}/{repo}/git/ref/{ref}"),
        ("GET", "/repos/{owner}/{repo}/git/commits/{commit_sha}"),
        ("POST", "/repos/{owner}/{repo}/git/blobs"),
        ("POST", "/repos/{owner}/{repo}/git/trees"),
        ("POST", "/repos/{owner}/{repo}/git/commits"),
        ("POST", "/repos/{owner}/{repo}/git/refs"),
        ("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}"),
        ("GET", "/repos/{owner}/{repo}/pulls"),
        ("POST", "/repos/{owner}/{repo}/pulls"),
        ("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}"),
        ("GET", "/repos/{owner}/{repo}/contents/{path}"),
        ("GET", "/repos/{owner}/{repo}/compare/{base}...{head}"),
        ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
        ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ]:
        assert expected in used, expected
    keep = {t for _, t in used if t} | {"/repos/{owner}/{repo}/pulls/{pull_number}/merge"}
    api = OpenAPI.from_dict(pruned(official, keep))
    for request in requests:  # what the adapter sent
        data = json.dumps(request["body"]).encode() if request["body"] is not None else None
        path = one_segment(templates, request["path"])
        mock = MockRequest(
            SERVER, request["method"].lower(), path, args=request["query"], data=data
        )
        api.validate_request(mock)
    for method, path, body, answer in exchanges:  # what the sandbox answered
        assert answer.status_code < 300, (method, path, answer.text)
        path, _, query = path.partition("?")
        path = one_segment(templates, path)
        args = dict(part.split("=", 1) for part in query.split("&")) if query else {}
        data = json.dumps(body).encode() if body is not None else None
        request = MockRequest(SERVER, method, path, args=args, data=data)
        api.validate_request(request)
        response = MockResponse(
            answer.content, status_code=answer.status_code, headers=dict(answer.headers)
        )
        api.validate_response(request, response)
