"""The burndown's numbers on fixed clocks: a weekend, a holiday, a scope change, time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backlog.errors import ConfigurationError
from backlog.parse import load_backlog
from bot.digests.burndown_data import ScopeEvent, compute_burndown
from bot.digests.sprint_state import LiveIssue, SprintProgress, sprint_calendar, sprint_progress
from bot.digests.team_calendar import WorkCalendar, work_calendar
from bot.slack.messages import progress_summary
from tests.slack_support import BERLIN, CALENDAR, TEAM_BACKLOG

MON = date(2026, 11, 16)
SPRINT_1 = [MON + timedelta(days=n) for n in (0, 1, 2, 3, 4, 7, 8, 9, 10, 11)]


def at(day: int, hour: int = 10) -> datetime:
    """``day`` of November 2026, ``hour`` o'clock in Berlin."""
    return datetime(2026, 11, day, hour, 0, tzinfo=BERLIN)


def live_state() -> dict[str, LiveIssue]:
    """US-004 (13) joins sprint 1 on Wednesday, US-003 (5) leaves for sprint 2 on Thursday,
    US-001 (13) is closed on Saturday, US-002 (8) is still in progress."""
    return {
        "US-001": LiveIssue("US-001", "Done", sprint="PAY Sprint 1", done_at=at(21)),
        "US-002": LiveIssue("US-002", "In Progress", sprint="PAY Sprint 1"),
        "US-003": LiveIssue("US-003", "To Do", sprint="PAY Sprint 2", sprint_since=at(19)),
        "US-004": LiveIssue("US-004", "To Do", sprint="PAY Sprint 1", sprint_since=at(18)),
    }


def progress_on(today: date, live: dict[str, LiveIssue], **calendar: object) -> SprintProgress:
    backlog = load_backlog(TEAM_BACKLOG)
    dates = sprint_calendar(backlog, {**CALENDAR, **calendar})
    return sprint_progress(backlog, 1, live, dates, today, BERLIN)


def test_weekend_work_and_scope_change_on_a_sunday() -> None:
    progress = progress_on(date(2026, 11, 22), live_state())
    chart = progress.chart
    assert (chart.start_scope, chart.start_remaining) == (26, 26)
    assert [(p.day.day, p.scope, p.done, p.remaining) for p in chart.days] == [
        (16, 26, 0, 26),
        (17, 26, 0, 26),
        (18, 39, 0, 39),  # US-004 joined: +13
        (19, 34, 0, 34),  # US-003 left: -5
        (20, 34, 13, 21),  # US-001 closed on Saturday counts on Friday
    ]
    assert chart.scope_changes() == [(date(2026, 11, 18), 13), (date(2026, 11, 19), -5)]
    assert progress.removed == ("US-003",)
    # the digest says what the chart's last point says
    assert (progress.committed_points, progress.done_points) == (34, 13)
    assert progress_summary(progress)[1] == "13 of 34 points done (38%)"
    assert progress.day == 5 and progress.days == 10


def test_next_monday_continues_the_same_line() -> None:
    live = live_state()
    live["US-002"] = LiveIssue("US-002", "Done", sprint="PAY Sprint 1", done_at=at(23, 16))
    progress = progress_on(date(2026, 11, 23), live)
    assert [p.remaining for p in progress.chart.days] == [26, 26, 39, 34, 21, 13]
    assert progress.burndown[-1] == (date(2026, 11, 23), 13)
    assert progress.committed_points - progress.done_points == 13


def test_a_holiday_is_no_sprint_day_and_its_events_count_the_day_before() -> None:
    progress = progress_on(date(2026, 11, 22), live_state(), holidays=["2026-11-19"])
    assert progress.days == 9 and progress.day == 4
    assert [(p.day.day, p.scope, p.remaining) for p in progress.chart.days] == [
        (16, 26, 26),
        (17, 26, 26),
        (18, 34, 34),  # +13 and, from the holiday, -5
        (20, 34, 21),
    ]
    assert progress_summary(progress)[0] == "Day 4 of 9 (Mon 16 Nov – Fri 27 Nov)"


def test_done_time_is_read_in_the_team_zone() -> None:
    # 23:30 UTC on Monday is 00:30 on Tuesday in Berlin
    live = {
        "US-001": LiveIssue("US-001", "Done", done_at=datetime(2026, 11, 16, 23, 30, tzinfo=UTC))
    }
    progress = progress_on(date(2026, 11, 17), live)
    assert [p.remaining for p in progress.chart.days] == [26, 13]


def test_done_at_an_unknown_time_counts_today_and_work_before_the_sprint_at_the_start() -> None:
    live = {
        "US-001": LiveIssue("US-001", "Done"),
        "US-002": LiveIssue("US-002", "Done", done_at=at(13)),  # the Friday before
    }
    progress = progress_on(date(2026, 11, 18), live)
    assert (progress.chart.start_scope, progress.chart.start_remaining) == (26, 18)
    assert [p.remaining for p in progress.chart.days] == [18, 18, 5]


def test_before_the_sprint_there_is_only_the_start() -> None:
    progress = progress_on(date(2026, 11, 15), {})
    assert progress.chart.days == () and progress.day == 0
    assert (progress.chart.start_scope, progress.chart.start_remaining) == (26, 26)


def test_working_days_from_the_calendar_table() -> None:
    calendar = work_calendar({"working_days": ["Mon", "tue", "wed", "thu"], "holidays": []})
    assert calendar.working_days(MON, MON + timedelta(days=6)) == SPRINT_1[:4]
    assert WorkCalendar().working_days(MON, MON + timedelta(days=13)) == SPRINT_1


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"holidays": ["25.12.2026"]}, "[calendar] holidays: '25.12.2026' is not a date"),
        ({"holidays": "2026-12-25"}, "[calendar] holidays must be a list"),
        ({"working_days": ["mon", "funday"]}, "[calendar] working_days: 'funday' is not a weekday"),
        ({"working_days": []}, "[calendar] working_days must name at least one weekday"),
    ],
)
def test_calendar_mistakes_name_the_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        work_calendar(table)


day_offsets = st.integers(min_value=-3, max_value=16)


@st.composite
def events(draw: st.DrawFn) -> ScopeEvent:
    points = draw(st.sampled_from([1, 2, 3, 5, 8, 13]))
    joined = draw(st.none() | day_offsets.map(lambda n: MON + timedelta(days=n)))
    if draw(st.booleans()):
        left = draw(day_offsets.map(lambda n: MON + timedelta(days=n)))
        return ScopeEvent("X", points, joined=joined, left=left)
    done = draw(st.none() | day_offsets.map(lambda n: MON + timedelta(days=n)))
    return ScopeEvent("X", points, joined=joined, done=done)


@given(st.lists(events(), max_size=12), day_offsets.map(lambda n: MON + timedelta(days=n)))
def test_last_point_is_current_scope_minus_done(items: list[ScopeEvent], today: date) -> None:
    chart = compute_burndown(SPRINT_1, today, items)
    members = [e for e in items if e.left is None]
    scope = sum(e.points for e in members)
    done = sum(e.points for e in members if e.done is not None)
    last = chart.days[-1] if chart.days else None
    if last is not None:
        assert (last.scope, last.done) == (scope, done)
    assert all(0 <= p.done <= p.scope for p in chart.days)
    assert [p.day for p in chart.days] == [d for d in SPRINT_1 if d <= today]
