"""SVG geometry of the page's charts: the burndown and the Monte Carlo forecast.

Pure layout: numbers in, coordinates (in a fixed ``viewBox``) out; the templates draw them.
Each chart also has a table on the page with the same numbers, for screen readers and for
anyone who wants the figures rather than the picture.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.digests.sprint_state import SprintProgress
from rules.forecast import Forecast

WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 64


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class BurndownRow:
    label: str  # "start" or "Mon 16 Nov"
    iso: str
    scope: float
    done: float
    remaining: float
    ideal: float


@dataclass(frozen=True)
class BurndownChart:
    ideal: str  # SVG polyline points
    remaining: str
    scope: str
    dots: tuple[tuple[float, float, str], ...]  # (x, y, title) on the remaining line
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    rows: tuple[BurndownRow, ...]
    today_x: float | None
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom_y: float = HEIGHT - BOTTOM
    right_x: float = WIDTH - RIGHT
    top: int = TOP


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    sprints: int
    share: float  # percent of trials
    cumulative: float  # percent of trials that needed this many sprints or fewer


@dataclass(frozen=True)
class ForecastChart:
    bars: tuple[Bar, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    markers: tuple[tuple[float, str], ...]  # (x, "P85")
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom_y: float = HEIGHT - BOTTOM
    right_x: float = WIDTH - RIGHT
    top: int = TOP


def _nice_step(top: float, ticks: int = 5) -> float:
    raw = max(top, 1) / ticks
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if step >= raw:
            return float(step)
    return float(round(raw))


def _fmt(value: float) -> str:
    return f"{value:g}"


def burndown_chart(progress: SprintProgress) -> BurndownChart:
    """The running sprint: ideal line, remaining points, scope steps, a tick per day."""
    days = progress.working_days
    chart = progress.chart
    scopes = [chart.start_scope, *(p.scope for p in chart.days)]
    top = max([progress.committed_points, *scopes, 1.0])
    step = _nice_step(top)
    upper = step * max(1, -(-top // step))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slots = max(len(days), 1)

    def x(index: int) -> float:
        return round(LEFT + plot_w * index / slots, 1)

    def y(value: float) -> float:
        return round(HEIGHT - BOTTOM - plot_h * value / upper, 1)

    ideal = [(x(i), y(progress.ideal_remaining(i))) for i in range(len(days) + 1)]
    remaining_values = [chart.start_remaining, *(p.remaining for p in chart.days)]
    remaining = [(x(i), y(v)) for i, v in enumerate(remaining_values)]
    scope_points: list[tuple[float, float]] = [(x(0), y(scopes[0]))]
    for index in range(1, len(scopes)):
        # the scope holds until the end of the day work was added or removed, then steps
        scope_points.append((x(index), y(scopes[index - 1])))
        if scopes[index] != scopes[index - 1]:
            scope_points.append((x(index), y(scopes[index])))
    rows = [
        BurndownRow(
            "start",
            days[0].isoformat() if days else "",
            chart.start_scope,
            chart.start_done,
            chart.start_remaining,
            progress.ideal_remaining(0),
        )
    ]
    for index, point in enumerate(chart.days, start=1):
        rows.append(
            BurndownRow(
                f"{point.day:%a %d %b}",
                point.day.isoformat(),
                point.scope,
                point.done,
                point.remaining,
                round(progress.ideal_remaining(index), 1),
            )
        )
    x_ticks = [Tick(x(0), HEIGHT - BOTTOM + 14, "start")]
    x_ticks.extend(Tick(x(i), HEIGHT - BOTTOM + 14, f"{d:%a %d}") for i, d in enumerate(days, 1))
    y_ticks = []
    value = 0.0
    while value <= upper + 1e-9:
        y_ticks.append(Tick(LEFT - 6, y(value), _fmt(value)))
        value += step
    dots = tuple(
        (px, py, f"{row.label}: {_fmt(row.remaining)} points remaining")
        for (px, py), row in zip(remaining, rows, strict=True)
    )
    return BurndownChart(
        ideal=_points(ideal),
        remaining=_points(remaining),
        scope=_points(scope_points),
        dots=dots,
        x_ticks=tuple(x_ticks),
        y_ticks=tuple(y_ticks),
        rows=tuple(rows),
        today_x=x(progress.day) if progress.day else None,
    )


def forecast_chart(forecast: Forecast) -> ForecastChart:
    """A bar per number of sprints: the share of Monte Carlo trials that needed exactly it."""
    counts = dict(forecast.distribution)
    low, high = min(counts), max(counts)
    span = list(range(low, high + 1))
    total = sum(counts.values()) or 1
    shares = [100.0 * counts.get(n, 0) / total for n in span]
    top = max(shares)
    step = _nice_step(top)
    upper = step * max(1, -(-top // step))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(span)
    bars = []
    cumulative = 0.0
    for index, (sprints, share) in enumerate(zip(span, shares, strict=True)):
        cumulative += share
        height = plot_h * share / upper
        bars.append(
            Bar(
                x=round(LEFT + index * slot + slot * 0.15, 1),
                y=round(HEIGHT - BOTTOM - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
                sprints=sprints,
                share=round(share, 1),
                cumulative=round(cumulative, 1),
            )
        )
    x_ticks = tuple(
        Tick(round(LEFT + i * slot + slot / 2, 1), HEIGHT - BOTTOM + 14, str(n))
        for i, n in enumerate(span)
    )
    y_ticks = []
    value = 0.0
    while value <= upper + 1e-9:
        y_ticks.append(
            Tick(LEFT - 6, round(HEIGHT - BOTTOM - plot_h * value / upper, 1), f"{_fmt(value)}%")
        )
        value += step
    markers = tuple(
        (round(LEFT + (p.sprints - low) * slot + slot / 2, 1), f"P{p.percentile}")
        for p in forecast.points
    )
    return ForecastChart(tuple(bars), x_ticks, tuple(y_ticks), markers)


def _points(pairs: list[tuple[float, float]]) -> str:
    return " ".join(f"{px:g},{py:g}" for px, py in pairs)
