"""The burndown's numbers: scope and remaining points at the end of each working day.

Pure: the sprint's working days, its stories with the moments they joined the sprint and
reached a done status (from the trackers' history), and the stories moved out, in; a
``Burndown`` out. The chart, the planning page and the digest all read this one record, so
the digest's "X of Y points done" is the chart's last point.

Counting rules (the same everywhere):

* an event on a day off (weekend, holiday) counts on the last working day before it, so a
  digest posted on a Sunday matches its chart; an event before the first working day belongs
  to the start, one after the last working day to the last day;
* the scope line starts at what the sprint held when it started and steps up on the day a
  story joins it and down on the day one leaves it;
* a story done before it joined counts as done from the day it joined.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

START = -1  # the slot of everything that happened before the first working day


@dataclass(frozen=True)
class ScopeEvent:
    """A story of the sprint: its points, when it joined (None: from the start) and when it
    was done (None: not done), or when it left (``left``: moved to another sprint)."""

    story_id: str
    points: float
    joined: date | None = None
    done: date | None = None
    left: date | None = None


@dataclass(frozen=True)
class BurndownDay:
    day: date
    scope: float
    done: float

    @property
    def remaining(self) -> float:
        return self.scope - self.done


@dataclass(frozen=True)
class Burndown:
    start_scope: float
    start_done: float
    days: tuple[BurndownDay, ...]

    @property
    def start_remaining(self) -> float:
        return self.start_scope - self.start_done

    def scope_changes(self) -> list[tuple[date, float]]:
        """Days on which the scope moved, with the change in points (+ added, - removed)."""
        changes = []
        previous = self.start_scope
        for point in self.days:
            if point.scope != previous:
                changes.append((point.day, point.scope - previous))
            previous = point.scope
        return changes


def slot_of(moment: date | None, days: Sequence[date], last: int) -> int:
    """Index of the working day an event on ``moment`` counts on (``START`` before day 1),
    never after ``last`` (today's slot). Unknown moments count today."""
    if moment is None:
        return last
    return min(bisect_right(days, moment) - 1, last)


def compute_burndown(
    working_days: Sequence[date], today: date, events: Sequence[ScopeEvent]
) -> Burndown:
    """Scope and done points at the start and at the end of each working day up to today."""
    days = list(working_days)
    shown = bisect_right(days, today)  # working days elapsed (today included)
    last = shown - 1
    scope_delta = [0.0] * (shown + 1)  # index 0 is the start, i + 1 is day i
    done_delta = [0.0] * (shown + 1)
    for event in events:
        joined = START if event.joined is None else slot_of(event.joined, days, last)
        if event.left is not None:
            left = slot_of(event.left, days, last)
            if left > joined:
                scope_delta[joined + 1] += event.points
                scope_delta[left + 1] -= event.points
            continue
        scope_delta[joined + 1] += event.points
        if event.done is not None:
            done_delta[max(joined, slot_of(event.done, days, last)) + 1] += event.points
    scope = [scope_delta[0]]
    done = [done_delta[0]]
    for index in range(1, shown + 1):
        scope.append(scope[-1] + scope_delta[index])
        done.append(done[-1] + done_delta[index])
    points = tuple(BurndownDay(days[i], scope[i + 1], done[i + 1]) for i in range(shown))
    return Burndown(scope[0], done[0], points)
