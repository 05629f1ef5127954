"""Webhook handlers of the Slack area: work added to a running sprint -> capacity check now.

Registered on the service's ``HandlerRegistry`` (the worker runs them after a delivery is
stored): a Jira ``jira:issue_updated`` whose changelog changes the ``Sprint`` field, a GitHub
``issues`` ``milestoned``/``demilestoned`` (milestones are sprints on GitHub) or a
``projects_v2_item`` ``edited`` whose Sprint/Iteration field changed. The handler records
the issue's new sprint on its ``sync_link`` row (the next pull sync writes the same value)
and runs the capacity check at once, so an over-commitment is announced within seconds, once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

from bot.digests.context import SlackContext
from bot.digests.sprint_state import sprint_number_of
from bot.slack.announce import check_capacity
from bot.slack.post import SlackPoster
from sync.state.inbox import DONE, IGNORED
from sync.state.tables import SyncLink, utcnow

if TYPE_CHECKING:
    from bot.service.inbox import Delivery
    from bot.service.worker import HandlerRegistry

log = logging.getLogger(__name__)
SPRINT_FIELDS = ("sprint", "iteration", "milestone")


@dataclass(frozen=True)
class SprintChange:
    target: str
    keys: tuple[str, ...]  # remote keys / ids / urls that may identify the issue
    sprint: str | None
    actor: str | None
    sprint_refs: tuple[str, ...] = ()  # ids or names that may identify a synced sprint


def jira_sprint_change(payload: dict[str, Any]) -> SprintChange | None:
    items = (payload.get("changelog") or {}).get("items") or []
    for item in items:
        if str(item.get("field", "")).casefold() == "sprint":
            issue = payload.get("issue") or {}
            keys = tuple(str(v) for v in (issue.get("key"), issue.get("id")) if v)
            actor = (payload.get("user") or {}).get("displayName")
            # Jira gives the sprint id in ``to`` and its name in ``toString`` (a sprint can
            # carry over, making both comma-separated lists: the last one is the current)
            refs = [str(v).split(",")[-1].strip() for v in (item.get("to"), item.get("toString"))]
            return SprintChange("jira", keys, refs[1] or refs[0] or None, actor, tuple(refs))
    return None


def github_sprint_change(event: str, payload: dict[str, Any]) -> SprintChange | None:
    action = payload.get("action")
    actor = (payload.get("sender") or {}).get("login")
    if event == "issues" and action in ("milestoned", "demilestoned"):
        issue = payload.get("issue") or {}
        milestone = payload.get("milestone") or {}
        sprint = milestone.get("title") if action == "milestoned" else None
        return SprintChange("github", _github_keys(issue), sprint, actor)
    if event == "projects_v2_item" and action == "edited":
        change = (payload.get("changes") or {}).get("field_value") or {}
        if str(change.get("field_name", "")).casefold() not in SPRINT_FIELDS:
            return None
        item = payload.get("projects_v2_item") or {}
        to = change.get("to")
        sprint = (to.get("title") or to.get("name")) if isinstance(to, dict) else to
        keys = tuple(str(v) for v in (item.get("content_node_id"), item.get("node_id")) if v)
        return SprintChange("github", keys, str(sprint) if sprint else None, actor)
    return None


def _github_keys(issue: dict[str, Any]) -> tuple[str, ...]:
    number = issue.get("number")
    values = (issue.get("html_url"), issue.get("node_id"), issue.get("id"), number)
    keys = [str(v) for v in values if v is not None]
    if number is not None:
        keys.append(f"#{number}")
    return tuple(keys)


def record_sprint_change(ctx: SlackContext, change: SprintChange) -> SyncLink | None:
    """Set ``remote_sprint`` on the story's link; None when the issue is not ours."""
    with Session(ctx.engine) as session:
        rows = session.exec(
            select(SyncLink).where(SyncLink.target == change.target, SyncLink.kind == "story")
        ).all()
        wanted = set(change.keys)
        row = next((r for r in rows if _identifiers(r) & wanted), None)
        if row is None:
            return None
        row.remote_sprint = _sprint_name(session, change)
        row.updated_at = utcnow()
        session.add(row)
        session.commit()
        session.refresh(row)
        return row


def _identifiers(row: SyncLink) -> set[str | None]:
    """Every way a webhook may name the issue (GitHub items carry the issue's node id)."""
    return {row.remote_key, row.remote_id, row.remote_url, (row.extra or {}).get("node_id")}


def _sprint_name(session: Session, change: SprintChange) -> str | None:
    """The backlog's name for the sprint (``sprint-3``) when the sprint was synced, else the
    tracker's name."""
    refs = {ref for ref in change.sprint_refs if ref}
    if refs:
        sprints = session.exec(
            select(SyncLink).where(SyncLink.target == change.target, SyncLink.kind == "sprint")
        ).all()
        for sprint in sprints:
            if {sprint.remote_id, sprint.remote_key} & refs:
                return sprint.backlog_id
    return change.sprint


def handle_sprint_change(
    ctx: SlackContext, poster: Callable[[], SlackPoster], change: SprintChange
) -> str:
    row = record_sprint_change(ctx, change)
    if row is None:
        return IGNORED
    number = sprint_number_of(row.remote_sprint)
    where = f"sprint {number}" if number is not None else (row.remote_sprint or "no sprint")
    who = f" by {change.actor}" if change.actor else ""
    trigger = f"{row.backlog_id} moved to {where} in {change.target.capitalize()}{who}"
    posted = check_capacity(ctx, poster(), trigger=trigger)
    log.info(
        "sprint change checked",
        extra={"story": row.backlog_id, "sprint": change.sprint, "alerts": len(posted)},
    )
    return DONE


def register_sprint_handlers(
    registry: HandlerRegistry, ctx: SlackContext, poster: Callable[[], SlackPoster]
) -> None:
    """Add the handlers to the service's ``HandlerRegistry``."""

    def on_jira(delivery: Delivery) -> str | None:
        change = jira_sprint_change(delivery.payload)
        return IGNORED if change is None else handle_sprint_change(ctx, poster, change)

    def on_github(delivery: Delivery) -> str | None:
        change = github_sprint_change(delivery.event, delivery.payload)
        return IGNORED if change is None else handle_sprint_change(ctx, poster, change)

    registry.add("jira", "jira:issue_updated", on_jira)
    registry.add("github", "issues", on_github, actions=("milestoned", "demilestoned"))
    registry.add("github", "projects_v2_item", on_github, actions=("edited",))
