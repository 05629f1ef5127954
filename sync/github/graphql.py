"""GitHub GraphQL (Projects v2) over httpx: project, fields, items and field values.

Writes are batched: several aliased mutations per request (``BATCH`` at most); reads page
through ``items`` 100 at a time and fetch issues by id with ``nodes``. Every request is
counted by operation (``github graphql:query:projectItems``,
``github graphql:mutation:addProjectV2ItemById``) and paced by the shared ``RateGovernor``.
All mutations used are idempotent on GitHub (adding an item already on the board returns
it; setting a value twice leaves it set) except field and project creation, which are
checked by a re-read before they are sent again.

Errors: HTTP 401 -> AuthenticationError, 403/429 with retry-after or a RATE_LIMITED error ->
RateLimitedError, 5xx and connection failures -> TransientError, ``NOT_FOUND`` ->
NotFoundError, other GraphQL errors -> RemoteError naming the operation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from backlog.errors import (
    NotFoundError,
    RateLimitedError,
    RemoteError,
    TransientError,
)
from sync.calls import CallCounter
from sync.github.auth import Credential, HttpxTokenAuth
from sync.github.limits import RateGovernor
from sync.github.mapping import ProjectFieldSpec, option_color
from sync.github.port import IssueState
from sync.github.refusals import credential_refused

SERVICE = "github"
BATCH = 25

FIELD_NODES = """
... on ProjectV2FieldCommon { id name dataType }
... on ProjectV2SingleSelectField { options { id name } }
... on ProjectV2IterationField { configuration { iterations { id title startDate duration } } }
"""

Q_CONTEXT = """
query projectContext($owner: String!, $name: String!, $title: String!) {
  repository(owner: $owner, name: $name) {
    id
    owner { id login
      ... on ProjectV2Owner { projectsV2(first: 20, query: $title) { nodes { id title number } } }
    }
  }
}"""

Q_FIELDS = (
    "query projectFields($id: ID!) { node(id: $id) { ... on ProjectV2 {"
    " fields(first: 50) { nodes { " + FIELD_NODES + " } } } } }"
)

FIELD_NAME = "field { ... on ProjectV2FieldCommon { name } }"
# each value with its field's name and who set it (``creator``: a value set is a new value)
VALUE_NODES = f"""
... on ProjectV2ItemFieldSingleSelectValue {{ name optionId {FIELD_NAME} creator {{ login }} }}
... on ProjectV2ItemFieldNumberValue {{ number {FIELD_NAME} creator {{ login }} }}
... on ProjectV2ItemFieldTextValue {{ text {FIELD_NAME} creator {{ login }} }}
... on ProjectV2ItemFieldIterationValue {{ title iterationId {FIELD_NAME} creator {{ login }} }}
"""

Q_ITEMS = (
    "query projectItems($id: ID!, $after: String) { node(id: $id) { ... on ProjectV2 {"
    " items(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { id"
    " content { ... on Issue { id number title body editor { login } state closedAt"
    " assignees(first: 10) { nodes { login } } labels(first: 50) { nodes { name } } } }"
    " fieldValues(first: 20) { nodes { " + VALUE_NODES + " } } } } } } }"
)

Q_ISSUE_FIELD = (
    "query issueFieldValue($owner: String!, $name: String!, $number: Int!, $field: String!) {"
    " repository(owner: $owner, name: $name) { issue(number: $number) {"
    " projectItems(first: 20) { nodes { project { title } fieldValueByName(name: $field) {"
    " ... on ProjectV2ItemFieldNumberValue { number }"
    " ... on ProjectV2ItemFieldSingleSelectValue { name optionId }"
    " ... on ProjectV2ItemFieldTextValue { text } } } } } } }"
)

Q_ITEM_FIELD = (
    "query itemFieldValue($id: ID!, $field: String!) { node(id: $id) { ... on ProjectV2Item {"
    " fieldValueByName(name: $field) {"
    " ... on ProjectV2ItemFieldNumberValue { number }"
    " ... on ProjectV2ItemFieldSingleSelectValue { name optionId }"
    " ... on ProjectV2ItemFieldTextValue { text } } } } }"
)

Q_ISSUES = (
    "query issueStates($ids: [ID!]!) { nodes(ids: $ids) {"
    " ... on Issue { id number state closedAt assignees(first: 10) { nodes { login } } } } }"
)

M_CREATE_PROJECT = (
    "mutation createProjectV2($input: CreateProjectV2Input!) {"
    " createProjectV2(input: $input) { projectV2 { id title number } } }"
)


@dataclass
class ProjectField:
    id: str
    name: str
    data_type: str
    options: dict[str, str] = field(default_factory=dict)
    iterations: dict[str, str] = field(default_factory=dict)


@dataclass
class ProjectItem:
    id: str
    content_id: str
    number: int | None
    state: str | None
    assignees: tuple[str, ...]
    values: dict[str, Any]
    closed_at: str | None = None
    title: str | None = None
    authors: dict[str, str] = field(default_factory=dict)  # field name -> who set the value
    body: str | None = None
    editor: str | None = None  # who last edited the issue's body
    labels: tuple[str, ...] = ()


def graphql_url(api_url: str) -> str:
    base = api_url.rstrip("/")
    if base.endswith("/api/v3"):
        return base[: -len("/v3")] + "/graphql"
    return base + "/graphql"


class GitHubProjectsClient:
    """One Projects v2 board of the repository owner, found by title or created."""

    def __init__(
        self,
        *,
        api_url: str,
        token: Credential,
        repository: str,
        counter: CallCounter,
        governor: RateGovernor,
        timeout: float = 30.0,
    ) -> None:
        self.calls = counter
        self.governor = governor
        self.owner, _, self.name = repository.partition("/")
        self.url = graphql_url(api_url)
        self._http = httpx.Client(
            auth=HttpxTokenAuth(token),  # a token, or an App's refreshing source
            headers={
                "Accept": "application/vnd.github+json",
                "User-Agent": "backlog-bot",
            },
            timeout=timeout,
        )
        self.sent: list[dict[str, Any]] = []  # documents sent, for contract tests

    def close(self) -> None:
        self._http.close()

    # --- transport ---------------------------------------------------------------------------

    def _post(
        self,
        label: str,
        query: str,
        variables: Mapping[str, Any],
        *,
        mutation: bool,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        payload = {"query": query, "variables": dict(variables)}
        self.sent.append(payload)

        def attempt() -> dict[str, Any]:
            self.governor.before(is_write=mutation)
            self.calls.record(SERVICE, label)
            try:
                response = self._http.post(self.url, json=payload)
            except httpx.HTTPError as exc:
                raise TransientError(f"{label}: {type(exc).__name__}", service=SERVICE) from exc
            self.governor.after(response.status_code, response.headers)
            return self._check(label, response)

        return self.governor.run(attempt, idempotent=idempotent)

    def _check(self, label: str, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        if status == 401:
            raise credential_refused(401, self.url, _said(response))
        retry_after = response.headers.get("retry-after")
        if status in (403, 429) and (
            retry_after or response.headers.get("x-ratelimit-remaining") == "0"
        ):
            wait = float(retry_after) if retry_after else None
            raise RateLimitedError(f"{label}: rate limited", service=SERVICE, retry_after=wait)
        if status == 403:
            raise credential_refused(403, self.url, _said(response))
        if status >= 500:
            raise TransientError(f"{label}: {status}", service=SERVICE, status=status)
        if status >= 400:
            raise RemoteError(
                f"{label}: {status} {response.text[:200]}", service=SERVICE, status=status
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise TransientError(f"{label}: unreadable answer", service=SERVICE) from exc
        errors = body.get("errors") or []
        if errors:
            first = errors[0]
            kind = first.get("type")
            message = f"{label}: {first.get('message')}"
            if kind == "RATE_LIMITED":
                raise RateLimitedError(message, service=SERVICE, retry_after=None)
            if kind == "NOT_FOUND":
                raise NotFoundError(message, service=SERVICE, status=404)
            raise RemoteError(message, service=SERVICE)
        return dict(body.get("data") or {})

    def query(self, name: str, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        return self._post(f"graphql:query:{name}", query, variables, mutation=False)

    def mutate_batch(
        self,
        mutation: str,
        input_type: str,
        inputs: list[dict[str, Any]],
        selection: str,
        *,
        idempotent: bool = True,
    ) -> list[dict[str, Any]]:
        """Run ``mutation`` once per input, ``BATCH`` aliased mutations per request."""
        results: list[dict[str, Any]] = []
        for start in range(0, len(inputs), BATCH):
            chunk = inputs[start : start + BATCH]
            params = ", ".join(f"$i{n}: {input_type}!" for n in range(len(chunk)))
            body = " ".join(
                f"m{n}: {mutation}(input: $i{n}) {{ {selection} }}" for n in range(len(chunk))
            )
            document = f"mutation {mutation}Batch({params}) {{ {body} }}"
            variables = {f"i{n}": value for n, value in enumerate(chunk)}
            label = f"graphql:mutation:{mutation}"
            data = self._post(label, document, variables, mutation=True, idempotent=idempotent)
            results.extend(data[f"m{n}"] for n in range(len(chunk)))
        return results

    # --- project and fields ------------------------------------------------------------------

    def find_or_create_project(self, title: str) -> str:
        """The id of the owner's project ``title``; created (linked to the repo) if absent."""
        variables = {"owner": self.owner, "name": self.name, "title": title}

        def find() -> tuple[str | None, dict[str, Any]]:
            repo = self.query("projectContext", Q_CONTEXT, variables)["repository"]
            projects = (repo["owner"].get("projectsV2") or {}).get("nodes") or []
            match = next((p["id"] for p in projects if p and p["title"] == title), None)
            return match, repo

        project_id, repo = find()
        if project_id:
            return project_id
        data_input = {"ownerId": repo["owner"]["id"], "title": title, "repositoryId": repo["id"]}
        try:
            data = self._post(
                "graphql:mutation:createProjectV2",
                M_CREATE_PROJECT,
                {"input": data_input},
                mutation=True,
                idempotent=False,
            )
            return str(data["createProjectV2"]["projectV2"]["id"])
        except TransientError:
            found, _ = find()
            if found:
                return found
            raise

    def fields(self, project_id: str) -> dict[str, ProjectField]:
        data = self.query("projectFields", Q_FIELDS, {"id": project_id})
        result: dict[str, ProjectField] = {}
        for node in (data.get("node") or {}).get("fields", {}).get("nodes", []):
            if not node:
                continue
            config = node.get("configuration") or {}
            result[node["name"]] = ProjectField(
                id=node["id"],
                name=node["name"],
                data_type=node["dataType"],
                options={o["name"]: o["id"] for o in node.get("options") or []},
                iterations={i["title"]: i["id"] for i in config.get("iterations") or []},
            )
        return result

    def ensure_fields(
        self, project_id: str, specs: Iterable[ProjectFieldSpec]
    ) -> dict[str, ProjectField]:
        """Create missing fields and add missing single-select options; return all fields."""
        specs = list(specs)
        current = self.fields(project_id)
        missing = [spec for spec in specs if spec.name not in current]
        if missing:
            inputs = [self._field_input(project_id, spec) for spec in missing]
            # not idempotent: after an unknown outcome the re-read below shows what exists
            with contextlib.suppress(TransientError):
                self.mutate_batch(
                    "createProjectV2Field",
                    "CreateProjectV2FieldInput",
                    inputs,
                    "projectV2Field { ... on ProjectV2FieldCommon { id name } }",
                    idempotent=False,
                )
            current = self.fields(project_id)
            still_missing = [spec.name for spec in specs if spec.name not in current]
            if still_missing:
                self.mutate_batch(
                    "createProjectV2Field",
                    "CreateProjectV2FieldInput",
                    [self._field_input(project_id, s) for s in specs if s.name in still_missing],
                    "projectV2Field { ... on ProjectV2FieldCommon { id name } }",
                    idempotent=False,
                )
                current = self.fields(project_id)
        updates = []
        for spec in specs:
            have = current.get(spec.name)
            if have and spec.data_type == "SINGLE_SELECT":
                absent = [name for name in spec.options if name not in have.options]
                if absent:
                    names = list(have.options) + absent
                    updates.append({"fieldId": have.id, "singleSelectOptions": _options(names)})
            titles = [title for title, _, _ in spec.iterations]
            if have and any(title not in have.iterations for title in titles):
                config = self._field_input(project_id, spec)["iterationConfiguration"]
                updates.append({"fieldId": have.id, "iterationConfiguration": config})
        if updates:
            self.mutate_batch(
                "updateProjectV2Field",
                "UpdateProjectV2FieldInput",
                updates,
                "projectV2Field { ... on ProjectV2FieldCommon { id } }",
            )
            current = self.fields(project_id)
        return current

    @staticmethod
    def _field_input(project_id: str, spec: ProjectFieldSpec) -> dict[str, Any]:
        value: dict[str, Any] = {
            "projectId": project_id,
            "name": spec.name,
            "dataType": spec.data_type,
        }
        if spec.data_type == "SINGLE_SELECT":
            value["singleSelectOptions"] = _options(spec.options)
        if spec.data_type == "ITERATION":
            first = spec.iterations[0]
            value["iterationConfiguration"] = {
                "startDate": first[1].isoformat(),
                "duration": first[2],
                "iterations": [
                    {"title": title, "startDate": start.isoformat(), "duration": days}
                    for title, start, days in spec.iterations
                ],
            }
        return value

    # --- items -------------------------------------------------------------------------------

    def add_items(self, project_id: str, content_ids: list[str]) -> dict[str, str]:
        """Content node id -> project item id (existing items are returned as they are)."""
        inputs = [{"projectId": project_id, "contentId": content} for content in content_ids]
        results = self.mutate_batch(
            "addProjectV2ItemById", "AddProjectV2ItemByIdInput", inputs, "item { id }"
        )
        return {
            content: result["item"]["id"]
            for content, result in zip(content_ids, results, strict=True)
        }

    def set_values(
        self, project_id: str, changes: list[tuple[str, str, dict[str, Any] | None]]
    ) -> None:
        """``(item id, field id, value)``; a None value clears the field."""
        sets = [
            {"projectId": project_id, "itemId": item, "fieldId": fid, "value": value}
            for item, fid, value in changes
            if value is not None
        ]
        clears = [
            {"projectId": project_id, "itemId": item, "fieldId": fid}
            for item, fid, value in changes
            if value is None
        ]
        if sets:
            self.mutate_batch(
                "updateProjectV2ItemFieldValue",
                "UpdateProjectV2ItemFieldValueInput",
                sets,
                "projectV2Item { id }",
            )
        if clears:
            self.mutate_batch(
                "clearProjectV2ItemFieldValue",
                "ClearProjectV2ItemFieldValueInput",
                clears,
                "projectV2Item { id }",
            )

    def items(self, project_id: str) -> dict[str, ProjectItem]:
        """Content node id -> item with its issue state, assignees and field values."""
        found: dict[str, ProjectItem] = {}
        after: str | None = None
        while True:
            data = self.query("projectItems", Q_ITEMS, {"id": project_id, "after": after})
            page = (data.get("node") or {}).get("items") or {}
            for node in page.get("nodes") or []:
                content = node.get("content") or {}
                if "id" not in content:
                    continue
                values, authors = {}, {}
                for value in (node.get("fieldValues") or {}).get("nodes") or []:
                    name = ((value or {}).get("field") or {}).get("name")
                    if name:
                        values[name] = _plain(value)
                        login = ((value or {}).get("creator") or {}).get("login")
                        if login:
                            authors[name] = str(login)
                found[content["id"]] = ProjectItem(
                    id=node["id"],
                    content_id=content["id"],
                    number=content.get("number"),
                    state=content.get("state"),
                    assignees=tuple(a["login"] for a in content["assignees"]["nodes"]),
                    values=values,
                    closed_at=content.get("closedAt"),
                    title=content.get("title"),
                    body=content.get("body"),
                    editor=(content.get("editor") or {}).get("login"),
                    authors=authors,
                    labels=tuple(
                        str(label["name"])
                        for label in (content.get("labels") or {}).get("nodes") or []
                    ),
                )
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return found
            after = info.get("endCursor")

    def issue_field_value(self, number: int, field_name: str, project_title: str) -> Any:
        """Issue ``number``'s field ``field_name`` (number, single-select option name or text)
        on the board titled ``project_title``; ``None``: not on that board, or no value."""
        variables = {"owner": self.owner, "name": self.name, "number": number, "field": field_name}
        data = self.query("issueFieldValue", Q_ISSUE_FIELD, variables)
        issue = (data.get("repository") or {}).get("issue") or {}
        for node in (issue.get("projectItems") or {}).get("nodes") or []:
            if ((node or {}).get("project") or {}).get("title") == project_title:
                return _plain(node.get("fieldValueByName") or {})
        return None

    def item_field_value(self, item_id: str, field_name: str) -> Any:
        """A board item's field ``field_name`` (as ``issue_field_value``), by item node id."""
        data = self.query("itemFieldValue", Q_ITEM_FIELD, {"id": item_id, "field": field_name})
        return _plain((data.get("node") or {}).get("fieldValueByName") or {})

    def issue_number_value(self, number: int, field_name: str, project_title: str) -> float | None:
        """A NUMBER field's value (``issue_field_value``) as a float."""
        value = self.issue_field_value(number, field_name, project_title)
        return float(value) if isinstance(value, int | float) else None

    def issue_states(self, node_ids: list[str]) -> dict[str, IssueState]:
        """Issue node id -> (state, assignees, closed at), 100 issues per request."""
        states: dict[str, IssueState] = {}
        for start in range(0, len(node_ids), 100):
            data = self.query("issueStates", Q_ISSUES, {"ids": node_ids[start : start + 100]})
            for node in data.get("nodes") or []:
                if node and "id" in node:
                    logins = tuple(a["login"] for a in node["assignees"]["nodes"])
                    states[node["id"]] = (node["state"], logins, node.get("closedAt"))
        return states


def _options(names: Iterable[str]) -> list[dict[str, str]]:
    return [{"name": name, "color": option_color(name), "description": ""} for name in names]


def _plain(value: dict[str, Any]) -> Any:
    for key in ("name", "title", "number", "text"):
        if key in value:
            return value[key]
    return None


def _said(response: httpx.Response) -> str:
    """GitHub's own message from an error answer, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("message") or "") if isinstance(body, dict) else response.text[:200]
