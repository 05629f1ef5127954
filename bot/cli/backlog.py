"""``backlog-bot parse FILE``: read a backlog (Markdown, JSON or YAML) and print it.

``--format json`` / ``--format yaml`` print the canonical form (see docs/backlog-format.md);
``--format text`` (the default) prints a summary with counts. Imports stay inside the command
so that the whole process starts fast.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from bot.cli.app import app


class ParseFormat(StrEnum):
    text = "text"
    json = "json"
    yaml = "yaml"


@app.command("parse")
def parse(
    file: Path = typer.Argument(..., help="Backlog file: .md, .json, .yaml or .yml."),
    output_format: ParseFormat = typer.Option(
        ParseFormat.text, "--format", "-f", help="text summary, or canonical json / yaml."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file instead of standard output."
    ),
) -> None:
    """Parse a backlog and print its canonical JSON/YAML or a summary with counts.

    A coverage line (stories read, blocks not understood) goes to standard error.
    """
    from backlog.coverage import coverage_line, require_stories
    from backlog.parse import load_backlog

    backlog = load_backlog(file)
    require_stories(backlog, str(file))
    typer.echo(f"{file}: {coverage_line(backlog)}", err=True)
    if output_format is ParseFormat.text:
        from bot.digests.backlog_summary import render_summary

        text = render_summary(backlog)
    else:
        from backlog import serialize

        text = (
            serialize.dump_json(backlog)
            if output_format is ParseFormat.json
            else serialize.dump_yaml(backlog)
        )
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
