"""``backlog-bot report --html FILE -o report.html``: the sprint planning page, offline.

The same page ``serve`` answers at ``GET /``: sprints against capacity, the running sprint's
burndown, the forecast and the findings by story. Live issue state (done, moved between
sprints) comes from the state database when ``DATABASE_URL`` points at one a sync has filled;
without it the page shows the plan as the file states it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.app import app

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


@app.command("report")
def report(
    file: Path = typer.Argument(..., help="Backlog file (Markdown, JSON or YAML)."),
    html: bool = typer.Option(False, "--html", help="Write the sprint planning page as HTML."),
    output: Path = typer.Option(Path("report.html"), "--output", "-o", help="Where to write it."),
    today: datetime | None = typer.Option(
        None, "--today", help="As of this date, YYYY-MM-DD (default: today).", formats=["%Y-%m-%d"]
    ),
) -> None:
    """Write the sprint planning page (capacity heat map, burndown, forecast, findings)."""
    from backlog.errors import BadInputError
    from bot.digests.context import SlackContext, team_zone
    from bot.settings import load_settings
    from bot.views.gather import gather_page
    from bot.views.render import render_page
    from sync.state import db

    if not html:
        raise BadInputError("say which report: --html (the sprint planning page)")
    if not file.is_file():
        raise BadInputError("no such backlog file", file=str(file))
    settings = load_settings(backlog_file=str(file))
    clock = None
    if today is not None:
        moment = today.replace(hour=12, tzinfo=team_zone(settings))
        clock = lambda: moment  # noqa: E731
    engine = db.make_engine(settings.database_url)
    try:
        ctx = SlackContext(settings, engine, backlog_path=file, clock=clock)
        links = ctx.links() if _has_state(settings.database_url, engine) else []
        page = render_page(gather_page(ctx, links=links))
    finally:
        engine.dispose()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page, encoding="utf-8")
    typer.echo(f"sprint planning page written to {output}")


def _has_state(url: str, engine: Engine) -> bool:
    """Whether a sync has left state to show (never creates a SQLite file by looking)."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if not database or database == ":memory:" or not Path(database).is_file():
            return False
    return bool(inspect(engine).has_table("sync_link"))
