"""Contract: a sample of the requests backlog-bot sent and the sandbox's answers, validated
against Atlassian's own OpenAPI descriptions (platform v3 and Jira Software).

The client writes through REST v2 (plain-text descriptions); v2 and v3 share paths and
bodies apart from rich text, and the v3 description keeps issue ``fields`` free-form, so v2
traffic is checked against the v3 operation of the same path.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

import pytest
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from sandbox.jira import LoggedRequest
from tests.jira_support import (  # noqa: F401 (_dispose_engines is a fixture)
    SOURCE,
    _dispose_engines,
    jira_site,
    make_sync,
    reference_backlog,
)
from tests.oracle_files import load_oracle_json

PLATFORM_SERVER = "https://your-domain.atlassian.net"
SOFTWARE_SERVER = "https://your-domain.atlassian.com"


def _template(spec_paths: list[str], path: str) -> str | None:
    for template in spec_paths:
        pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return template
    return None


def _pruned(spec: dict[str, Any], keep: set[str]) -> dict[str, Any]:
    return {**spec, "paths": {path: spec["paths"][path] for path in keep}}


def _spec(name: str) -> dict[str, Any]:
    return load_oracle_json(f"jira/{name}.gz")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> list[LoggedRequest]:
    """Everything a full apply, a re-apply, a pull and a prune sent to the sandbox."""
    url = f"sqlite:///{tmp_path_factory.mktemp('contract') / 'state.db'}"
    with jira_site() as site:
        engine = make_sync(site, url)
        backlog = reference_backlog()
        engine.apply(backlog, SOURCE)
        engine.pull()
        smaller = backlog.replace(sprints=backlog.sprints)
        epics = list(smaller.epics)
        stories = list(epics[0].stories[1:])  # drop US-001 (prune closes it)
        stories[0] = stories[0].replace(points=5)  # and update US-002
        epics[0] = epics[0].replace(stories=tuple(stories))
        engine.apply(smaller.replace(epics=tuple(epics)), SOURCE, prune=True)
        engine.store.engine.dispose()
        return site.requests


def _sample(
    traffic: list[LoggedRequest], paths: list[str], prefix: str
) -> dict[tuple[str, str], LoggedRequest]:
    sample: dict[tuple[str, str], LoggedRequest] = {}
    for entry in traffic:
        if not entry.path.startswith(prefix):
            continue
        path = re.sub(r"^/rest/api/2/", "/rest/api/3/", entry.path)
        template = _template(paths, path)
        assert template is not None, (
            f"{entry.method} {entry.path} is not in Atlassian's description"
        )
        sample.setdefault((entry.method.lower(), template), entry)
    return sample


def _check(
    api: OpenAPI, server: str, entry: LoggedRequest, path: str, operation: dict[str, Any]
) -> None:
    request = MockRequest(
        server,
        entry.method,
        path,
        args=dict(parse_qsl(entry.query)),
        headers={"Authorization": "Basic Ym90OnRva2Vu"},
        data=entry.request_body or None,
    )
    api.validate_request(request)
    if not entry.response_body and entry.status in (201, 204):
        # Jira answers these with no body; the description's schema for them is {} (anything).
        declared = operation["responses"][str(entry.status)].get("content", {})
        assert all(media.get("schema", {}) == {} for media in declared.values())
        return
    content_type = entry.response_type.split(";")[0] or "application/json"
    response = MockResponse(
        entry.response_body, status_code=entry.status, content_type=content_type
    )
    api.validate_response(request, response)


def test_platform_traffic_matches_the_v3_description(traffic: list[LoggedRequest]) -> None:
    spec = _spec("swagger-v3.v3.json")
    paths = sorted(spec["paths"], key=lambda p: p.count("{"))
    sample = _sample(traffic, paths, "/rest/api/")
    operations = {f"{method.upper()} {template}" for method, template in sample}
    assert {
        "GET /rest/api/3/search/jql",
        "POST /rest/api/3/issue/bulk",
        "PUT /rest/api/3/issue/{issueIdOrKey}",
        "POST /rest/api/3/issueLink",
        "GET /rest/api/3/project/{projectIdOrKey}",
        "GET /rest/api/3/field",
        "POST /rest/api/3/issue/{issueIdOrKey}/transitions",
    } <= operations
    api = OpenAPI.from_dict(
        _pruned(spec, {template for _, template in sample}), config=Config(spec_validator_cls=None)
    )
    for (method, template), entry in sorted(sample.items()):
        path = re.sub(r"^/rest/api/2/", "/rest/api/3/", entry.path)
        _check(api, PLATFORM_SERVER, entry, path, spec["paths"][template][method])


@pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")
def test_agile_traffic_matches_the_software_description(traffic: list[LoggedRequest]) -> None:
    spec = _spec("software-swagger.v3.json")
    paths = sorted(spec["paths"], key=lambda p: p.count("{"))
    sample = _sample(traffic, paths, "/rest/agile/")
    assert {
        ("get", "/rest/agile/1.0/board"),
        ("post", "/rest/agile/1.0/sprint"),
        ("post", "/rest/agile/1.0/sprint/{sprintId}/issue"),
    } <= set(sample)
    api = OpenAPI.from_dict(_pruned(spec, {template for _, template in sample}))
    for (method, template), entry in sorted(sample.items()):
        _check(api, SOFTWARE_SERVER, entry, entry.path, spec["paths"][template][method])


def test_bulk_create_partial_failure_matches_created_issues_schema(sqlite_url: str) -> None:
    from sandbox.jira import JiraSandbox, ProjectSpec

    spec = _spec("swagger-v3.v3.json")
    api = OpenAPI.from_dict(
        _pruned(spec, {"/rest/api/3/issue/bulk"}), config=Config(spec_validator_cls=None)
    )
    with JiraSandbox([ProjectSpec("BSS", required_fields={"Subtask": ("components",)})]) as site:
        engine = make_sync(site, sqlite_url)
        engine.apply(reference_backlog(), SOURCE)
        bulk = [r for r in site.requests if r.path.endswith("/issue/bulk")]
        assert {r.status for r in bulk} == {201, 400}  # stories created; sub-tasks all refused
        for entry in bulk:
            operation = spec["paths"]["/rest/api/3/issue/bulk"]["post"]
            _check(api, PLATFORM_SERVER, entry, "/rest/api/3/issue/bulk", operation)


def test_changelog_answers_match_the_v3_description() -> None:
    """A teammate's edit, read back as ``GET /issue/{key}/changelog`` and in a search with
    ``expand=changelog``: both shaped as Atlassian describes them."""
    import httpx

    from sandbox.jira import JiraSandbox

    spec = _spec("swagger-v3.v3.json")
    template = "/rest/api/3/issue/{issueIdOrKey}/changelog"
    api = OpenAPI.from_dict(
        _pruned(spec, {template, "/rest/api/3/search/jql"}), config=Config(spec_validator_cls=None)
    )
    with JiraSandbox() as site:
        bot = httpx.Client(base_url=site.url, auth=(site.email, site.token))
        alice = httpx.Client(
            base_url=site.url, auth=("alice@example.com", site.user_token("alice@example.com"))
        )
        project = bot.get("/rest/api/2/project/BSS").json()
        story = next(t for t in project["issueTypes"] if t["name"] == "Story")
        fields = {"project": {"key": "BSS"}, "summary": "One", "issuetype": {"id": story["id"]}}
        key = bot.post("/rest/api/2/issue", json={"fields": fields}).json()["key"]
        alice.put(f"/rest/api/2/issue/{key}", json={"fields": {"summary": "Two"}})
        site.clear_requests()
        page = bot.get(f"/rest/api/3/issue/{key}/changelog").json()
        found = bot.get(
            "/rest/api/3/search/jql",
            params={"jql": f"key = {key}", "fields": "summary", "expand": "changelog"},
        ).json()
        bot.close()
        alice.close()
        assert page["values"][0]["author"]["displayName"] == "Alice Devops"
        assert found["issues"][0]["changelog"]["histories"] == page["values"]
        for entry in site.requests:
            path = entry.path
            matched = template if path.endswith("/changelog") else "/rest/api/3/search/jql"
            _check(api, PLATFORM_SERVER, entry, path, spec["paths"][matched]["get"])


@pytest.mark.parametrize("deployment", ["cloud", "datacenter"])
def test_user_search_matches_the_v3_description(sqlite_url: str, deployment: str) -> None:
    """How apply finds the account of a story's ``**Assignee:**``: ``GET /user/search`` by
    display name, answered as Atlassian describes it (Cloud); on Data Center the user is
    referred to by name."""
    from sandbox.jira import JiraSandbox

    spec = _spec("swagger-v3.v3.json")
    template = "/rest/api/3/user/search"
    api = OpenAPI.from_dict(_pruned(spec, {template}), config=Config(spec_validator_cls=None))
    with JiraSandbox(deployment=deployment) as site:
        adapter = make_sync(site, sqlite_url).port
        site.clear_requests()
        found = adapter.find_user("Bob Backend")
        assert adapter.find_user("Nobody Here") is None
        searches = [r for r in site.requests if r.path.endswith("/user/search")]
        assert len(searches) == 2
        if site.deployment == "datacenter":
            assert found == {"name": "bob"}
            return
        assert found == {"accountId": "712020:bob"}
        for entry in searches:
            path = re.sub(r"^/rest/api/2/", "/rest/api/3/", entry.path)
            _check(api, PLATFORM_SERVER, entry, path, spec["paths"][template]["get"])
