"""The ``backlog-bot`` command line: a typer app whose subcommands live in ``bot/cli_*.py``.

Exit codes: 0 ok, 1 findings of severity error (or a sprint over capacity), 2 bad input or
usage, reported as one line naming the file and line, never a traceback.
Imports are lazy so that ``backlog-bot parse`` starts fast.
"""

from __future__ import annotations

import sys
from enum import StrEnum

import typer

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2

app = typer.Typer(
    name="backlog-bot",
    help="Keeps an agile backlog honest: Jira and GitHub sync, DoR/DoD/INVEST rules, Slack.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"backlog-bot {version('backlog-bot')}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    ctx: typer.Context,
    show_version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Keeps an agile backlog honest: Jira and GitHub sync, DoR/DoD/INVEST rules, Slack."""
    if ctx.invoked_subcommand != "config":
        # Every table is checked before any command runs: a typo in [schedule] stops
        # `validate` too, instead of being ignored until the service reads it.
        from bot.config_file import load_config_document

        load_config_document()


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print ``error: message`` on stderr and return the exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _register() -> None:
    """Attach every command module. Each module adds its commands to ``app``."""
    import importlib

    for name in (
        "bot.cli.backlog",
        "bot.cli.db",
        "bot.cli.rules",
        "bot.cli.sync",
        "bot.cli.sandbox",
        "bot.cli.service",
        "bot.cli.slack",
        "bot.cli.config",
        "bot.cli.slack_app",
        "bot.cli.report",
    ):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; turns known errors into one-line messages and exit 2."""
    import click

    from backlog.errors import BacklogBotError

    try:
        from sandbox.errors import SandboxSetupError
    except ModuleNotFoundError:  # the container image ships without the sandbox emulators

        class SandboxSetupError(Exception):  # type: ignore[no-redef]
            pass

    _register()
    try:
        result = app(args=argv, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        typer.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return EXIT_BAD_INPUT
    except typer.TyperException as exc:
        # typer >= 0.20 vendors click: its usage errors (bad option value, missing argument)
        # derive from typer.TyperException, not from click.ClickException.
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            typer.echo(f"error: {exc}", err=True)
        return EXIT_BAD_INPUT
    except (BacklogBotError, SandboxSetupError) as exc:
        typer.echo(f"error: {exc}", err=True)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as exc:
        if exc.name != "sandbox" and not str(exc.name).startswith("sandbox."):
            raise
        typer.echo(
            "error: this installation has no sandbox emulators (the container image leaves "
            "them out); run `sandbox` and `demo` from a source install: pip install -e .",
            err=True,
        )
        return EXIT_BAD_INPUT
    except Exception as exc:
        message = database_failure(exc)
        if message is None:
            raise
        typer.echo(f"error: {message}", err=True)
        return EXIT_BAD_INPUT
    # typer (>= 0.16) catches its own ``typer.Exit`` in non-standalone mode and returns the code.
    return result if isinstance(result, int) else EXIT_OK


def database_failure(exc: BaseException) -> str | None:
    """One line for a database that cannot be reached or a ``DATABASE_URL`` that cannot work.

    ``None`` when ``exc`` is not a database failure. SQLAlchemy is only consulted when some
    command already imported it, so ``parse`` and ``validate`` stay light.
    """
    import sys as _sys

    if "sqlalchemy.exc" not in _sys.modules:
        return None
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError

    from bot.db_errors import describe

    if isinstance(exc, OperationalError | ArgumentError | NoSuchModuleError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return describe(exc)
    return None


if __name__ == "__main__":
    sys.exit(main())
