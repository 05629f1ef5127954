"""Points alerts per sprint: committed points against the sprint's capacity and recent velocity.

A sprint whose committed points (live membership applied, as for the role alerts) exceed its
stated **Capacity:** is an ``error``; one that fits its capacity but exceeds the team's recent
velocity (the mean of the last ``RECENT_SPRINTS`` velocities on record) is a ``warning``. The
conditions (``capacity:SPRINT:points:LEVEL``) are claimed and released with the role alerts
in ``bot.digests.alerts``, so each is posted once until it clears. The alert names the stories
added to the sprint most recently: the last ones moved in per Jira/GitHub, then the end of
the plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from statistics import mean

from backlog.model import Backlog
from bot.digests.reports import PointsAlert
from bot.digests.sprint_state import LiveIssue

RECENT_SPRINTS = 3
NAMED_STORIES = 3


def recent_velocity(backlog: Backlog) -> float | None:
    """Mean of the last ``RECENT_SPRINTS`` velocities (the velocity table, else actuals)."""
    from rules.capacity import velocities
    from rules.context import RuleContext

    history = velocities(RuleContext(backlog))
    return mean(history[-RECENT_SPRINTS:]) if history else None


def points_alerts(
    backlog: Backlog,
    live: Mapping[str, LiveIssue],
    sprints: Iterable[int] | None = None,
) -> list[PointsAlert]:
    """The points conditions holding now; ``backlog`` has the live sprints applied."""
    from rules.capacity import sprint_loads
    from rules.context import RuleContext

    wanted = set(sprints) if sprints is not None else None
    velocity = recent_velocity(backlog)
    alerts = []
    for load in sprint_loads(RuleContext(backlog)):
        number = load.sprint.number
        if wanted is not None and number not in wanted:
            continue
        capacity = load.sprint.capacity_points
        if capacity is not None and load.points > capacity:
            level, limit = "error", float(capacity)
        elif velocity is not None and load.points > velocity:
            level, limit = "warning", velocity
        else:
            continue
        recent = _recently_added(load.by_story, live, number)
        alerts.append(PointsAlert(number, level, float(load.points), limit, recent))
    return alerts


def _recently_added(
    by_story: tuple[tuple[str, int], ...], live: Mapping[str, LiveIssue], sprint: int
) -> tuple[tuple[str, float], ...]:
    """Stories moved in per the trackers (latest first), then the plan from its end."""
    epoch = datetime.min.replace(tzinfo=UTC)
    points = dict(by_story)
    moved = [
        story_id
        for story_id, _ in by_story
        if (issue := live.get(story_id)) is not None
        and issue.sprint_number == sprint
        and issue.sprint_since is not None
    ]
    order = {story_id: index for index, (story_id, _) in enumerate(by_story)}
    # newest first; on equal times the one later in the plan counts as added later
    moved.sort(key=lambda s: (live[s].sprint_since or epoch, order[s]), reverse=True)
    rest = [story_id for story_id, _ in reversed(by_story) if story_id not in moved]
    return tuple(
        (story_id, float(points[story_id])) for story_id in [*moved, *rest][:NAMED_STORIES]
    )
