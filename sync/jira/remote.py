"""Parsing Jira's JSON answers into the port's plain data (pure; no HTTP, no ``jira``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from backlog.errors import ConfigurationError
from sync.jira.port import (
    ID_LABEL_PREFIX,
    PROPERTY_KEY,
    CreateResult,
    IssueWrite,
    JiraIssue,
    JiraProjectConfig,
    RemoteSprint,
)


def issue_type(
    types: list[dict[str, Any]], project: str, wanted: str, match: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    found = next((t for t in types if match(t)), None)
    if found is None:
        available = ", ".join(sorted(t.get("name", "?") for t in types)) or "none"
        raise ConfigurationError(
            f"jira: project {project} has no '{wanted}' issue type (it has: {available}); "
            f"enable it in the project's issue type settings"
        )
    return found


def bulk_results(writes: Sequence[IssueWrite], data: dict[str, Any]) -> list[CreateResult]:
    failed = {
        int(error.get("failedElementNumber", -1)): error.get("elementErrors") or {}
        for error in data.get("errors") or []
    }
    created = iter(data.get("issues") or [])
    results = []
    for number, write in enumerate(writes):
        if number in failed:
            element = failed[number]
            results.append(
                CreateResult(
                    write.backlog_id,
                    errors=dict(element.get("errors") or {}),
                    messages=tuple(element.get("errorMessages") or ()),
                )
            )
            continue
        issue = next(created, None)
        if issue is None:
            results.append(CreateResult(write.backlog_id, messages=("Jira returned no issue",)))
        else:
            results.append(CreateResult(write.backlog_id, key=issue["key"], id=str(issue["id"])))
    return results


def remote_issue(raw: dict[str, Any], config: JiraProjectConfig) -> JiraIssue:
    fields = raw.get("fields") or {}
    labels = tuple(fields.get("labels") or ())
    prop = (raw.get("properties") or {}).get(PROPERTY_KEY) or {}
    backlog_id = prop.get("backlogId") if isinstance(prop, dict) else None
    if backlog_id is None:
        backlog_id = next(
            (
                label[len(ID_LABEL_PREFIX) :]
                for label in labels
                if label.startswith(ID_LABEL_PREFIX)
            ),
            None,
        )
    parent = (fields.get("parent") or {}).get("key")
    if parent is None and config.epic_link_field:
        parent = fields.get(config.epic_link_field)
    status = fields.get("status") or {}
    assignee = fields.get("assignee") or {}
    sprints = fields.get(config.sprint_field) if config.sprint_field else None
    sprint = next((s for s in sprints or [] if s.get("state") != "closed"), None)
    blocks: dict[str, str] = {}
    blocked_by: dict[str, str] = {}
    for link in fields.get("issuelinks") or []:
        if (link.get("type") or {}).get("name") != config.blocks_link_type:
            continue
        if "outwardIssue" in link:  # this issue blocks the other one
            blocks[link["outwardIssue"]["key"]] = str(link["id"])
        elif "inwardIssue" in link:  # the other one blocks this issue
            blocked_by[link["inwardIssue"]["key"]] = str(link["id"])
    points = fields.get(config.points_field) if config.points_field else None
    return JiraIssue(
        id=str(raw["id"]),
        key=raw["key"],
        issue_type=(fields.get("issuetype") or {}).get("name", ""),
        labels=labels,
        backlog_id=backlog_id,
        content_hash=prop.get("hash") if isinstance(prop, dict) else None,
        parent_key=parent,
        status=status.get("name"),
        status_category=(status.get("statusCategory") or {}).get("key"),
        assignee=assignee.get("displayName") or assignee.get("accountId"),
        points=float(points) if isinstance(points, int | float) else None,
        sprint_id=int(sprint["id"]) if sprint else None,
        sprint_name=sprint.get("name") if sprint else None,
        plan_sprint=(sprint or (sprints or [{}])[-1]).get("name"),
        blocks=blocks,
        blocked_by=blocked_by,
        updated=fields.get("updated"),
        done_at=_moved_to_status(raw, status.get("name"))
        if (status.get("statusCategory") or {}).get("key") == "done"
        else None,
        sprint_since=_last_change(raw, "Sprint") if sprint else None,
        summary=fields.get("summary"),
        description=fields.get("description"),
        priority=(fields.get("priority") or {}).get("name"),
        changed_by=_authors(raw),
    )


def _authors(raw: dict[str, Any]) -> dict[str, str]:
    """Per changed field (its ``fieldId`` and its name), who changed it last."""
    authors: dict[str, str] = {}
    for history in _histories(raw):
        author = history.get("author") or {}
        who = author.get("displayName") or author.get("name") or author.get("accountId")
        if not who:
            continue
        for item in history.get("items") or []:
            for key in (item.get("fieldId"), item.get("field")):
                if key:
                    authors[str(key)] = str(who)
    return authors


def _histories(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """The changelog's histories (``expand=changelog``), oldest first."""
    histories = list(((raw.get("changelog") or {}).get("histories")) or [])
    return sorted(histories, key=lambda h: str(h.get("created") or ""))


def _moved_to_status(raw: dict[str, Any], status: str | None) -> str | None:
    """When the issue last moved into ``status`` (its current one), per the changelog."""
    moved = None
    for history in _histories(raw):
        for item in history.get("items") or []:
            if item.get("field") == "status" and item.get("toString") == status:
                moved = history.get("created")
    return str(moved) if moved else None


def _last_change(raw: dict[str, Any], field_name: str) -> str | None:
    """When ``field_name`` last changed, per the changelog."""
    changed = None
    for history in _histories(raw):
        if any(item.get("field") == field_name for item in history.get("items") or []):
            changed = history.get("created")
    return str(changed) if changed else None


def remote_sprint(raw: dict[str, Any]) -> RemoteSprint:
    return RemoteSprint(
        id=int(raw["id"]),
        name=str(raw.get("name", "")),
        state=str(raw.get("state", "future")),
        goal=str(raw.get("goal") or ""),
        start=raw.get("startDate"),
        end=raw.get("endDate"),
    )
