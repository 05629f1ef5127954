"""Capacity alerts per sprint and role, and on a sprint's points, posted once per condition.

The numbers are the rules engine's (``rules.capacity.sprint_loads``) over the backlog with the
live sprint membership applied: a story that Jira or GitHub puts into a sprint counts there,
one moved out no longer does. A role above 100% of its sprint hours is an ``error``, above the
``[slack] warn_pct`` threshold a ``warning``. Each condition (sprint, role, level) is claimed
in the ``alert_sent`` table before it is posted, so every replica and every run posts it
once; when the condition clears its row is deleted, so a recurrence is announced again
(``bot.slack.announce.check_capacity`` posts them). Points over the sprint's capacity or its
recent velocity: ``bot.digests.points_alerts``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from backlog.model import Backlog, SprintCommitment
from bot.digests.context import SlackContext
from bot.digests.points_alerts import points_alerts
from bot.digests.reports import Alert, CapacityAlert
from bot.digests.sprint_state import LiveIssue, current_sprint_number, live_issues, sprint_calendar


def with_live_sprints(backlog: Backlog, live: Mapping[str, LiveIssue]) -> Backlog:
    """The backlog with each story in the sprint Jira/GitHub says it is in (when they say)."""
    moved = {
        story_id: issue.sprint_number
        for story_id, issue in live.items()
        if issue.sprint_number is not None
    }
    if not moved:
        return backlog
    sprints = []
    for sprint in backlog.sprints:
        kept = tuple(
            item
            for item in sprint.committed
            if item.continued or moved.get(item.story_id, sprint.number) == sprint.number
        )
        planned = {item.story_id for item in kept}
        added = tuple(
            SprintCommitment(story_id=story_id, title=_title(backlog, story_id))
            for story_id, number in sorted(moved.items())
            if number == sprint.number and story_id not in planned
        )
        sprints.append(sprint.replace(committed=kept + added))
    return backlog.replace(sprints=tuple(sprints))


def _title(backlog: Backlog, story_id: str) -> str:
    story = backlog.story(story_id)
    return story.title if story else ""


def capacity_alerts(
    backlog: Backlog, warn_pct: float, sprints: Iterable[int] | None = None
) -> list[CapacityAlert]:
    """The alert conditions holding now, worst level only per sprint and role."""
    from rules.capacity import sprint_loads
    from rules.context import RuleContext

    wanted = set(sprints) if sprints is not None else None
    alerts = []
    for load in sprint_loads(RuleContext(backlog)):
        if wanted is not None and load.sprint.number not in wanted:
            continue
        for role in load.roles:
            share = role.load_pct
            if share is None or role.capacity is None or share <= warn_pct:
                continue
            biggest = tuple(sorted(role.by_story, key=lambda part: (-part[1], part[0]))[:3])
            alerts.append(
                CapacityAlert(
                    sprint=load.sprint.number,
                    role=role.name,
                    role_key=role.key,
                    level="error" if share > 100 else "warning",
                    hours=role.hours,
                    capacity=role.capacity,
                    load_pct=share,
                    threshold=warn_pct,
                    biggest=biggest,
                )
            )
    return alerts


def watched_sprints(ctx: SlackContext, backlog: Backlog, links: list[object]) -> list[int] | None:
    """The running sprint and the next one; every sprint when no calendar is configured."""
    calendar = sprint_calendar(backlog, ctx.config.calendar, links)
    if not calendar:
        return None
    today = ctx.today()
    current = current_sprint_number(calendar, today)
    if current is None:
        upcoming = [n for n, dates in sorted(calendar.items()) if dates.start > today]
        return upcoming[:1]
    return [current, current + 1]


def alerts_now(ctx: SlackContext) -> list[Alert]:
    """Role alerts, then points alerts, of the watched sprints."""
    links = ctx.links()
    backlog = ctx.backlog()
    live = live_issues(links, prefer=ctx.config.status_source)
    scope = watched_sprints(ctx, backlog, links)
    planned = with_live_sprints(backlog, live)
    alerts: list[Alert] = [*capacity_alerts(planned, ctx.config.warn_pct, scope)]
    alerts.extend(points_alerts(planned, live, scope))
    return alerts
