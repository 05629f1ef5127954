"""Projects v2 in the sandbox: projects, custom fields with options and iterations, items and
their field values, as the GraphQL API exposes them.

Objects are dicts shaped like the GraphQL types (``__typename`` picks the concrete type of an
interface or union); a value that is a callable is a field with arguments, resolved by
``graphql_api.resolve_field``.
"""

from __future__ import annotations

import base64
import itertools
from datetime import date, timedelta
from typing import Any

from sandbox.github import shapes
from sandbox.github.project_objects import ProjectObjects
from sandbox.github.state import RepoState, SandboxError

DEFAULT_STATUS_OPTIONS = ("Todo", "In Progress", "Done")
OPTION_COLORS = {"Todo": "GRAY", "In Progress": "YELLOW", "Done": "GREEN"}


class ProjectsState(ProjectObjects):
    """All Projects v2 of the sandbox owner, linked to one repository's issues."""

    def __init__(self, repo: RepoState) -> None:
        self.repo = repo
        self._ids = itertools.count(1)
        self.projects: dict[str, dict[str, Any]] = {}
        self.fields: dict[str, dict[str, Any]] = {}
        self.items: dict[str, dict[str, Any]] = {}

    def _id(self, prefix: str) -> str:
        return shapes.node_id(prefix, 700000 + next(self._ids))

    # --- writes ------------------------------------------------------------------------------

    def create_project(self, owner_id: str, title: str) -> dict[str, Any]:
        with self.repo.lock:
            if owner_id != self.owner_node_id:
                raise SandboxError(
                    404, f"Could not resolve to a node with the global id of '{owner_id}'"
                )
            project_id = self._id("PVT")
            number = len(self.projects) + 1
            self.projects[project_id] = {
                "id": project_id,
                "number": number,
                "title": title,
                "fields": [],
                "items": [],
                "created_at": shapes.now_iso(),
            }
            self._add_field(project_id, "Title", "TITLE")
            self._add_field(project_id, "Assignees", "ASSIGNEES")
            options = [
                {"name": n, "color": OPTION_COLORS[n], "description": ""}
                for n in DEFAULT_STATUS_OPTIONS
            ]
            self._add_field(project_id, "Status", "SINGLE_SELECT", options=options)
            return self.project_object(project_id)

    def _add_field(self, project_id: str, name: str, data_type: str, **config: Any) -> str:
        project = self.project(project_id)
        if any(self.fields[f]["name"].casefold() == name.casefold() for f in project["fields"]):
            raise SandboxError(422, f"Name has already been taken: {name}")
        field_id = self._id(
            "PVTF"
            if data_type not in ("SINGLE_SELECT", "ITERATION")
            else "PVTSSF"
            if data_type == "SINGLE_SELECT"
            else "PVTIF"
        )
        record: dict[str, Any] = {
            "id": field_id,
            "name": name,
            "dataType": data_type,
            "project": project_id,
        }
        if data_type == "SINGLE_SELECT":
            if not config.get("options"):
                raise SandboxError(422, "At least one option is required for a single select field")
            record["options"] = [self._option(o) for o in config["options"]]
        if data_type == "ITERATION":
            record["iterations"] = self._iterations(config.get("iterations") or {})
        self.fields[field_id] = record
        project["fields"].append(field_id)
        return field_id

    def _option(self, option: dict[str, Any], keep: dict[str, str] | None = None) -> dict[str, Any]:
        option_id = (keep or {}).get(option["name"]) or base64.b16encode(
            next(self._ids).to_bytes(4, "big")
        ).decode().lower()
        return {
            "id": option_id,
            "name": option["name"],
            "color": option.get("color", "GRAY"),
            "description": option.get("description", ""),
        }

    def _iterations(self, configuration: dict[str, Any]) -> dict[str, Any]:
        duration = int(configuration.get("duration") or 14)
        start = configuration.get("startDate") or date.today().isoformat()
        iterations = []
        cursor = date.fromisoformat(str(start))
        for given in configuration.get("iterations") or []:
            first = date.fromisoformat(str(given.get("startDate") or cursor.isoformat()))
            length = int(given.get("duration") or duration)
            iterations.append(
                {
                    "id": self._id("IT")[-8:],
                    "title": given["title"],
                    "startDate": first.isoformat(),
                    "duration": length,
                }
            )
            cursor = first + timedelta(days=length)
        return {
            "duration": duration,
            "startDay": cursor.isoweekday() % 7,
            "iterations": iterations,
            "completedIterations": [],
        }

    def create_field(
        self, project_id: str, name: str, data_type: str, **config: Any
    ) -> dict[str, Any]:
        with self.repo.lock:
            field_id = self._add_field(project_id, name, data_type, **config)
            return self.field_object(field_id)

    def update_field(
        self,
        field_id: str,
        name: str | None,
        options: list[Any] | None,
        iterations: dict[str, Any] | None,
    ) -> dict[str, Any]:
        with self.repo.lock:
            record = self.field(field_id)
            if name:
                record["name"] = name
            if options is not None:
                if record["dataType"] != "SINGLE_SELECT":
                    raise SandboxError(422, "Options can be set only on single select fields")
                keep = {o["name"]: o["id"] for o in record["options"]}
                record["options"] = [self._option(o, keep) for o in options]
            if iterations is not None:
                record["iterations"] = self._iterations(iterations)
            return self.field_object(field_id)

    def add_item(self, project_id: str, content_id: str) -> dict[str, Any]:
        with self.repo.lock:
            project = self.project(project_id)
            issue = self._issue_by_node(content_id)
            for item_id in project["items"]:
                if self.items[item_id]["content"] == issue["number"]:
                    return self.item_object(item_id)  # GitHub returns the existing item
            item_id = self._id("PVTI")
            self.items[item_id] = {
                "id": item_id,
                "project": project_id,
                "content": issue["number"],
                "values": {},
            }
            project["items"].append(item_id)
            return self.item_object(item_id)

    def set_value(
        self, project_id: str, item_id: str, field_id: str, value: dict[str, Any] | None
    ) -> dict[str, Any]:
        with self.repo.lock:
            item = self.items.get(item_id)
            if item is None or item["project"] != project_id:
                raise SandboxError(
                    404, f"Could not resolve to a node with the global id of '{item_id}'"
                )
            record = self.field(field_id)
            before = item["values"].get(field_id)
            if value is None:
                item["values"].pop(field_id, None)
            else:
                # a value set is a new value: its creator is who set it (``creator``)
                stamp = {"creator": self.repo.acting(), "createdAt": shapes.now_iso()}
                item["values"][field_id] = {**self._checked_value(record, value), **stamp}
            return {"item": self.item_object(item_id), "before": before}

    def _checked_value(self, record: dict[str, Any], value: dict[str, Any]) -> dict[str, Any]:
        kind = record["dataType"]
        given = {k: v for k, v in value.items() if v is not None}
        expected = {
            "NUMBER": "number",
            "TEXT": "text",
            "DATE": "date",
            "SINGLE_SELECT": "singleSelectOptionId",
            "ITERATION": "iterationId",
        }.get(kind)
        if expected is None or list(given) != [expected]:
            raise SandboxError(
                422, f"The value for field '{record['name']}' must be given as {expected}"
            )
        if kind == "SINGLE_SELECT" and not any(
            o["id"] == given[expected] for o in record["options"]
        ):
            raise SandboxError(
                422, f"The single select option Id does not belong to the field '{record['name']}'"
            )
        if kind == "ITERATION" and not any(
            i["id"] == given[expected] for i in record["iterations"]["iterations"]
        ):
            raise SandboxError(
                422, f"The iteration Id does not belong to the field '{record['name']}'"
            )
        return given

    # --- reads -------------------------------------------------------------------------------

    @property
    def owner_node_id(self) -> str:
        return shapes.node_id("U", self.repo.ensure_user(self.repo.owner))

    def project(self, project_id: str) -> dict[str, Any]:
        if project_id not in self.projects:
            raise SandboxError(
                404, f"Could not resolve to a node with the global id of '{project_id}'"
            )
        return self.projects[project_id]

    def field(self, field_id: str) -> dict[str, Any]:
        if field_id not in self.fields:
            raise SandboxError(
                404, f"Could not resolve to a node with the global id of '{field_id}'"
            )
        return self.fields[field_id]

    def _issue_by_node(self, node_id: str) -> dict[str, Any]:
        for record in self.repo.issues.values():
            if record["node_id"] == node_id:
                return record
        raise SandboxError(404, f"Could not resolve to a node with the global id of '{node_id}'")

    def find_field(self, project_id: str, name: str) -> dict[str, Any] | None:
        for field_id in self.project(project_id)["fields"]:
            if self.fields[field_id]["name"] == name:
                return self.fields[field_id]
        return None

    def value_of(self, item_id: str, field_name: str) -> Any:
        """The plain value of an item's field (option or iteration name), for tests."""
        item = self.items[item_id]
        record = self.find_field(item["project"], field_name)
        if record is None or record["id"] not in item["values"]:
            return None
        value = next(iter(item["values"][record["id"]].values()))
        if record["dataType"] == "SINGLE_SELECT":
            return next(o["name"] for o in record["options"] if o["id"] == value)
        if record["dataType"] == "ITERATION":
            return next(i["title"] for i in record["iterations"]["iterations"] if i["id"] == value)
        return value
