"""Points alerts without a database: capacity (error) and recent velocity (warning)."""

from __future__ import annotations

from datetime import UTC, datetime

from backlog.model import Backlog, VelocityRecord
from backlog.parse import load_backlog
from bot.digests.points_alerts import points_alerts, recent_velocity
from bot.digests.sprint_state import LiveIssue
from bot.slack.messages import alert_message
from tests.slack_support import TEAM_BACKLOG


def with_velocities(backlog: Backlog, *values: int) -> Backlog:
    history = tuple(VelocityRecord(sprint=f"Sprint {n}", velocity=v) for n, v in enumerate(values))
    return backlog.replace(velocity_history=history)


def test_over_recent_velocity_is_a_warning_when_capacity_holds() -> None:
    backlog = with_velocities(load_backlog(TEAM_BACKLOG), 40, 20, 22, 24)
    assert recent_velocity(backlog) == 22  # the last three sprints, not the best one
    (alert,) = points_alerts(backlog, {}, [1])
    assert (alert.level, alert.points, alert.limit) == ("warning", 26, 22)
    assert alert.recent == (("US-003", 5), ("US-002", 8), ("US-001", 13))
    assert alert_message(alert).text == (
        "Sprint 1: 26 points above the recent velocity of 22 (warning)"
    )


def test_no_alert_within_capacity_and_velocity() -> None:
    backlog = with_velocities(load_backlog(TEAM_BACKLOG), 27, 26, 28)
    assert points_alerts(backlog, {}) == []


def test_moved_in_stories_are_named_newest_first() -> None:
    backlog = load_backlog(TEAM_BACKLOG)
    sprint_1 = backlog.sprints[0]
    extra = backlog.sprints[1].committed
    moved = sprint_1.replace(committed=sprint_1.committed + extra)
    backlog = backlog.replace(sprints=(moved, backlog.sprints[1]))
    live = {
        "US-004": LiveIssue(
            "US-004", sprint="Sprint 1", sprint_since=datetime(2026, 11, 17, tzinfo=UTC)
        ),
        "US-005": LiveIssue(
            "US-005", sprint="Sprint 1", sprint_since=datetime(2026, 11, 18, tzinfo=UTC)
        ),
    }
    (alert,) = points_alerts(backlog, live, [1])
    assert (alert.level, alert.points, alert.limit) == ("error", 47, 30)
    assert alert.recent == (("US-005", 8), ("US-004", 13), ("US-003", 5))
