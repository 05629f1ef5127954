"""``backlog-bot db upgrade|current``: database migrations."""

from __future__ import annotations

import typer

from bot.cli.app import app

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade(
    revision: str = typer.Argument("head", help="Target revision."),
    database_url: str | None = typer.Option(None, "--database-url", help="Overrides DATABASE_URL."),
) -> None:
    """Apply the migrations to DATABASE_URL (SQLite file by default)."""
    from bot.settings import load_settings
    from sync.state import db

    url = database_url or load_settings().database_url
    if revision == "head":
        from bot.cli.service import migrate_with_lock

        # Kubernetes runs this in every replica's init container: one migrates, others wait.
        migrate_with_lock(url)
    else:
        db.upgrade(url, revision)
    typer.echo(f"database at revision {db.current_revision(url)} ({_safe_url(url)})")


@db_app.command("current")
def current(
    database_url: str | None = typer.Option(None, "--database-url", help="Overrides DATABASE_URL."),
) -> None:
    """Print the database's current migration revision."""
    from bot.settings import load_settings
    from sync.state import db

    url = database_url or load_settings().database_url
    typer.echo(db.current_revision(url) or "(empty database)")


def _safe_url(url: str) -> str:
    """The URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
