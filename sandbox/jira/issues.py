"""Creating and editing sandbox issues with Jira's validation rules and error wording.

``IssueService.create`` / ``edit`` return ``(issue, None)`` or ``(None, ErrorCollection)``.
Webhooks fire for every successful change.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.jira.adf import adf_problem
from sandbox.jira.middleware import ACTING_USER
from sandbox.jira.render import adf_to_text, issue_json, user_json
from sandbox.jira.state import (
    EPIC_LINK_FIELD,
    EPIC_NAME_FIELD,
    PRIORITIES,
    SPRINT_FIELD,
    Issue,
    IssueTypeSpec,
    ProjectSpec,
    SiteState,
    User,
    now_iso,
)
from sandbox.jira.webhooks import WebhookEmitter, changelog_items

Errors = dict[str, Any]
_DURATION = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)w)?\s*(?:(\d+(?:\.\d+)?)d)?\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+)m)?\s*$"
)
NOT_ON_SCREEN = "It is not on the appropriate screen, or unknown."
READ_ONLY = {"status", "created", "updated", "issuelinks", "subtasks", SPRINT_FIELD}


class PermissionDenied(Exception):
    """The project forbids the caller; answered with 403."""


def error_collection(
    errors: dict[str, str] | None = None, messages: list[str] | None = None
) -> Errors:
    return {"errorMessages": messages or [], "errors": errors or {}}


def duration_seconds(text: str) -> int | None:
    """Jira duration (``1w 2d 3h 30m``; 1d = 8h, 1w = 5d) in seconds."""
    match = _DURATION.match(text or "")
    if not match or not any(match.groups()):
        return None
    weeks, days, hours, minutes = (float(g) if g else 0.0 for g in match.groups())
    return int((((weeks * 5 + days) * 8 + hours) * 60 + minutes) * 60)


class IssueService:
    def __init__(self, state: SiteState, webhooks: WebhookEmitter, actor: User) -> None:
        self.state = state
        self.webhooks = webhooks
        self.actor = actor

    # --- create -------------------------------------------------------------------------

    def create(self, payload: Any, version: str, base: str) -> tuple[Issue | None, Errors | None]:
        if not isinstance(payload, dict) or not isinstance(payload.get("fields"), dict):
            return None, error_collection(messages=["Issue fields are required."])
        fields = dict(payload["fields"])
        with self.state.lock:
            project = self._project(fields.get("project"))
            if project is None:
                return None, error_collection({"project": "Specify a valid project ID or key"})
            if not project.permitted:
                raise PermissionDenied(
                    f"You do not have permission to create issues in project '{project.key}'."
                )
            issue_type = self._issue_type(project, fields.get("issuetype"))
            if issue_type is None:
                return None, error_collection({"issuetype": "Specify a valid issue type"})
            stored, errors = self._validate(project, issue_type, fields, version, creating=True)
            properties, prop_errors = _properties(payload.get("properties"))
            errors.update(prop_errors)
            if errors:
                return None, error_collection(errors)
            issue = self.state.add_issue(project, issue_type, stored)
            issue.properties.update(properties)
            self._set_assignee(issue, fields.get("assignee"))
            rendered = issue_json(base, self.state, issue, "2")
        self.webhooks.emit("jira:issue_created", rendered, self._user(base))
        return issue, None

    # --- edit ---------------------------------------------------------------------------

    def edit(self, issue: Issue, payload: Any, version: str, base: str) -> Errors | None:
        if not isinstance(payload, dict):
            return error_collection(messages=["Request body must be a JSON object."])
        fields = dict(payload.get("fields") or {})
        with self.state.lock:
            if not issue.project.permitted:
                raise PermissionDenied(f"You do not have permission to edit issue {issue.key}.")
            before = self._display(issue)
            stored, errors = self._validate(
                issue.project, issue.issue_type, fields, version, creating=False
            )
            labels, label_errors = _label_updates(
                issue, (payload.get("update") or {}).get("labels")
            )
            errors.update(label_errors)
            properties, prop_errors = _properties(payload.get("properties"))
            errors.update(prop_errors)
            if errors:
                return error_collection(errors)
            issue.fields.update(stored)
            if labels is not None:
                issue.fields["labels"] = labels
            issue.properties.update(properties)
            if "assignee" in fields:
                self._set_assignee(issue, fields.get("assignee"))
            self.touch(issue, before, base)
        return None

    def touch(self, issue: Issue, before: dict[str, str | None], base: str) -> None:
        """Mark ``issue`` updated and send ``jira:issue_updated`` if anything visible changed."""
        changes = changelog_items(before, self._display(issue))
        if not changes:
            return
        self._record_history(issue, base, [self._history_item(item) for item in changes])
        rendered = issue_json(base, self.state, issue, "2")
        self.webhooks.emit("jira:issue_updated", rendered, self._user(base), changes)

    def record_link(self, issue: Issue, other: str, phrase: str, base: str, *, added: bool) -> None:
        """A link made or removed: Jira's changelog item on each of the two issues
        (``Link``, ``This issue is blocked by BSS-1``), by the acting user."""
        text = f"This issue {phrase} {other}"
        item = {"field": "Link", "fieldtype": "jira"}
        item |= {"to": other, "toString": text} if added else {"from": other, "fromString": text}
        self._record_history(issue, base, [item])

    def _record_history(self, issue: Issue, base: str, items: list[dict[str, Any]]) -> None:
        """Mark ``issue`` updated now, with a changelog entry of ``items`` by the acting user."""
        issue.updated = now_iso()
        issue.histories.append(
            {
                "id": str(len(issue.histories) + 10000 * issue.id),
                "author": self._user(base),
                # RFC 3339, as the description's date-time (like serverInfo's serverTime)
                "created": issue.updated.replace("+0000", "+00:00"),
                "items": items,
            }
        )

    def _history_item(self, item: dict[str, Any]) -> dict[str, Any]:
        """A changelog item as Jira shows it: with the field's id (``fieldId``), the Sprint
        field by sprint name, not id."""
        shown = {**item, "fieldId": item["field"]}
        if item["field"] == "Sprint":
            names = []
            for value in (item["fromString"], item["toString"]):
                sprint = self.state.sprints.get(int(value)) if value else None
                names.append(sprint.name if sprint else value)
            shown |= {"fieldId": SPRINT_FIELD, "fromString": names[0], "toString": names[1]}
        # a value that is not there is left out (the description's strings are not nullable)
        return {key: value for key, value in shown.items() if value is not None}

    def snapshot(self, issue: Issue) -> dict[str, str | None]:
        return self._display(issue)

    # --- helpers ------------------------------------------------------------------------

    def acting(self) -> User:
        """Who sends the request being served: a teammate, else the site's own account."""
        return self.state.users.get(ACTING_USER.get() or "") or self.actor

    def _user(self, base: str) -> dict[str, Any]:
        data = user_json(base, self.acting())
        data.pop("emailAddress", None)
        return data

    def _display(self, issue: Issue) -> dict[str, str | None]:
        values: dict[str, str | None] = {}
        for name, value in issue.fields.items():
            if name == "priority":
                values[name] = dict(PRIORITIES).get(str(value))
            elif name == "labels":
                values[name] = " ".join(value or [])
            elif name == "timetracking":
                values[name] = (value or {}).get("originalEstimate")
            else:
                values[name] = None if value is None else str(value)
        values["status"] = issue.status
        values["assignee"] = issue.assignee
        values["Sprint"] = str(issue.sprint_id) if issue.sprint_id else None
        return values

    def _project(self, ref: Any) -> ProjectSpec | None:
        if isinstance(ref, dict):
            ref = ref.get("id") or ref.get("key")
        return self.state.project(str(ref)) if ref else None

    @staticmethod
    def _issue_type(project: ProjectSpec, ref: Any) -> IssueTypeSpec | None:
        if not isinstance(ref, dict):
            return None
        for spec in project.issue_types:
            if spec.id == str(ref.get("id")) or spec.name == ref.get("name"):
                return spec
        return None

    def _set_assignee(self, issue: Issue, ref: Any) -> None:
        """``{"accountId": ...}`` (Cloud) or ``{"name": ...}`` (Data Center: the user's
        name, the local part of the e-mail address here); anything else unassigns."""
        account = ref.get("accountId") if isinstance(ref, dict) else None
        name = ref.get("name") if isinstance(ref, dict) else None
        if name and not account:
            users = self.state.users.values()
            account = next((u.account_id for u in users if u.email.split("@")[0] == name), None)
        issue.assignee = account if account in self.state.users else None

    def _validate(
        self,
        project: ProjectSpec,
        issue_type: IssueTypeSpec,
        fields: dict[str, Any],
        version: str,
        *,
        creating: bool,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        allowed = project.create_fields(issue_type)
        stored: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for name, value in fields.items():
            if name in ("project", "issuetype", "assignee"):
                continue
            if name not in allowed or name in READ_ONLY:
                errors[name] = f"Field '{name}' cannot be set. {NOT_ON_SCREEN}"
                continue
            result = self._field_value(project, issue_type, name, value, version)
            if isinstance(result, _Invalid):
                errors[name] = result.message
            else:
                stored[name] = result
        if creating:
            for name, required in allowed.items():
                if required and name not in fields and name not in ("project", "issuetype"):
                    errors[name] = _required_message(name, issue_type)
        return stored, errors

    def _field_value(
        self, project: ProjectSpec, issue_type: IssueTypeSpec, name: str, value: Any, version: str
    ) -> Any:
        if name == "summary":
            if not isinstance(value, str) or not value.strip():
                return _Invalid("You must specify a summary of the issue.")
            if "\n" in value:
                return _Invalid("The summary is invalid because it contains newline characters.")
            if len(value) > 255:
                return _Invalid("Summary must be less than 255 characters.")
            return value
        if name == "description":
            if version == "3" and value is not None and (problem := adf_problem(value)):
                return _Invalid(problem)
            if version == "2" and value is not None and not isinstance(value, str):
                return _Invalid("Operation value must be a string")
            return adf_to_text(value) if value is not None else None
        if name == "labels":
            if not isinstance(value, list):
                return _Invalid("Operation value must be an array")
            for label in value:
                if not isinstance(label, str) or " " in label:
                    return _Invalid(f"The label '{label}' contains spaces which is invalid.")
            return list(dict.fromkeys(value))
        if name == "priority":
            ref = value if isinstance(value, dict) else {}
            for priority_id, priority_name in PRIORITIES:
                if ref.get("id") == priority_id or ref.get("name") == priority_name:
                    return priority_id
            return _Invalid("Specify a valid 'id' or 'name' for Priority")
        if name == "parent":
            ref = value if isinstance(value, dict) else {}
            parent = self.state.issue(str(ref.get("key") or ref.get("id") or ""))
            if parent is None:
                return _Invalid("Could not find issue by id or key.")
            wanted_level = issue_type.hierarchy_level + 1
            if parent.issue_type.hierarchy_level != max(
                wanted_level, 0 if issue_type.subtask else 1
            ):
                return _Invalid("Given parent work item does not belong to appropriate hierarchy.")
            return parent.key
        if name == "timetracking":
            estimate = (value or {}).get("originalEstimate") if isinstance(value, dict) else None
            seconds = duration_seconds(str(estimate)) if estimate is not None else None
            if estimate is not None and seconds is None:
                return _Invalid("Original Estimate is invalid.")
            if estimate is None:
                return {}
            return {
                "originalEstimate": str(estimate),
                "remainingEstimate": str(estimate),
                "originalEstimateSeconds": seconds,
                "remainingEstimateSeconds": seconds,
            }
        if name == EPIC_LINK_FIELD:
            if value is None:
                return None
            epic = self.state.issue(str(value))
            if epic is None or epic.issue_type.name != "Epic":
                return _Invalid(f"The issue '{value}' is not an epic.")
            return epic.key
        if name == EPIC_NAME_FIELD:
            return str(value) if value else _Invalid("Epic Name is required.")
        if name == project.points_field:
            if value is not None and not isinstance(value, int | float):
                return _Invalid("Operation value must be a number")
            return value
        return value


class _Invalid:
    def __init__(self, message: str) -> None:
        self.message = message


def _required_message(name: str, issue_type: IssueTypeSpec) -> str:
    if name == "summary":
        return "You must specify a summary of the issue."
    if name == "parent" and issue_type.subtask:
        return "Issue type is a sub-task but parent issue key or id not specified."
    if name == EPIC_NAME_FIELD:
        return "Epic Name is required."
    if name == "components":
        return "Component/s is required."
    return f"{name} is required."


def _properties(value: Any) -> tuple[dict[str, Any], dict[str, str]]:
    if value is None:
        return {}, {}
    if not isinstance(value, list) or not all(isinstance(p, dict) and "key" in p for p in value):
        return {}, {"properties": "Properties must be a list of {key, value} objects."}
    return {str(p["key"]): p.get("value") for p in value}, {}


def _label_updates(issue: Issue, operations: Any) -> tuple[list[str] | None, dict[str, str]]:
    if operations is None:
        return None, {}
    labels = list(issue.fields.get("labels") or [])
    for operation in operations if isinstance(operations, list) else []:
        if "set" in operation:
            labels = list(operation["set"])
        if "add" in operation and operation["add"] not in labels:
            labels.append(operation["add"])
        if "remove" in operation and operation["remove"] in labels:
            labels.remove(operation["remove"])
    if any(" " in label for label in labels):
        return None, {"labels": "The label contains spaces which is invalid."}
    return labels, {}
