"""Desired Jira issue -> the REST fields and issue property that create or update it.

Pure, like ``sync.jira.mapping`` (which builds the desired state): what the project's
configuration (``JiraProjectConfig``: issue type ids, Epic Name / Epic Link / Story Points
fields, priorities, time tracking) makes of one ``DesiredIssue``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sync.jira.mapping import DesiredIssue, jira_duration
from sync.jira.port import PROPERTY_KEY, IssueWrite, JiraProjectConfig


def issue_write(
    item: DesiredIssue,
    project: JiraProjectConfig,
    source: str,
    parent_key: str | None,
    *,
    creating: bool,
    assignee: Mapping[str, str] | None = None,
    unassign: bool = False,
) -> IssueWrite:
    """The Jira fields for creating or updating ``item`` in ``project``; ``assignee``: the
    user reference (``{"accountId": ...}``) of the item's assignee, ``unassign``: the file
    took the assignee away."""
    description = item.description
    reference = f"Source: {source}:{item.line} — managed by backlog-bot; edit the backlog file."
    description = f"{description}\n\n----\n{reference}" if description else reference
    fields: dict[str, Any] = {
        "summary": item.summary,
        "description": description,
        "labels": list(item.labels),
    }
    if creating:
        type_id = {"epic": project.epic_type_id, "story": project.story_type_id}.get(
            item.kind, project.subtask_type_id
        )
        fields["project"] = {"id": project.project_id}
        fields["issuetype"] = {"id": type_id}
    if item.kind == "epic" and project.epic_name_field and creating:
        fields[project.epic_name_field] = item.summary
    if item.priority and item.priority in project.priorities:
        fields["priority"] = {"id": project.priorities[item.priority]}
    if item.kind == "story" and project.points_field and item.points is not None:
        fields[project.points_field] = item.points
    if item.kind in ("task", "subtask") and project.timetracking and item.estimate_hours:
        fields["timetracking"] = {
            "originalEstimate": jira_duration(item.estimate_hours).replace(" ", "")
        }
    if assignee is not None:
        fields["assignee"] = dict(assignee)
    elif unassign:
        fields["assignee"] = None
    if parent_key:
        if item.kind == "story" and project.epic_mode == "epic-link":
            fields[project.epic_link_field or ""] = parent_key
        else:
            fields["parent"] = {"key": parent_key}
    properties = {
        PROPERTY_KEY: {
            "backlogId": item.backlog_id,
            "hash": item.hash,
            "source": source,
            "line": item.line,
        }
    }
    return IssueWrite(item.backlog_id, fields, properties, item.line)
