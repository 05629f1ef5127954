"""The ``backlog-bot capacity`` report: a JSON-ready document and its rich table rendering."""

from __future__ import annotations

from typing import Any

from backlog.model import Backlog
from rules.base import fmt_number
from rules.capacity import sprint_loads, velocities
from rules.config import RulesConfig
from rules.context import RuleContext
from rules.forecast import monte_carlo


def _pct(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def capacity_document(
    backlog: Backlog, config: RulesConfig, sprint: int | None = None
) -> dict[str, Any]:
    """Per sprint: points vs capacity and hours per role vs role capacity; plus the forecast.

    The forecast covers every story's points at the backlog's historical velocities.
    """
    ctx = RuleContext(backlog=backlog, config=config)
    rows = []
    for load in sprint_loads(ctx):
        if sprint is not None and load.sprint.number != sprint:
            continue
        rows.append(
            {
                "sprint": load.sprint.number,
                "name": load.sprint.name,
                "capacity_points": load.sprint.capacity_points,
                "committed_points": load.points,
                "story_points": load.story_points,
                "buffer_points": load.buffer_points,
                "load_pct": _pct(load.load_pct),
                "over": load.is_over,
                "roles": [
                    {
                        "role": role.name,
                        "hours": role.hours,
                        "capacity": role.capacity,
                        "load_pct": _pct(role.load_pct),
                        "over": role.is_over,
                    }
                    for role in load.roles
                ],
            }
        )
    remaining = sum(story.points or 0 for story in ctx.stories)
    forecast = monte_carlo(remaining, velocities(ctx), config.forecast)
    return {
        "sprints": rows,
        "over_capacity": [row["sprint"] for row in rows if row["over"]],
        "forecast": forecast.to_dict() if forecast else None,
    }


def _cell(value: float | None, capacity: float | None, pct: float | None, unit: str) -> str:
    if capacity is None:
        return f"{fmt_number(value)}{unit}" if value else "-"
    text = f"{fmt_number(value)}/{fmt_number(capacity)}{unit} {fmt_number(pct)}%"
    return f"[bold red]{text}[/]" if value is not None and value > capacity else text


def render_capacity(document: dict[str, Any]) -> None:
    """Print the sprint x role table and the forecast with rich."""
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    roles: list[str] = []
    for row in document["sprints"]:
        roles.extend(r["role"] for r in row["roles"] if r["role"] not in roles)
    table = Table(title="Sprint capacity (committed / capacity, load %)")
    table.add_column("Sprint", justify="right")
    table.add_column("Points", justify="right")
    for role in roles:
        table.add_column(role, justify="right")
    table.add_column("Status")
    for row in document["sprints"]:
        by_role = {r["role"]: r for r in row["roles"]}
        cells = [
            str(row["sprint"]),
            _cell(row["committed_points"], row["capacity_points"], row["load_pct"], ""),
        ]
        for role in roles:
            r = by_role.get(role)
            cells.append(_cell(r["hours"], r["capacity"], r["load_pct"], "h") if r else "-")
        cells.append("[bold red]OVER[/]" if row["over"] else "ok")
        table.add_row(*cells)
    console.print(table)
    forecast = document["forecast"]
    if forecast is None:
        console.print("Forecast: no velocity history in the backlog.")
        return
    velocities = ", ".join(map(str, forecast["velocities"]))
    console.print(
        f"Forecast: {forecast['remaining_points']} points at historical velocities "
        f"({velocities}); Monte Carlo, {forecast['iterations']} runs, seed {forecast['seed']}"
    )
    for point in forecast["percentiles"]:
        end = f", ends {point['end_date']}" if point["end_date"] else ""
        console.print(f"  P{point['percentile']}: {point['sprints']} sprints{end}")
    if not forecast["percentiles"][0]["end_date"]:
        console.print("  (pass --start-date YYYY-MM-DD for end dates)")
    over = document["over_capacity"]
    if over:
        console.print(f"Over capacity: sprint {', '.join(map(str, over))}")
