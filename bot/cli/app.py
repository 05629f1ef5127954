"""The ``backlog-bot`` command line: a typer app whose subcommands live in ``bot/cli/*.py``.

Exit codes: 0 ok, 1 findings of severity error (or a sprint over capacity), 2 bad input or
usage, reported as one line naming the file and line, never a traceback.
Imports are lazy so that ``backlog-bot parse`` starts fast.
"""

from __future__ import annotations

import gc
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


# Which module defines each command (or command group). ``main`` imports only the module of
# the command being run, so ``backlog-bot parse`` neither imports nor builds the other
# commands; ``--help``, no command or an unknown one load them all.
# ``tests/test_cli_startup.py`` checks this map against what the modules register.
COMMAND_MODULES = {
    "parse": "bot.cli.backlog",
    "fix": "bot.cli.backlog",
    "db": "bot.cli.db",
    "validate": "bot.cli.rules",
    "capacity": "bot.cli.rules",
    "rules": "bot.cli.rules",
    "plan": "bot.cli.sync",
    "apply": "bot.cli.sync",
    "sync": "bot.cli.sync",
    "pull": "bot.cli.pull",
    "sandbox": "bot.cli.sandbox",
    "serve": "bot.cli.service",
    "inbox": "bot.cli.service",
    "digest": "bot.cli.slack",
    "demo": "bot.cli.slack",
    "config": "bot.cli.config",
    "slack": "bot.cli.slack_app",
    "report": "bot.cli.report",
}


# Commands that read a file, print and exit (``main`` runs them without the cyclic GC).
ONE_SHOT_COMMANDS = frozenset({"parse", "validate", "fix", "capacity", "rules"})


def command_name(argv: list[str]) -> str | None:
    """The subcommand ``argv`` runs (the root options take no value), or None."""
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg
    return None


def _register(argv: list[str] | None = None) -> None:
    """Attach the command modules: the one defining ``argv``'s command, or every one.

    Each module adds its commands to ``app`` when imported.
    """
    import importlib

    name = command_name(sys.argv[1:] if argv is None else argv)
    module = COMMAND_MODULES.get(name or "")
    for candidate in (module,) if module else dict.fromkeys(COMMAND_MODULES.values()):
        try:
            importlib.import_module(candidate)
        except ModuleNotFoundError as exc:
            if exc.name != candidate:
                raise


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; turns known errors into one-line messages and exit 2."""
    one_shot = argv is None and command_name(sys.argv[1:]) in ONE_SHOT_COMMANDS
    if one_shot:
        # A one-shot command allocates many objects (imports, the parse, the report) and
        # ends soon: the cyclic garbage collector would only rescan them, a quarter of the
        # run. Reference counting still frees everything that is not a cycle, but for the
        # parser's intermediate objects, which end with the process (``_exit_now``).
        from backlog.markdown.retain import keep_until_exit

        gc.disable()
        keep_until_exit()
    code = _run(argv)
    if one_shot:
        _exit_now(code)
    return code


def _exit_now(code: int) -> None:
    """End a one-shot command without tearing the interpreter down (as mypy does): its
    output is written and nothing is left to close, so freeing every object of the parsed
    backlog one by one, and the final garbage collection over all of them, is wasted time."""
    import logging
    import os

    logging.shutdown()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        return  # e.g. a closed pipe: the interpreter's own exit reports it
    os._exit(code)


def _run(argv: list[str] | None) -> int:
    from backlog.errors import BacklogBotError

    _register(argv)
    try:
        result = app(args=argv, standalone_mode=False)
    except typer.TyperException as exc:
        # typer >= 0.20 vendors click: its usage errors (bad option value, missing argument)
        # derive from typer.TyperException, not from click.ClickException.
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            typer.echo(f"error: {exc}", err=True)
        return EXIT_BAD_INPUT
    except BacklogBotError as exc:
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
        code = _click_exit(exc)
        if code is not None:
            return code
        if _is_sandbox_setup_error(exc):
            typer.echo(f"error: {exc}", err=True)
            return EXIT_BAD_INPUT
        message = database_failure(exc)
        if message is None:
            raise
        typer.echo(f"error: {message}", err=True)
        return EXIT_BAD_INPUT
    # typer (>= 0.16) catches its own ``typer.Exit`` in non-standalone mode and returns the code.
    return result if isinstance(result, int) else EXIT_OK


def _is_sandbox_setup_error(exc: Exception) -> bool:
    """A sandbox that cannot start (only possible once a command imported the sandboxes;
    the container image ships without them)."""
    errors = sys.modules.get("sandbox.errors")
    return errors is not None and isinstance(exc, errors.SandboxSetupError)


def _click_exit(exc: Exception) -> int | None:
    """The exit code for an exception of the (unvendored) click library, else None.

    typer vendors its own click; the real one is only consulted when something imported it
    (importing it just in case would cost every command its start-up time).
    """
    click = sys.modules.get("click")
    if click is None:
        return None
    if isinstance(exc, click.exceptions.Exit):
        return int(exc.exit_code)
    if isinstance(exc, click.exceptions.Abort):
        typer.echo("aborted", err=True)
        return 130
    if isinstance(exc, click.ClickException):
        exc.show()
        return EXIT_BAD_INPUT
    return None


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
