"""``backlog-bot parse FILE``: read a backlog (Markdown, JSON or YAML) and print it.

``--format json`` / ``--format yaml`` print the canonical form (see docs/backlog-format.md);
``--format text`` (the default) prints a summary with counts. Imports stay inside the command
so that the whole process starts fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.app import app

if TYPE_CHECKING:
    from backlog.fix import LineEdit
    from backlog.model import Backlog

EditsFor = Callable[[str, "Backlog"], "list[LineEdit]"]


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

        data = render_summary(backlog).encode("utf-8")
    else:
        from backlog import serialize

        data = (
            serialize.dump_json_bytes(backlog)
            if output_format is ParseFormat.json
            else serialize.dump_yaml(backlog).encode("utf-8")
        )
    if output is None:
        _write_stdout(data)
    else:
        output.write_bytes(data)


def _write_stdout(data: bytes) -> None:
    """Write encoded output as it is: a large JSON document is not decoded to be re-encoded."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a text-only stream (output captured in a StringIO)
        sys.stdout.write(data.decode("utf-8"))
        return
    sys.stdout.flush()
    buffer.write(data)
    buffer.flush()


@app.command("fix")
def fix(
    files: list[Path] = typer.Argument(..., help="Markdown backlog files to fix in place."),
    add_ids: bool = typer.Option(
        False, "--add-ids", help="Write explicit ids for stories the file gives none."
    ),
    diff: bool = typer.Option(False, "--diff", help="Print the changes; write nothing."),
) -> None:
    """Apply the certain fixes (declared totals, capacity-check sums, sprint overview rows
    and total, dependency matrix rows that disagree with the story field) and, with
    --add-ids, write missing story ids (an ID column in front of a story table).

    Only the lines fixed change; the rest of each file stays byte-identical.
    """
    from backlog.fix import add_ids as id_edits
    from backlog.fix import certain_fixes

    for path in files:
        rewrite(path, lambda text, backlog: [
            *certain_fixes(text, backlog), *(id_edits(text, backlog) if add_ids else ())
        ], diff=diff)  # fmt: skip


def rewrite(path: Path, edits_for: EditsFor, *, diff: bool) -> bool:
    """Apply ``edits_for(text, backlog)`` to a Markdown file (or print the diff).

    True when the file changes (or would change, with ``diff``).

    Prints one line per file on standard error saying what was fixed.
    """
    from backlog.errors import BadInputError
    from backlog.fix import apply_edits
    from backlog.parse import MARKDOWN_SUFFIXES, decode, parse_text

    if path.suffix.casefold() not in MARKDOWN_SUFFIXES:
        raise BadInputError("only Markdown backlogs can be fixed in place", file=str(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"cannot read the file: {exc.strerror}", file=str(path)) from None
    text = decode(data, str(path))
    edits = edits_for(text, parse_text(text, source=str(path)))
    fixed = apply_edits(text, edits)
    if diff:
        import difflib

        lines = difflib.unified_diff(
            text.splitlines(keepends=True),
            fixed.splitlines(keepends=True),
            fromfile=str(path),
            tofile=str(path),
        )
        typer.echo("".join(lines), nl=False)
    elif fixed != text:
        path.write_bytes(fixed.encode("utf-8"))
    verb = "would fix" if diff else "fixed"
    # Lines changed only to keep a table valid (its delimiter, a row that is no story) carry
    # no reason of their own: they are part of the fix that names them.
    reasons = [edit.why for edit in edits if edit.why]
    what = "; ".join(reasons) if edits else "nothing to fix"
    typer.echo(f"{path}: {verb} {len(reasons)}: {what}" if edits else f"{path}: {what}", err=True)
    return fixed != text
