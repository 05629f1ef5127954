"""The sandbox's GraphQL endpoint, executed by graphql-core against GitHub's official schema.

The schema is built from ``@octokit/graphql-schema``'s ``schema.graphql``, shipped gzipped in
this package (``schema.graphql.gz``, provenance in ``schema.graphql.md``) so that the sandbox
and the demo need neither npm nor the network; every document is parsed and validated against
it as GitHub does, then executed with resolvers for the fields and mutations backlog-bot uses
(Projects v2, issues, users). Unsupported but valid fields resolve to null.

The official SDL breaks two rules newer than it (deprecated interface implementations), so
the schema's self-validation is skipped; documents are still fully validated.
"""

from __future__ import annotations

import functools
import gzip
import os
from importlib import resources
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLSchema,
    build_schema,
    execute_sync,
    parse,
    validate,
)

from sandbox.errors import SandboxSetupError
from sandbox.github.projects import ProjectsState
from sandbox.github.state import SandboxError

SCHEMA_ENV = "BACKLOG_BOT_GITHUB_SCHEMA"
SCHEMA_RESOURCE = "schema.graphql.gz"  # @octokit/graphql-schema 15.26.1, see schema.graphql.md
GZIP_MAGIC = b"\x1f\x8b"


def schema_text(path: str | None = None) -> str:
    """The SDL: from ``path`` (or ``$BACKLOG_BOT_GITHUB_SCHEMA``), else the packaged copy.

    A file may be plain ``schema.graphql`` or gzipped.
    """
    named = path or os.environ.get(SCHEMA_ENV)
    try:
        if named:
            data = Path(named).read_bytes()
        else:
            data = resources.files("sandbox.github").joinpath(SCHEMA_RESOURCE).read_bytes()
        if data.startswith(GZIP_MAGIC):
            data = gzip.decompress(data)
        return data.decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        if named:
            raise SandboxSetupError(
                f"{named}: cannot read GitHub's GraphQL schema ({exc}); set {SCHEMA_ENV} to a "
                f"schema.graphql (plain or gzipped), or unset it to use the packaged one"
            ) from exc
        raise SandboxSetupError(
            f"the GitHub sandbox's packaged schema (sandbox/github/{SCHEMA_RESOURCE}) cannot be "
            f"read ({exc}): reinstall backlog-bot"
        ) from exc


@functools.cache
def load_schema(path: str | None = None) -> GraphQLSchema:
    """GitHub's public GraphQL schema (cached: building it takes about a second)."""
    schema = build_schema(schema_text(path), assume_valid_sdl=True)
    schema._validation_errors = []  # skip self-validation, see the module docstring
    return schema


def resolve_field(source: Any, info: Any, **args: Any) -> Any:
    """Dict sources: a value, or a callable taking ``(info, **arguments)``."""
    value = source.get(info.field_name) if isinstance(source, dict) else None
    if callable(value):
        return value(info, **args)
    return value


class GraphQLApi:
    """Executes GraphQL requests against the sandbox state."""

    def __init__(self, projects: ProjectsState) -> None:
        self.projects = projects
        self.repo = projects.repo
        self.schema = load_schema()

    def run(
        self, query: str, variables: dict[str, Any] | None, operation: str | None
    ) -> dict[str, Any]:
        try:
            document = parse(query)
        except GraphQLError as exc:
            return {"errors": [exc.formatted]}
        errors = validate(self.schema, document)
        if errors:
            return {"errors": [error.formatted for error in errors]}
        result = execute_sync(
            self.schema,
            document,
            root_value=self._root(),
            variable_values=variables or {},
            operation_name=operation,
            field_resolver=resolve_field,
        )
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [self._error(error) for error in result.errors]
        return body

    @staticmethod
    def _error(error: GraphQLError) -> dict[str, Any]:
        formatted = dict(error.formatted)
        original = error.original_error
        if isinstance(original, SandboxError):
            kind = {404: "NOT_FOUND", 422: "UNPROCESSABLE", 403: "FORBIDDEN"}.get(original.status)
            formatted["type"] = kind or "INTERNAL"
            formatted["message"] = original.message
        return formatted

    def _root(self) -> dict[str, Any]:
        projects = self.projects
        return {
            "repository": lambda info, owner, name, **_: self._repository(owner, name),
            "user": lambda info, login: projects.user_object(login),
            "repositoryOwner": lambda info, login: projects.user_object(login),
            "viewer": projects.user_object(self.repo.owner),
            "node": lambda info, id: self._node(id),
            "nodes": lambda info, ids: [self._node(node_id, missing_ok=True) for node_id in ids],
            # mutations share the root: the operation type picks which fields are asked for
            "createProjectV2": lambda info, input: self._create_project(input),
            "createProjectV2Field": lambda info, input: self._create_field(input),
            "updateProjectV2Field": lambda info, input: self._update_field(input),
            "addProjectV2ItemById": lambda info, input: self._add_item(input),
            "updateProjectV2ItemFieldValue": lambda info, input: self._set_value(input),
            "clearProjectV2ItemFieldValue": lambda info, input: self._set_value(input, clear=True),
        }

    def _repository(self, owner: str, name: str) -> dict[str, Any] | None:
        repo = self.repo
        if (owner, name) != (repo.owner, repo.name):
            raise SandboxError(
                404, f"Could not resolve to a Repository with the name '{owner}/{name}'."
            )
        owner_object = self.projects.user_object(repo.owner)
        return {
            "__typename": "Repository",
            "id": repo.repo["node_id"],
            "databaseId": repo.repo["id"],
            "name": repo.name,
            "nameWithOwner": f"{repo.owner}/{repo.name}",
            "owner": owner_object,
            "projectV2": owner_object["projectV2"],
            "projectsV2": owner_object["projectsV2"],
            "issue": lambda info, number: self.projects.issue_object(number),
        }

    def _node(self, node_id: str, missing_ok: bool = False) -> dict[str, Any] | None:
        projects = self.projects
        with self.repo.lock:
            if node_id in projects.projects:
                return projects.project_object(node_id)
            if node_id in projects.items:
                return projects.item_object(node_id)
            if node_id in projects.fields:
                return projects.field_object(node_id)
            for record in self.repo.issues.values():
                if record["node_id"] == node_id:
                    return projects.issue_object(record["number"])
            if node_id == projects.owner_node_id:
                return projects.user_object(self.repo.owner)
        if missing_ok:
            return None
        raise SandboxError(404, f"Could not resolve to a node with the global id of '{node_id}'")

    @staticmethod
    def _payload(input: dict[str, Any], **values: Any) -> dict[str, Any]:
        return {"clientMutationId": input.get("clientMutationId"), **values}

    def _create_project(self, input: dict[str, Any]) -> dict[str, Any]:
        project = self.projects.create_project(input["ownerId"], input["title"])
        return self._payload(input, projectV2=project)

    def _create_field(self, input: dict[str, Any]) -> dict[str, Any]:
        field = self.projects.create_field(
            input["projectId"],
            input["name"],
            input["dataType"],
            options=input.get("singleSelectOptions"),
            iterations=input.get("iterationConfiguration"),
        )
        return self._payload(input, projectV2Field=field)

    def _update_field(self, input: dict[str, Any]) -> dict[str, Any]:
        field = self.projects.update_field(
            input["fieldId"],
            input.get("name"),
            input.get("singleSelectOptions"),
            input.get("iterationConfiguration"),
        )
        return self._payload(input, projectV2Field=field)

    def _add_item(self, input: dict[str, Any]) -> dict[str, Any]:
        before = set(self.projects.items)
        item = self.projects.add_item(input["projectId"], input["contentId"])
        if item["id"] not in before:
            self.repo.emit("projects_v2_item", self._item_event("created", item["id"]))
        return self._payload(input, item=item)

    def _set_value(self, input: dict[str, Any], clear: bool = False) -> dict[str, Any]:
        value = None if clear else input["value"]
        result = self.projects.set_value(
            input["projectId"], input["itemId"], input["fieldId"], value
        )
        record = self.projects.fields[input["fieldId"]]
        event = self._item_event("edited", input["itemId"])
        # as the webhook schema has it (``webhook-projects-v2-item-edited``): the field's name,
        # the board's number and the value before and after
        event["changes"] = {
            "field_value": {
                "field_node_id": input["fieldId"],
                "field_type": record["dataType"].lower(),
                "field_name": record["name"],
                "project_number": self.projects.projects[input["projectId"]]["number"],
                "from": _webhook_value(record, result["before"]),
                "to": _webhook_value(record, None if clear else input["value"]),
            }
        }
        self.repo.emit("projects_v2_item", event)
        return self._payload(input, projectV2Item=result["item"])

    def _item_event(self, action: str, item_id: str) -> dict[str, Any]:
        item = self.projects.items[item_id]
        issue = self.repo.issues[item["content"]]
        project = self.projects.projects[item["project"]]
        return {
            "action": action,
            "projects_v2_item": {
                "id": int(item_id.encode().hex()[-8:], 16),
                "node_id": item_id,
                "project_node_id": item["project"],
                "content_node_id": issue["node_id"],
                "content_type": "Issue",
                "creator": self.repo.user_shape(self.repo.owner),
                "created_at": project["created_at"],
                "updated_at": project["created_at"],
                "archived_at": None,
            },
        }


def _webhook_value(field: dict[str, Any], value: dict[str, Any] | None) -> Any:
    """A field value as ``projects_v2_item`` ``edited`` reports it (option, iteration, scalar)."""
    if not value:
        return None
    if "singleSelectOptionId" in value:
        option: dict[str, Any] = next(
            (o for o in field["options"] if o["id"] == value["singleSelectOptionId"]), {}
        )
        return {
            "id": value["singleSelectOptionId"],
            "name": option.get("name", ""),
            "color": option.get("color"),
            "description": option.get("description"),
        }
    if "iterationId" in value:
        iterations = field.get("iterations", {}).get("iterations", [])
        it: dict[str, Any] = next((i for i in iterations if i["id"] == value["iterationId"]), {})
        return {
            "id": value["iterationId"],
            "title": it.get("title", ""),
            "start_date": it.get("startDate"),
            "duration": it.get("duration"),
        }
    for key in ("number", "text", "date"):
        if key in value:
            return value[key]
    return None
