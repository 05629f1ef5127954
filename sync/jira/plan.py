"""The Jira planner: a pure diff of the desired state against what we recorded and what a
batched search found in Jira. Produces a ``sync.plan.Plan``; nothing here does I/O.

Identity of an issue: our ``SyncLink`` row, else the ``backlog-bot`` issue property / the
``backlog-id-…`` label found by the search (a create whose record was lost in a crash is
*adopted*, not created again). Whether to update: the hash of what we last pushed (in the
row, else in the issue property) against the hash of the desired content.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sync.jira.mapping import DesiredIssue, DesiredState
from sync.jira.port import JiraIssue, JiraProjectConfig, RemoteSprint, id_label
from sync.link_record import LinkRecord
from sync.plan import ISSUE_KINDS, Action, Change, Plan

TARGET = "jira"


@dataclass(frozen=True)
class JiraPlan:
    plan: Plan
    desired: DesiredState
    project: JiraProjectConfig
    keys: Mapping[str, str] = field(default_factory=dict)
    adopt: tuple[LinkRecord, ...] = ()
    sprint_ids: Mapping[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def index_remote(remote: Sequence[JiraIssue]) -> dict[str, JiraIssue]:
    """Remote issues by backlog id (from the issue property) and by id label."""
    found: dict[str, JiraIssue] = {}
    for issue in remote:
        if issue.backlog_id:
            found.setdefault(issue.backlog_id, issue)
    by_label = {label: issue for issue in remote for label in issue.labels}
    return found | {f"label:{label}": issue for label, issue in by_label.items()}


def plan_jira(
    desired: DesiredState,
    project: JiraProjectConfig,
    links: Mapping[tuple[str, str], LinkRecord],
    remote: Sequence[JiraIssue],
    remote_sprints: Sequence[RemoteSprint] = (),
    *,
    prune: bool = False,
) -> JiraPlan:
    index = index_remote(remote)
    changes: list[Change] = []
    keys: dict[str, str] = {}
    adopt: list[LinkRecord] = []
    created: set[str] = set()
    warnings = list(desired.warnings) + _missing_fields(desired, project)

    for item in desired.issues:
        rec = links.get((item.kind, item.backlog_id))
        found = index.get(item.backlog_id) or index.get(f"label:{id_label(item.backlog_id)}")
        if found is None:
            note = f" (was {rec.remote_key}, gone from Jira)" if rec and rec.remote_key else ""
            changes.append(
                _change("create", item, summary=item.summary + note, fields=item.content())
            )
            created.add(item.backlog_id)
            continue
        keys[item.backlog_id] = found.key
        last_hash = rec.content_hash if rec else found.content_hash
        if rec is None:
            adopt.append(
                LinkRecord(
                    item.kind,
                    item.backlog_id,
                    found.id,
                    found.key,
                    project.issue_url(found.key),
                    found.content_hash,
                )
            )
        if last_hash != item.hash:
            previous = dict(rec.extra.get("content") or {}) if rec else {}
            changes.append(
                _change(
                    "update",
                    item,
                    remote_key=found.key,
                    fields=item.content(),
                    diff=_diff(previous, item.content()),
                )
            )
        else:
            changes.append(_change("unchanged", item, remote_key=found.key))

    wanted = {item.backlog_id for item in desired.issues}
    seen_orphans: set[str] = set()
    for (kind, backlog_id), rec in sorted(links.items()):
        if kind in ISSUE_KINDS and backlog_id not in wanted:
            found = index.get(backlog_id)
            seen_orphans.add(backlog_id)
            changes.extend(
                _orphan(kind, backlog_id, found.key if found else rec.remote_key, found, prune)
            )
    matched = set(keys.values())
    for issue in remote:
        if issue.key in matched or not issue.backlog_id:
            continue
        if issue.backlog_id not in wanted and issue.backlog_id not in seen_orphans:
            seen_orphans.add(issue.backlog_id)
            kind = "issue"
            changes.extend(_orphan(kind, issue.backlog_id, issue.key, issue, prune))

    changes.extend(_plan_links(desired, links, index, keys, adopt, prune))
    sprint_changes, sprint_ids = _plan_sprints(
        desired, project, links, remote_sprints, created, warnings
    )
    changes.extend(sprint_changes)
    return JiraPlan(
        Plan(TARGET, tuple(changes)),
        desired,
        project,
        keys,
        tuple(adopt),
        sprint_ids,
        tuple(warnings),
    )


def _plan_links(
    desired: DesiredState,
    links: Mapping[tuple[str, str], LinkRecord],
    index: Mapping[str, JiraIssue],
    keys: Mapping[str, str],
    adopt: list[LinkRecord],
    prune: bool,
) -> list[Change]:
    changes: list[Change] = []
    wanted = set()
    for link in desired.links:
        wanted.add(link.backlog_id)
        blocker = index.get(link.blocker_id)
        blocked_key = keys.get(link.blocked_id)
        summary = f"{link.blocker_id} blocks {link.blocked_id}"
        if blocker is not None and blocked_key is not None and blocked_key in blocker.blocks:
            if ("link", link.backlog_id) not in links:
                adopt.append(
                    LinkRecord(
                        "link",
                        link.backlog_id,
                        blocker.blocks[blocked_key],
                        f"{blocker.key}>{blocked_key}",
                    )
                )
            changes.append(
                Change("unchanged", TARGET, "link", link.backlog_id, summary, line=link.line)
            )
            continue
        fields = {"blocker": link.blocker_id, "blocked": link.blocked_id}
        changes.append(
            Change("link", TARGET, "link", link.backlog_id, summary, fields=fields, line=link.line)
        )
    issues = {item.backlog_id for item in desired.issues}
    for (kind, backlog_id), rec in sorted(links.items()):
        if kind != "link" or backlog_id in wanted:
            continue
        blocker_id, _, blocked_id = backlog_id.partition(">")
        if blocker_id in issues and blocked_id in issues:
            # both stories are still there: the dependency was taken out of the file (a
            # change made on Jira reaches the desired state as Jira has it, ``sync.twoway``)
            blocker, blocked_key = index.get(blocker_id), keys.get(blocked_id)
            link_id = blocker.blocks.get(blocked_key or "") if blocker is not None else None
            if link_id is not None:  # else gone from Jira already: nothing to remove
                changes.append(
                    Change(
                        "delete",
                        TARGET,
                        "link",
                        backlog_id,
                        f"{blocker_id} no longer blocks {blocked_id}",
                        remote_key=rec.remote_id,
                        fields={"link_id": link_id},
                    )
                )
            continue
        action: Action = "delete" if prune else "orphan"
        summary = backlog_id.replace(">", " blocks ") + " (no longer in the backlog)"
        changes.append(
            Change(action, TARGET, "link", backlog_id, summary, remote_key=rec.remote_id)
        )
    return changes


def _plan_sprints(
    desired: DesiredState,
    project: JiraProjectConfig,
    links: Mapping[tuple[str, str], LinkRecord],
    remote_sprints: Sequence[RemoteSprint],
    created: set[str],
    warnings: list[str],
) -> tuple[list[Change], dict[str, int]]:
    changes: list[Change] = []
    ids: dict[str, int] = {}
    if desired.sprints and project.board_id is None:
        warnings.append(
            f"project {project.project_key} has no scrum board: sprints skipped (set JIRA_BOARD)"
        )
        return changes, ids
    by_name = {sprint.name: sprint for sprint in remote_sprints}
    for sprint in desired.sprints:
        rec = links.get(("sprint", sprint.backlog_id))
        remote = by_name.get(sprint.name)
        sprint_id = int(rec.remote_id) if rec else (remote.id if remote else None)
        content = sprint.content()
        if sprint_id is None:
            changes.append(
                Change(
                    "create",
                    TARGET,
                    "sprint",
                    sprint.backlog_id,
                    sprint.name,
                    fields=content,
                    line=sprint.line,
                )
            )
            moved = list(sprint.story_ids)
        else:
            ids[sprint.backlog_id] = sprint_id
            last_hash = rec.content_hash if rec else None
            if last_hash != sprint.hash:
                previous = dict(rec.extra.get("content") or {}) if rec else {}
                changes.append(
                    Change(
                        "update",
                        TARGET,
                        "sprint",
                        sprint.backlog_id,
                        sprint.name,
                        str(sprint_id),
                        content,
                        _diff(previous, content),
                        sprint.line,
                    )
                )
                moved = list(sprint.story_ids)
            else:
                changes.append(
                    Change(
                        "unchanged",
                        TARGET,
                        "sprint",
                        sprint.backlog_id,
                        sprint.name,
                        str(sprint_id),
                        line=sprint.line,
                    )
                )
                moved = [story_id for story_id in sprint.story_ids if story_id in created]
        if moved:
            summary = f"{len(moved)} stories into {sprint.name}"
            changes.append(
                Change(
                    "move",
                    TARGET,
                    "sprint",
                    sprint.backlog_id,
                    summary,
                    fields={"stories": moved},
                    line=sprint.line,
                )
            )
    return changes, ids


def _orphan(
    kind: str, backlog_id: str, key: str | None, found: JiraIssue | None, prune: bool
) -> list[Change]:
    if found is None:
        return [
            Change(
                "orphan",
                TARGET,
                kind,
                backlog_id,
                "no longer in the backlog; gone from Jira too",
                key,
            )
        ]
    if found.status_category == "done":
        return (
            []
            if prune
            else [
                Change(
                    "orphan",
                    TARGET,
                    kind,
                    backlog_id,
                    "no longer in the backlog (already done)",
                    key,
                )
            ]
        )
    action: Action = "close" if prune else "orphan"
    note = "no longer in the backlog" + ("" if prune else "; close it with --prune")
    return [Change(action, TARGET, kind, backlog_id, note, key)]


def _missing_fields(desired: DesiredState, project: JiraProjectConfig) -> list[str]:
    """Backlog data the project has no field for: synced without it, said once."""
    notes = []
    key = project.project_key
    if project.points_field is None and any(i.points is not None for i in desired.issues):
        notes.append(
            f"project {key}: no 'Story Points' or 'Story point estimate' field on the Story "
            "create screen; story points are not synced (add the field to the screen)"
        )
    if not project.timetracking and any(i.estimate_hours for i in desired.issues):
        notes.append(
            f"project {key}: time tracking is off on the {project.subtask_type_name} screen; "
            "task hours are not synced as original estimates (enable time tracking)"
        )
    return notes


def _change(action: Any, item: DesiredIssue, **kwargs: Any) -> Change:
    kwargs.setdefault("summary", item.summary)
    return Change(action, TARGET, item.kind, item.backlog_id, line=item.line, **kwargs)


def _diff(previous: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    if not previous:
        return {"content": ("(not recorded)", "changed")}
    diff = {
        name: (previous.get(name), value)
        for name, value in current.items()
        if previous.get(name) != value
    }
    # a key the content holds only when set (the assignee): taken away is a change too
    diff.update({name: (previous[name], None) for name in previous.keys() - current.keys()})
    return diff
