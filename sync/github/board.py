"""The Projects v2 board step of a GitHub apply: the board and its custom fields, then one
item per issue and the field values that changed since they were last pushed.

What was pushed is kept on the links (``extra``: the project's field ids and spec hash, each
issue's item id and ``fields_pushed``), so an unchanged backlog costs no board writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backlog.errors import RemoteError
from sync.github.mapping import FIELD_STATUS, GitHubDesired
from sync.github.plan import TARGET, fields_hash, issue_link, project_value_changes
from sync.github.port import GitHubProjectsPort
from sync.link_record import LinkRecord


class ProjectBoard:
    """Brings one board in step with the desired issues; each write is saved as it lands."""

    def __init__(
        self,
        projects: GitHubProjectsPort,
        title: str,
        links: dict[tuple[str, str], LinkRecord],
        save: Callable[[LinkRecord], None],
    ) -> None:
        self.projects = projects
        self.title = title
        self.links = links
        self.save = save

    def sync(self, desired: GitHubDesired) -> None:
        """Create or reuse the board and its fields, add missing items, set changed values."""
        self._items(desired, self._fields(desired))

    def _fields(self, desired: GitHubDesired) -> dict[str, Any]:
        link = self.links.get(("project", "project"))
        if link is not None and link.extra.get("spec_hash") == fields_hash(desired):
            return dict(link.extra["fields"])
        project_id = self.projects.find_or_create_project(self.title)
        fields = self.projects.ensure_fields(project_id, list(desired.fields))
        plain = {
            name: {
                "id": f.id,
                "data_type": f.data_type,
                "options": dict(f.options),
                "iterations": dict(f.iterations),
            }
            for name, f in fields.items()
        }
        record = link or LinkRecord("project", "project", project_id)
        record.remote_id = project_id
        record.extra.update(fields=plain, spec_hash=fields_hash(desired))
        self.save(record)
        return plain

    def _items(self, desired: GitHubDesired, fields: dict[str, Any]) -> None:
        project_id = self.links[("project", "project")].remote_id
        board = [s for s in desired.issues if s.project_fields]
        linked = [(s, issue_link(self.links, s.backlog_id)) for s in board]
        missing = [
            (s, link) for s, link in linked if link is not None and not link.extra.get("item_id")
        ]
        if missing:
            items = self.projects.add_items(
                project_id, [link.extra["node_id"] for _, link in missing]
            )
            for _spec, added in missing:
                added.extra["item_id"] = items[added.extra["node_id"]]
                self.save(added)
        changes: list[tuple[str, str, dict[str, Any] | None]] = []
        touched: list[tuple[LinkRecord, dict[str, Any]]] = []
        for spec, link in linked:
            if link is None or not link.extra.get("item_id"):
                continue
            diff = project_value_changes(spec, link)
            status = fields.get(FIELD_STATUS)
            if not link.extra.get("fields_pushed") and status and "Todo" in status["options"]:
                changes.append(
                    (
                        link.extra["item_id"],
                        status["id"],
                        {"singleSelectOptionId": status["options"]["Todo"]},
                    )
                )
            for name, (_old, value) in diff.items():
                changes.append(
                    (link.extra["item_id"], fields[name]["id"], _value(fields[name], value))
                )
            if diff:
                touched.append((link, dict(spec.project_fields)))
        if changes:
            self.projects.set_values(project_id, changes)
        for link, values in touched:
            link.extra["fields_pushed"] = values
            self.save(link)


def _value(field_info: dict[str, Any], value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    kind = field_info["data_type"]
    if kind == "NUMBER":
        return {"number": float(value)}
    if kind == "SINGLE_SELECT":
        option = field_info["options"].get(str(value))
        if option is None:
            raise RemoteError(f"the board field has no option {value!r}", service=TARGET)
        return {"singleSelectOptionId": option}
    if kind == "ITERATION":
        iteration = field_info["iterations"].get(str(value))
        if iteration is None:
            raise RemoteError(f"the board has no iteration {value!r}", service=TARGET)
        return {"iterationId": iteration}
    return {"text": str(value)}
