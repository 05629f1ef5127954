"""The GitHub plan: desired state (``github_mapping``) against what was pushed before
(``SyncLink`` rows, read into ``LinkRecord``s). Pure: no I/O.

What was pushed is known from the links: each issue link keeps the hash and a snapshot of
the content last written, its parent, its blockers, its project item and the field values
set on it. A change in one story changes only that story's steps.

An issue shows the story's points and priority (body lines, the ``priority: …`` label) and its
sprint (the milestone), which the board holds as well. When a teammate changes one on the
board and ``pull --write`` brings it into the file, the board needs nothing but the issue
still shows the old value: its update is planned once, noted as following the board (the
link keeps the board values its pushed content shows, ``board_in_issue``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sync.github.mapping import (
    FIELD_POINTS,
    FIELD_PRIORITY,
    FIELD_SPRINT,
    GitHubDesired,
    IssueSpec,
)
from sync.link_record import LinkRecord
from sync.plan import ISSUE_KINDS, Action, Change, Plan, content_hash

TARGET = "github"
# the board fields an issue's content shows too: body lines, the priority label, the milestone
SHOWN_IN_ISSUE = (FIELD_POINTS, FIELD_PRIORITY, FIELD_SPRINT)


Links = Mapping[tuple[str, str], LinkRecord]


def issue_numbers(links: Links) -> dict[str, int]:
    return {
        backlog_id: link.number
        for (kind, backlog_id), link in links.items()
        if kind in ISSUE_KINDS and link.number is not None
    }


def issue_link(links: Links, backlog_id: str) -> LinkRecord | None:
    """The link of the issue made for ``backlog_id``, whatever its kind."""
    return next((links[(k, backlog_id)] for k in ISSUE_KINDS if (k, backlog_id) in links), None)


def issue_content(
    spec: IssueSpec,
    desired: GitHubDesired,
    numbers: Mapping[str, int],
    milestone_number: int | None,
    jira: Mapping[str, tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The REST fields of an issue; ``milestone`` is the number (None if not yet created)."""
    key, url = (jira or {}).get(spec.backlog_id, (None, None))
    body = spec.body(
        numbers,
        blocked_by_section=desired.options.dependencies_as == "section",
        jira_key=key,
        jira_url=url,
    )
    content: dict[str, Any] = {
        "title": spec.title,
        "body": body,
        "labels": sorted(spec.labels),
        "milestone": milestone_number,
    }
    if spec.assignees:  # only when set: the content of issues without any stays as it was
        content["assignees"] = list(spec.assignees)
    return content


def snapshot(content: Mapping[str, Any]) -> dict[str, Any]:
    """What a link remembers of pushed content: enough to show a readable diff."""
    pushed = {
        "title": content["title"],
        "labels": list(content["labels"]),
        "milestone": content["milestone"],
        "body": content_hash({"body": content["body"]}),
    }
    if "assignees" in content:
        pushed["assignees"] = list(content["assignees"])
    return pushed


def board_in_issue(spec: IssueSpec) -> dict[str, Any]:
    """The board values the issue's content shows (what a link keeps beside ``snapshot``)."""
    return {
        name: spec.project_fields[name] for name in SHOWN_IN_ISSUE if name in spec.project_fields
    }


def board_followed(spec: IssueSpec, link: LinkRecord) -> dict[str, tuple[Any, Any]]:
    """The board values (``Priority``: (old, new)) the issue's last pushed content shows
    differently while the board already holds the new one: changed on the board (and pulled),
    the issue follows."""
    shown = link.extra.get("board_in_issue")
    held = link.extra.get("fields_pushed") or {}
    if not isinstance(shown, dict):
        return {}  # pushed before the link kept it: nothing to say
    return {
        name: (shown[name], value)
        for name, value in board_in_issue(spec).items()
        if name in shown and shown[name] != value and name in held and held[name] == value
    }


def milestone_number(links: Links, sprint_id: str | None) -> int | None:
    link = links.get(("milestone", sprint_id)) if sprint_id else None
    return link.number if link else None


def milestone_title(links: Links, number: int | None) -> str | None:
    """The title milestone ``number`` was last pushed with (None for no milestone)."""
    if number is None:
        return None
    for (kind, _sprint), link in links.items():
        if kind == "milestone" and link.number == number:
            title = (link.extra.get("content") or {}).get("title")
            return str(title) if title is not None else None
    return None


def project_enabled(desired: GitHubDesired, project_title: str | None) -> bool:
    return bool(project_title) and bool(desired.fields)


def fields_hash(desired: GitHubDesired) -> str:
    return content_hash({"fields": [repr(spec) for spec in desired.fields]})


def plan_github(
    desired: GitHubDesired,
    links: Links,
    *,
    project_title: str | None = None,
    jira: Mapping[str, tuple[str, str]] | None = None,
    prune: bool = False,
) -> Plan:
    """Every step that would bring GitHub to the desired state, in the order to run them.

    Issues whose element left the backlog are reported as orphans, or closed (as "not
    planned") with ``prune``; a closed orphan is not reported again.
    """
    changes: list[Change] = []
    for label in desired.labels:
        content = {"color": label.color, "description": label.description}
        changes.append(_simple(links, "label", label.name, content, f"label {label.name}"))
    for ms in desired.milestones:
        changes.append(
            _simple(links, "milestone", ms.backlog_id, ms.content(), ms.title, line=ms.line)
        )
    numbers = issue_numbers(links)
    for spec in desired.issues:
        changes.append(_issue_change(spec, desired, links, numbers, jira))
    by_id = {spec.backlog_id: spec for spec in desired.issues}
    for spec in desired.issues:
        link = links.get((spec.kind, spec.backlog_id))
        if spec.parent and (link is None or link.extra.get("parent") != spec.parent):
            summary = f"{spec.backlog_id} becomes a sub-issue of {spec.parent}"
            changes.append(
                Change(
                    "link",
                    TARGET,
                    "sub-issue",
                    spec.backlog_id,
                    summary,
                    fields={"parent": spec.parent},
                    line=spec.line,
                )
            )
        if desired.options.dependencies_as == "api":
            have = set((link.extra.get("blocked_by") or []) if link else [])
            want = {ref for ref in spec.blocked_by if ref in by_id}
            if have != want:
                changes.append(
                    Change(
                        "link",
                        TARGET,
                        "dependency",
                        spec.backlog_id,
                        f"{spec.backlog_id} blocked by {', '.join(sorted(want)) or 'nothing'}",
                        fields={"add": sorted(want - have), "remove": sorted(have - want)},
                        line=spec.line,
                    )
                )
    if project_enabled(desired, project_title):
        changes.extend(_project_changes(desired, links, str(project_title)))
    for (kind, backlog_id), link in links.items():
        if kind in ISSUE_KINDS and backlog_id not in by_id and not link.extra.get("pruned"):
            summary = f"{link.remote_key or backlog_id} is no longer in the backlog"
            action: Action = "close" if prune else "orphan"
            changes.append(Change(action, TARGET, kind, backlog_id, summary, link.remote_key))
    return Plan(TARGET, tuple(changes))


def _simple(
    links: Links, kind: str, backlog_id: str, content: dict[str, Any], summary: str, line: int = 0
) -> Change:
    link = links.get((kind, backlog_id))
    digest = content_hash(content)
    if link is None:
        return Change("create", TARGET, kind, backlog_id, summary, fields=content, line=line)
    if link.content_hash != digest:
        old = link.extra.get("content") or {}
        diff = {k: (old.get(k), v) for k, v in content.items() if old.get(k) != v}
        return Change(
            "update", TARGET, kind, backlog_id, summary, link.remote_key, content, diff, line
        )
    return Change("unchanged", TARGET, kind, backlog_id, summary, link.remote_key, line=line)


def _issue_change(
    spec: IssueSpec,
    desired: GitHubDesired,
    links: Links,
    numbers: Mapping[str, int],
    jira: Mapping[str, tuple[str, str]] | None,
) -> Change:
    content = issue_content(spec, desired, numbers, milestone_number(links, spec.milestone), jira)
    link = links.get((spec.kind, spec.backlog_id))
    summary = spec.title
    if link is None:
        fields = {**content, "milestone": spec.milestone, "body": f"{len(content['body'])} chars"}
        return Change(
            "create", TARGET, spec.kind, spec.backlog_id, summary, None, fields, {}, spec.line
        )
    if link.content_hash == content_hash(content):
        return Change(
            "unchanged",
            TARGET,
            spec.kind,
            spec.backlog_id,
            summary,
            link.remote_key,
            line=spec.line,
        )
    old = link.extra.get("pushed") or {}
    new = snapshot(content)
    diff = {name: (old.get(name), value) for name, value in new.items() if old.get(name) != value}
    if old.get("assignees") and "assignees" not in new:  # the file took them away
        diff["assignees"] = (old["assignees"], [])
    # the milestone's number is what apply writes; its title (the one the issue left, the one
    # the backlog wants, created by this plan if need be) is what people recognise
    titles: dict[str, tuple[str | None, str | None]] = {}
    if "milestone" in diff:
        titles["milestone"] = (
            milestone_title(links, diff["milestone"][0]),
            next((ms.title for ms in desired.milestones if ms.backlog_id == spec.milestone), None),
        )
    followed = board_followed(spec, link)
    note = "following the board: " + ", ".join(
        f"{name} {_shown(was)} -> {_shown(now)}" for name, (was, now) in followed.items()
    )
    return Change(
        "update",
        TARGET,
        spec.kind,
        spec.backlog_id,
        summary,
        link.remote_key,
        {},
        diff,
        spec.line,
        note if followed else "",
        titles,
    )


def _shown(value: Any) -> str:
    if value is None:
        return "(none)"
    text = str(value)
    return repr(text) if " " in text else text


def project_value_changes(spec: IssueSpec, link: LinkRecord | None) -> dict[str, tuple[Any, Any]]:
    pushed = (link.extra.get("fields_pushed") or {}) if link else {}
    return {
        name: (pushed.get(name), value)
        for name, value in spec.project_fields.items()
        if (name in pushed and pushed[name] != value) or (name not in pushed and value is not None)
    }


def _project_changes(desired: GitHubDesired, links: Links, title: str) -> list[Change]:
    changes: list[Change] = []
    project = links.get(("project", "project"))
    if project is None or project.extra.get("spec_hash") != fields_hash(desired):
        names = ", ".join(spec.name for spec in desired.fields)
        changes.append(
            Change("create", TARGET, "project", "project", f"project {title!r} with {names}")
        )
    for spec in desired.issues:
        if not spec.project_fields:
            continue
        link = links.get((spec.kind, spec.backlog_id))
        if link is None or not link.extra.get("item_id"):
            summary = f"add {spec.backlog_id} to project {title!r}"
            changes.append(
                Change("link", TARGET, "project-item", spec.backlog_id, summary, line=spec.line)
            )
        diff = project_value_changes(spec, link)
        if diff:
            changes.append(
                Change(
                    "update",
                    TARGET,
                    "project-fields",
                    spec.backlog_id,
                    f"{spec.backlog_id} board fields",
                    link.remote_key if link else None,
                    diff=diff,
                    line=spec.line,
                )
            )
    return changes
