"""The team's working calendar: which weekdays are worked and which dates are holidays.

``[calendar]`` in ``backlog-bot.toml``::

    [calendar]
    sprint1_start = "2026-11-16"
    working_days = ["mon", "tue", "wed", "thu", "fri"]   # the default
    holidays = ["2026-12-24", "2026-12-25"]

Sprint days, the ideal line and the burndown count working days only. Work finished on a day
off (a weekend, a holiday) is counted on the last working day before it, so that a digest
posted on a Sunday shows the same numbers as the chart it carries
(``bot.digests.burndown_data``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from backlog.errors import ConfigurationError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_WORKING = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class WorkCalendar:
    """Working weekdays (0 = Monday) and holiday dates."""

    weekdays: tuple[int, ...] = DEFAULT_WORKING
    holidays: frozenset[date] = field(default_factory=frozenset)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def working_days(self, start: date, end: date) -> list[date]:
        """Working days from ``start`` to ``end``, both included."""
        days = []
        day = start
        while day <= end:
            if self.is_working_day(day):
                days.append(day)
            day += timedelta(days=1)
        return days


def work_calendar(config: Mapping[str, Any]) -> WorkCalendar:
    """The calendar of the ``[calendar]`` table; errors name the key to fix."""
    raw_days = config.get("working_days")
    weekdays = DEFAULT_WORKING if raw_days is None else _weekdays(raw_days)
    raw_holidays = config.get("holidays") or []
    if isinstance(raw_holidays, str) or not isinstance(raw_holidays, Iterable):
        raise ConfigurationError(
            '[calendar] holidays must be a list of dates such as ["2026-12-25"]'
        )
    holidays = set()
    for value in raw_holidays:
        try:
            holidays.add(value if isinstance(value, date) else date.fromisoformat(str(value)))
        except ValueError as exc:
            raise ConfigurationError(
                f"[calendar] holidays: {value!r} is not a date; use YYYY-MM-DD like 2026-12-25"
            ) from exc
    return WorkCalendar(weekdays, frozenset(holidays))


def _weekdays(raw: Any) -> tuple[int, ...]:
    if isinstance(raw, str) or not isinstance(raw, Iterable):
        raise ConfigurationError(
            '[calendar] working_days must be a list such as ["mon", "tue", "wed", "thu", "fri"]'
        )
    numbers = []
    for value in raw:
        name = str(value).strip().casefold()[:3]
        if name not in WEEKDAYS:
            raise ConfigurationError(
                f"[calendar] working_days: {value!r} is not a weekday; use mon, tue, ... sun"
            )
        numbers.append(WEEKDAYS.index(name))
    if not numbers:
        raise ConfigurationError("[calendar] working_days must name at least one weekday")
    return tuple(sorted(set(numbers)))
