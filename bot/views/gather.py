"""Gathers the page's inputs from the running bot: backlog, pulled issue state, calendar, rules.

Shared by ``GET /`` and ``backlog-bot report --html`` so both show the same page.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from bot.digests.context import SlackContext
from bot.digests.sprint_state import current_sprint_number, live_issues, sprint_calendar
from bot.views.model import PlanningPage, build_page

if TYPE_CHECKING:
    from bot.settings import Settings

PUBLIC_GITHUB_API = "https://api.github.com"


def backlog_web_url(settings: Settings) -> str | None:
    """Where people read the backlog file: ``BACKLOG_WEB_URL``, else the file on github.com
    when ``GITHUB_REPOSITORY`` is set (GitHub Enterprise needs ``BACKLOG_WEB_URL``)."""
    explicit = getattr(settings, "backlog_web_url", None)
    if explicit:
        return str(explicit)
    repository = getattr(settings, "github_repository", None)
    api = str(getattr(settings, "github_api_url", "")).rstrip("/")
    if repository and api == PUBLIC_GITHUB_API:
        path = PurePosixPath(str(settings.backlog_file)).as_posix().lstrip("./")
        return f"https://github.com/{repository}/blob/HEAD/{path}"
    return None


def gather_page(ctx: SlackContext, *, links: list[Any] | None = None) -> PlanningPage:
    """The page as of ``ctx.today()``: the running sprint's burndown, else none."""
    from bot.digests.sprint_state import sprint_progress
    from rules.config import load_rules_config
    from rules.runner import run_rules

    backlog = ctx.backlog()
    rows = ctx.links() if links is None else links
    live = live_issues(rows, prefer=ctx.config.status_source)
    calendar = sprint_calendar(backlog, ctx.config.calendar, rows)
    today = ctx.today()
    running = current_sprint_number(calendar, today)
    progress = (
        sprint_progress(backlog, running, live, calendar, today, ctx.zone)
        if running is not None
        else None
    )
    config = load_rules_config()
    return build_page(
        backlog,
        backlog_name=ctx.backlog_path.name,
        live=live,
        calendar=calendar,
        today=today,
        running=running,
        findings=run_rules(backlog, config),
        rules_config=config,
        warn_pct=ctx.config.warn_pct,
        backlog_url=backlog_web_url(ctx.settings),
        progress=progress,
    )
