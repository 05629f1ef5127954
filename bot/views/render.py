"""Fills the page templates (Jinja2, autoescaped; the CSS is inlined, no script, no build)."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape

from bot.slack.messages import progress_summary
from bot.views.charts import burndown_chart, forecast_chart
from bot.views.model import PlanningPage


def fmt(value: float | int | None) -> str:
    """12.0 -> "12", 10.4 -> "10.4", None -> "–"."""
    if value is None:
        return "–"
    return f"{round(float(value), 1):g}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bot.views", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["fmt"] = fmt
    return env


def render_page(page: PlanningPage) -> str:
    """The whole page as an HTML document."""
    env = environment()
    cell = env.get_template("cell.html.j2").module.cell  # type: ignore[attr-defined]
    template = env.get_template("page.html.j2")
    return template.render(
        page=page,
        cell=cell,
        burndown=burndown_chart(page.progress) if page.progress else None,
        summary=progress_summary(page.progress) if page.progress else [],
        forecast=forecast_chart(page.forecast) if page.forecast else None,
    )
