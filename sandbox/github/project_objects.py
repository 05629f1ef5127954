"""The GraphQL objects of the sandbox's Projects v2: dicts shaped like GitHub's types.

``__typename`` picks the concrete type of an interface or union; a callable value is a field
with arguments, resolved by ``graphql_api.resolve_field``. Mixed into ``ProjectsState``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from sandbox.github import shapes
from sandbox.github.state import RepoState

# GitHub's closing keywords ("Linking a pull request to an issue"): close, closes, closed,
# fix, fixes, fixed, resolve, resolves, resolved, followed by #NUMBER
CLOSING_KEYWORD = re.compile(r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?):?\s+#(\d+)\b", re.I)


def connection(
    nodes: list[Any], first: int | None = None, after: str | None = None
) -> dict[str, Any]:
    start = int(base64.b64decode(after).decode()) + 1 if after else 0
    size = min(first or 100, 100)
    page = nodes[start : start + size]
    end = start + len(page) - 1
    return {
        "nodes": page,
        "edges": [
            {"node": node, "cursor": base64.b64encode(str(start + i).encode()).decode()}
            for i, node in enumerate(page)
        ],
        "totalCount": len(nodes),
        "pageInfo": {
            "hasNextPage": start + size < len(nodes),
            "hasPreviousPage": start > 0,
            "startCursor": base64.b64encode(str(start).encode()).decode() if page else None,
            "endCursor": base64.b64encode(str(end).encode()).decode() if page else None,
        },
    }


class ProjectObjects:
    """Renders projects, fields, items, values, issues and users for GraphQL."""

    repo: RepoState
    projects: dict[str, dict[str, Any]]
    fields: dict[str, dict[str, Any]]
    items: dict[str, dict[str, Any]]

    # Implemented by ``ProjectsState``.
    project: Callable[[str], dict[str, Any]]
    field: Callable[[str], dict[str, Any]]
    find_field: Callable[[str, str], dict[str, Any] | None]

    # --- GraphQL objects -------------------------------------------------------------------------

    def project_object(self, project_id: str) -> dict[str, Any]:
        record = self.project(project_id)
        return {
            "__typename": "ProjectV2",
            "id": project_id,
            "number": record["number"],
            "title": record["title"],
            "closed": False,
            "public": False,
            "url": f"{self.repo.base_url}/users/{self.repo.owner}/projects/{record['number']}",
            "fields": lambda info, first=None, after=None, **_: connection(
                [self.field_object(f) for f in record["fields"]], first, after
            ),
            "field": lambda info, name: (
                self.field_object(found["id"])
                if (found := self.find_field(project_id, name))
                else None
            ),
            "items": lambda info, first=None, after=None, **_: connection(
                [self.item_object(i) for i in record["items"]], first, after
            ),
        }

    def field_object(self, field_id: str) -> dict[str, Any]:
        record = self.field(field_id)
        typename = {
            "SINGLE_SELECT": "ProjectV2SingleSelectField",
            "ITERATION": "ProjectV2IterationField",
        }
        shape: dict[str, Any] = {
            "__typename": typename.get(record["dataType"], "ProjectV2Field"),
            "id": field_id,
            "name": record["name"],
            "dataType": record["dataType"],
            "project": lambda info: self.project_object(record["project"]),
        }
        if record["dataType"] == "SINGLE_SELECT":
            shape["options"] = lambda info, names=None: [
                {**o, "nameHTML": o["name"], "descriptionHTML": o["description"]}
                for o in record["options"]
                if not names or o["name"] in names
            ]
        if record["dataType"] == "ITERATION":
            shape["configuration"] = {
                **record["iterations"],
                "iterations": [
                    {**i, "titleHTML": i["title"]} for i in record["iterations"]["iterations"]
                ],
            }
        return shape

    def item_object(self, item_id: str) -> dict[str, Any]:
        item = self.items[item_id]
        values: Callable[..., Any] = lambda info, first=None, after=None, **_: connection(  # noqa: E731
            [self.value_object(item_id, f) for f in item["values"]], first, after
        )
        return {
            "__typename": "ProjectV2Item",
            "id": item_id,
            "type": "ISSUE",
            "isArchived": False,
            "content": lambda info: self.issue_object(item["content"]),
            "project": lambda info: self.project_object(item["project"]),
            "fieldValues": values,
            "fieldValueByName": lambda info, name: next(
                (
                    self.value_object(item_id, f)
                    for f in item["values"]
                    if self.fields[f]["name"] == name
                ),
                None,
            ),
        }

    def value_object(self, item_id: str, field_id: str) -> dict[str, Any]:
        record = self.fields[field_id]
        value = self.items[item_id]["values"][field_id]
        created = value.get("createdAt") or shapes.now_iso()
        common = {
            "id": f"{item_id}:{field_id}",
            "field": self.field_object(field_id),
            "item": lambda info: self.item_object(item_id),
            # who set the value (a value set is a new value) and when
            "creator": self.user_object(value.get("creator") or self.repo.owner),
            "createdAt": created,
            "updatedAt": created,
        }
        kind = record["dataType"]
        if kind == "SINGLE_SELECT":
            option = next(o for o in record["options"] if o["id"] == value["singleSelectOptionId"])
            return {
                **common,
                "__typename": "ProjectV2ItemFieldSingleSelectValue",
                "name": option["name"],
                "optionId": option["id"],
                "color": option["color"],
            }
        if kind == "ITERATION":
            it = next(
                i for i in record["iterations"]["iterations"] if i["id"] == value["iterationId"]
            )
            return {
                **common,
                "__typename": "ProjectV2ItemFieldIterationValue",
                "title": it["title"],
                "iterationId": it["id"],
                "startDate": it["startDate"],
                "duration": it["duration"],
            }
        if kind == "NUMBER":
            return {
                **common,
                "__typename": "ProjectV2ItemFieldNumberValue",
                "number": value["number"],
            }
        if kind == "DATE":
            return {**common, "__typename": "ProjectV2ItemFieldDateValue", "date": value["date"]}
        return {**common, "__typename": "ProjectV2ItemFieldTextValue", "text": value["text"]}

    def issue_object(self, number: int) -> dict[str, Any]:
        record = self.repo.issue(number)
        return {
            "__typename": "PullRequest" if record.get("is_pull") else "Issue",
            "id": record["node_id"],
            "databaseId": record["id"],
            "number": number,
            "title": record["title"],
            "body": record.get("body") or "",
            # who last edited the body, and when (None: never edited since it was opened)
            "editor": self.user_object(record["editor"]) if record.get("editor") else None,
            "lastEditedAt": record.get("last_edited_at"),
            "state": record["state"].upper(),
            "closedAt": record.get("closed_at"),
            "url": f"{self.repo.html}/issues/{number}",
            "assignees": lambda info, first=None, after=None, **_: connection(
                [self.user_object(login) for login in record["assignees"]], first, after
            ),
            "labels": lambda info, first=None, after=None, **_: connection(
                [self.label_object(name) for name in record["labels"]], first, after
            ),
            "projectItems": lambda info, first=None, after=None, **_: connection(
                [self.item_object(i) for i, r in self.items.items() if r["content"] == number],
                first,
                after,
            ),
            "closedByPullRequestsReferences": lambda info, first=None, after=None, **options: (
                connection(self._closing_pulls(number, **options), first, after)
            ),
        }

    def _closing_pulls(
        self, number: int, includeClosedPrs: bool = False, **_: Any
    ) -> list[dict[str, Any]]:
        """Pull requests whose body closes ``#number`` with a closing keyword, as GitHub
        links them (open ones only unless ``includeClosedPrs``), oldest first."""
        return [
            self.issue_object(record["number"])
            for record in sorted(self.repo.issues.values(), key=lambda r: r["number"])
            if record.get("is_pull")
            and (includeClosedPrs or record["state"] == "open")
            and number in {int(n) for n in CLOSING_KEYWORD.findall(record.get("body") or "")}
        ]

    def label_object(self, name: str) -> dict[str, Any]:
        label = self.repo.labels.get(name) or {}
        return {
            "__typename": "Label",
            "id": label.get("node_id"),
            "name": name,
            "color": label.get("color"),
            "description": label.get("description"),
        }

    def user_object(self, login: str) -> dict[str, Any]:
        return {
            "__typename": "User",
            "id": shapes.node_id("U", self.repo.ensure_user(login)),
            "login": login,
            "projectV2": lambda info, number: next(
                (self.project_object(p) for p, r in self.projects.items() if r["number"] == number),
                None,
            ),
            "projectsV2": lambda info, first=None, after=None, query=None, **_: connection(
                [
                    self.project_object(p)
                    for p, r in self.projects.items()
                    if not query or query.casefold() in r["title"].casefold()
                ],
                first,
                after,
            ),
        }
