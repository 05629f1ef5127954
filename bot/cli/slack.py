"""``backlog-bot digest standup|capacity [--post]`` and ``backlog-bot demo [FILE]``.

``digest`` renders the standup digest or the capacity alerts in the terminal, from the backlog
file and the live state in the database (what the last pull sync saw); ``--post`` posts them
to SLACK_CHANNEL now, exactly as the scheduled jobs do. ``digest capacity`` exits 1 when a
role is over 100% of its hours in a watched sprint.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.app import EXIT_FINDINGS, OutputFormat, app

digest_app = typer.Typer(help="Standup digest and capacity alerts, now.", no_args_is_help=True)
app.add_typer(digest_app, name="digest")

if TYPE_CHECKING:
    from bot.digests.context import SlackContext

FILE_OPTION = typer.Option(None, "--file", help="Backlog file (default: BACKLOG_FILE).")


TODAY_OPTION = typer.Option(
    None,
    "--today",
    help="Render as of this date, YYYY-MM-DD (default: today).",
    formats=["%Y-%m-%d"],
)


def _context(file: Path | None, today: datetime | None = None) -> SlackContext:
    from bot.digests.context import SlackContext, team_zone
    from bot.settings import load_settings
    from sync.state import db

    settings = load_settings()
    db.upgrade(settings.database_url)
    clock = None
    if today is not None:
        moment = today.replace(hour=9, tzinfo=team_zone(settings))
        clock = lambda: moment  # noqa: E731
    engine = db.make_engine(settings.database_url)
    return SlackContext(settings, engine, backlog_path=file, clock=clock)


@digest_app.command("standup")
def standup(
    file: Path | None = FILE_OPTION,
    sprint: int | None = typer.Option(None, "--sprint", help="Sprint number (default: today's)."),
    post: bool = typer.Option(False, "--post", help="Post it to SLACK_CHANNEL now."),
    chart: Path | None = typer.Option(None, "--chart", help="Also save the burndown PNG here."),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f"),
    today: datetime | None = TODAY_OPTION,
) -> None:
    """Render today's standup digest (sprint day, points, burndown, done, blocked, not ready)."""
    from bot.digests.standup import standup_now
    from bot.slack.announce import post_standup
    from bot.slack.post import SlackPoster
    from bot.slack.terminal import digest_dict, print_standup, save_chart

    ctx = _context(file, today)
    digest = standup_now(ctx, sprint)
    if output_format is OutputFormat.json:
        typer.echo(json.dumps(digest_dict(digest), indent=2))
    else:
        print_standup(digest)
    if chart is not None:
        save_chart(digest.progress, chart)
        typer.echo(f"burndown chart saved to {chart}")
    if post:
        poster = SlackPoster.from_settings(ctx.settings)
        ts = post_standup(ctx, poster, digest)
        typer.echo(f"posted to Slack channel {poster.channel} (ts {ts})")


@digest_app.command("capacity")
def capacity(
    file: Path | None = FILE_OPTION,
    post: bool = typer.Option(False, "--post", help="Post new alerts to SLACK_CHANNEL now."),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f"),
    today: datetime | None = TODAY_OPTION,
) -> None:
    """Render the capacity alerts of the running and next sprint (per role)."""
    from bot.digests.alerts import alerts_now
    from bot.slack.announce import check_capacity
    from bot.slack.post import SlackPoster
    from bot.slack.terminal import print_alerts

    ctx = _context(file, today)
    alerts = alerts_now(ctx)
    if output_format is OutputFormat.json:
        typer.echo(json.dumps([alert.__dict__ for alert in alerts], indent=2))
    else:
        print_alerts(alerts)
    if post:
        posted = check_capacity(ctx, SlackPoster.from_settings(ctx.settings))
        typer.echo(f"posted {len(posted)} new alert(s); {len(alerts) - len(posted)} already posted")
    if any(alert.level == "error" for alert in alerts):
        raise typer.Exit(EXIT_FINDINGS)


@app.command("demo")
def demo(
    file: Path = typer.Argument(
        Path("examples/bss-modernization.md"), help="Backlog file (default: the reference one)."
    ),
    output_dir: Path = typer.Option(
        Path("demo-output"), "--output-dir", help="Where the burndown chart is saved."
    ),
) -> None:
    """Run the whole job on local sandboxes: validate, apply to Jira/GitHub, webhook
    validation, capacity alert and standup digest to a sandbox Slack. No accounts needed."""
    from backlog.errors import BadInputError
    from bot.demo.run import demo_main

    if not file.is_file():
        raise BadInputError("no such backlog file", file=str(file))
    demo_main(file, output_dir)
