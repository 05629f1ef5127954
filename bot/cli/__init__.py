"""The ``backlog-bot`` command line: the typer app in ``app``, one module per command group."""

from bot.cli.app import main

__all__ = ["main"]
