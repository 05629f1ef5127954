"""``backlog-bot serve`` and ``backlog-bot inbox list|retry``: the long-running service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from bot.cli.app import EXIT_BAD_INPUT, OutputFormat, app, fail

inbox_app = typer.Typer(
    help="The webhook inbox: deliveries awaiting, done or parked.", no_args_is_help=True
)
app.add_typer(inbox_app, name="inbox")

MIGRATION_LOCK_KEY = 0x6B6C6F67  # PostgreSQL advisory lock id: replicas migrate one at a time


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8080, "--port", help="TCP port."),
    workers_off: bool = typer.Option(
        False, "--workers-off", help="Only accept and store deliveries; another replica works."
    ),
    migrate: bool = typer.Option(
        False, "--migrate", help="Apply database migrations first (also: MIGRATE_ON_START=1)."
    ),
) -> None:
    """Run the HTTP service: webhooks, Slack events, /healthz, /readyz, /metrics."""
    import uvicorn

    from bot.service.app import create_app
    from bot.service.logging import configure_logging
    from bot.service.slow_clients import head_deadline_protocol
    from bot.settings import load_settings
    from bot.wiring.container import build_service

    settings = load_settings()
    configure_logging(settings)
    if migrate or settings.migrate_on_start:
        migrate_with_lock(settings.database_url)
    application = create_app(build_service(settings), start_worker=not workers_off)
    uvicorn.run(
        application,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=10,
        # uvicorn has no header read timeout: its own protocol, plus a deadline for the head
        http=head_deadline_protocol(settings.http_read_timeout_seconds),
    )


def migrate_with_lock(url: str) -> None:
    """Apply migrations; on PostgreSQL under an advisory lock so replicas do not race."""
    from sync.state import db

    if not db.normalise_url(url).startswith("postgresql"):
        db.upgrade(url)
        return
    import sqlalchemy as sa

    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            try:
                db.upgrade(url)
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
                conn.commit()
    finally:
        engine.dispose()


@contextmanager
def _inbox(database_url: str | None) -> Iterator[Any]:
    """The inbox on DATABASE_URL (or ``--database-url``); its connections closed afterwards."""
    from bot.service.inbox import Inbox
    from bot.settings import load_settings
    from sync.state.db import make_engine

    engine = make_engine(database_url or load_settings().database_url)
    try:
        yield Inbox(engine)
    finally:
        engine.dispose()


@inbox_app.command("list")
def inbox_list(
    status: str | None = typer.Option(
        None, "--status", help="queued, processing, done, parked or ignored."
    ),
    limit: int = typer.Option(50, "--limit", min=1),
    output: OutputFormat = typer.Option(OutputFormat.text, "--format"),
    database_url: str | None = typer.Option(None, "--database-url", help="Overrides DATABASE_URL."),
) -> None:
    """List deliveries, newest first (parked ones show their last error)."""
    from sync.state.inbox import STATUSES

    if status is not None and status not in STATUSES:
        raise fail(f"--status {status}: use one of {', '.join(STATUSES)}", EXIT_BAD_INPUT)
    with _inbox(database_url) as inbox:
        rows = inbox.list(status=status, limit=limit)
        counts = inbox.counts()
    if output is OutputFormat.json:
        typer.echo(json.dumps({"counts": counts, "deliveries": rows}, default=str, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "source", "event", "action", "status", "tries", "received", "error")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["source"],
            row["event"],
            row["action"] or "",
            row["status"],
            str(row["attempts"]),
            f"{row['received_at']:%Y-%m-%d %H:%M:%S}",
            (row["last_error"] or row["deferred_reason"] or "")[:80],
        )
    console = Console(width=160)
    console.print(table)
    console.print(" ".join(f"{name}={count}" for name, count in counts.items()))


@inbox_app.command("retry")
def inbox_retry(
    delivery: int = typer.Argument(..., help="The inbox id (first column of `inbox list`)."),
    force: bool = typer.Option(
        False, "--force", help="Also take a failed delivery still waiting for its next attempt."
    ),
    database_url: str | None = typer.Option(None, "--database-url", help="Overrides DATABASE_URL."),
) -> None:
    """Queue a parked delivery again, with a fresh attempt budget."""
    with _inbox(database_url) as inbox:
        row = inbox.get(delivery)
        queued = None if row is None else inbox.retry(delivery, force=force)
    if row is None:
        raise fail(f"inbox: no delivery with id {delivery} (see `backlog-bot inbox list`)")
    if queued is None:
        status = row["status"]
        if status == "queued" and row["last_error"]:
            why = "failed and waits for its next attempt; add --force to run it now"
        elif status == "processing":
            why = "is being processed right now"
        else:
            why = f"is {status}; only parked (or, with --force, failed) deliveries are retried"
        raise fail(f"inbox: delivery {delivery} {why}")
    typer.echo(f"delivery {delivery} ({row['source']} {row['event']}) queued again")
