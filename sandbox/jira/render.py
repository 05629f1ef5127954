"""JSON shapes of the sandbox's entities, as Jira Cloud's REST description defines them.

``version`` is the REST API version of the request ("2" or "3"): v3 renders rich text
(description, comment bodies) as Atlassian Document Format, v2 as plain strings.
"""

from __future__ import annotations

import uuid
from typing import Any

from sandbox.jira.state import (
    FIELD_DEFS,
    LINK_TYPES,
    PRIORITIES,
    SPRINT_FIELD,
    STATUSES,
    Board,
    Issue,
    IssueTypeSpec,
    Link,
    ProjectSpec,
    SiteState,
    Sprint,
    User,
)


def adf(text: str) -> dict[str, Any]:
    """Plain text as an Atlassian Document: one paragraph per line block."""
    paragraphs = [block for block in text.split("\n\n") if block.strip()] or [""]
    content = []
    for block in paragraphs:
        inner = [{"type": "text", "text": block}] if block else []
        content.append({"type": "paragraph", "content": inner})
    return {"type": "doc", "version": 1, "content": content}


def adf_to_text(value: Any) -> str:
    """Text of an ADF document (or a plain string) for storage."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        return ""
    if value.get("type") == "text":
        return str(value.get("text", ""))
    parts = [adf_to_text(child) for child in value.get("content", [])]
    joiner = "\n\n" if value.get("type") == "doc" else ""
    return joiner.join(parts)


def rich_text(text: str | None, version: str) -> Any:
    if text is None:
        return None
    return adf(text) if version == "3" else text


def user_json(base: str, user: User, version: str = "2") -> dict[str, Any]:
    return {
        "self": f"{base}/rest/api/{version}/user?accountId={user.account_id}",
        "accountId": user.account_id,
        "accountType": "atlassian",
        "emailAddress": user.email,
        "displayName": user.display_name,
        "active": True,
        "timeZone": "UTC",
        "avatarUrls": {"48x48": f"{base}/avatar/{user.account_id}.png"},
    }


def status_json(base: str, name: str) -> dict[str, Any]:
    spec = STATUSES[name]
    key, category_id, category_name = spec["category"]
    return {
        "self": f"{base}/rest/api/2/status/{spec['id']}",
        "id": spec["id"],
        "name": name,
        "description": "",
        "iconUrl": f"{base}/images/icons/statuses/generic.png",
        "statusCategory": {
            "self": f"{base}/rest/api/2/statuscategory/{category_id}",
            "id": category_id,
            "key": key,
            "colorName": "blue-gray",
            "name": category_name,
        },
    }


def priority_json(base: str, priority_id: str) -> dict[str, Any]:
    name = dict(PRIORITIES)[priority_id]
    return {
        "self": f"{base}/rest/api/2/priority/{priority_id}",
        "iconUrl": f"{base}/images/icons/priorities/{name.lower()}.svg",
        "name": name,
        "id": priority_id,
    }


def issue_type_json(base: str, project: ProjectSpec, spec: IssueTypeSpec) -> dict[str, Any]:
    data: dict[str, Any] = {
        "self": f"{base}/rest/api/2/issuetype/{spec.id}",
        "id": spec.id,
        "description": f"{spec.name} issue type",
        "iconUrl": f"{base}/images/icons/issuetypes/{spec.name.lower()}.svg",
        "name": spec.name,
        "subtask": spec.subtask,
        "hierarchyLevel": spec.hierarchy_level,
    }
    if project.flavour == "team":
        data["entityId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{project.key}/{spec.id}"))
        data["scope"] = {"type": "PROJECT", "project": {"id": project.id}}
    return data


def project_json(base: str, project: ProjectSpec, *, full: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "self": f"{base}/rest/api/2/project/{project.id}",
        "id": project.id,
        "key": project.key,
        "name": project.name,
        "projectTypeKey": "software",
        "simplified": project.flavour == "team",
        "avatarUrls": {"48x48": f"{base}/secure/projectavatar?pid={project.id}"},
    }
    if full:
        data["style"] = "next-gen" if project.flavour == "team" else "classic"
        data["isPrivate"] = False
        data["issueTypes"] = [issue_type_json(base, project, t) for t in project.issue_types]
    return data


def field_json(field_id: str) -> dict[str, Any]:
    spec = FIELD_DEFS[field_id]
    custom = "custom" in spec
    schema: dict[str, Any] = {"type": spec["type"]}
    if "items" in spec:
        schema["items"] = spec["items"]
    if custom:
        schema["custom"] = spec["custom"]
        schema["customId"] = spec["customId"]
    else:
        schema["system"] = spec.get("system", field_id)
    clause_names = [field_id] if not custom else [f"cf[{spec['customId']}]", spec["name"]]
    return {
        "id": field_id,
        "key": field_id,
        "name": spec["name"],
        "custom": custom,
        "orderable": field_id not in ("status", "created", "updated", "subtasks"),
        "navigable": True,
        "searchable": True,
        "clauseNames": clause_names,
        "schema": schema,
    }


def link_type_json(base: str, type_id: str) -> dict[str, Any]:
    row = next(row for row in LINK_TYPES if row[0] == type_id)
    return {
        "id": row[0],
        "name": row[1],
        "inward": row[2],
        "outward": row[3],
        "self": f"{base}/rest/api/2/issueLinkType/{row[0]}",
    }


def _issue_ref(base: str, issue: Issue) -> dict[str, Any]:
    return {
        "id": str(issue.id),
        "key": issue.key,
        "self": f"{base}/rest/api/2/issue/{issue.id}",
        "fields": {
            "summary": issue.fields.get("summary", ""),
            "status": status_json(base, issue.status),
            "issuetype": issue_type_json(base, issue.project, issue.issue_type),
        },
    }


def link_json(base: str, state: SiteState, link: Link, viewer_key: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(link.id),
        "self": f"{base}/rest/api/2/issueLink/{link.id}",
        "type": link_type_json(base, link.type_id),
    }
    if link.outward_key == viewer_key:
        other = state.issue(link.inward_key)
        data["inwardIssue"] = _issue_ref(base, other) if other else {"key": link.inward_key}
    else:
        other = state.issue(link.outward_key)
        data["outwardIssue"] = _issue_ref(base, other) if other else {"key": link.outward_key}
    return data


def sprint_json(base: str, sprint: Sprint) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": sprint.id,
        "self": f"{base}/rest/agile/1.0/sprint/{sprint.id}",
        "state": sprint.state,
        "name": sprint.name,
        "originBoardId": sprint.board_id,
        "goal": sprint.goal,
    }
    if sprint.start_date:
        data["startDate"] = sprint.start_date
    if sprint.end_date:
        data["endDate"] = sprint.end_date
    return data


def board_json(base: str, state: SiteState, board: Board) -> dict[str, Any]:
    project = state.projects[board.project_key]
    return {
        "id": board.id,
        "self": f"{base}/rest/agile/1.0/board/{board.id}",
        "name": board.name,
        "type": board.type,
        "location": {
            "projectId": int(project.id),
            "projectKey": project.key,
            "projectName": project.name,
            "projectTypeKey": "software",
            "displayName": f"{project.name} ({project.key})",
            "name": f"{project.name} ({project.key})",
        },
    }


def all_issue_fields(base: str, state: SiteState, issue: Issue, version: str) -> dict[str, Any]:
    """Every field of ``issue`` (``fields=*all``)."""
    stored = issue.fields
    fields: dict[str, Any] = {
        "summary": stored.get("summary", ""),
        "description": rich_text(stored.get("description"), version),
        "labels": list(stored.get("labels") or []),
        "priority": priority_json(base, stored.get("priority", "3")),
        "issuetype": issue_type_json(base, issue.project, issue.issue_type),
        "project": project_json(base, issue.project, full=False),
        "status": status_json(base, issue.status),
        "assignee": (
            user_json(base, state.users[issue.assignee]) if issue.assignee in state.users else None
        ),
        "created": issue.created,
        "updated": issue.updated,
        "issuelinks": [link_json(base, state, ln, issue.key) for ln in state.links_of(issue.key)],
        "subtasks": [_issue_ref(base, child) for child in state.children_of(issue.key)],
        "timetracking": dict(stored.get("timetracking") or {}),
    }
    parent = state.issue(stored["parent"]) if stored.get("parent") else None
    if parent is not None:
        fields["parent"] = _issue_ref(base, parent)
    for field_id in state.field_ids():
        if field_id.startswith("customfield_"):
            fields[field_id] = stored.get(field_id)
    sprint = state.sprints.get(issue.sprint_id) if issue.sprint_id else None
    fields[SPRINT_FIELD] = (
        [{**sprint_json(base, sprint), "boardId": sprint.board_id}] if sprint else None
    )
    return fields


def select_fields(available: dict[str, Any], requested: list[str] | None) -> dict[str, Any]:
    """Apply Jira's ``fields`` parameter: ``*all``, ``*navigable``, ids, ``-id`` exclusions."""
    if requested is None or any(name in ("*all", "*navigable") for name in requested):
        chosen = dict(available)
    else:
        chosen = {name: available[name] for name in requested if name in available}
    for name in requested or []:
        if name.startswith("-"):
            chosen.pop(name[1:], None)
    return chosen


def issue_json(
    base: str,
    state: SiteState,
    issue: Issue,
    version: str,
    *,
    fields: list[str] | None = None,
    properties: list[str] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog",
        "id": str(issue.id),
        "self": f"{base}/rest/api/{version}/issue/{issue.id}",
        "key": issue.key,
    }
    if fields != ["id"]:
        data["fields"] = select_fields(all_issue_fields(base, state, issue, version), fields)
    if properties:
        wanted = set(properties)
        data["properties"] = {
            key: value
            for key, value in issue.properties.items()
            if key in wanted or "*all" in wanted
        }
    return data
