"""``backlog-bot pull FILE --target jira|github|all [--diff] [--write]``.

Reads the trackers (batched) and writes the changes made there since the last apply or pull
into the backlog file, in the file's own style, touching only the lines that change: titles,
story points, priorities, statuses (a ``**Status:**`` line is added next to the story's
other fields when it has none), the user story sentence and sprint commitments (moved in
the sprint plan). Fields
changed in the file are left for ``apply``; fields changed on both sides are conflicts,
reported with both values and left alone unless ``[sync] conflicts`` says ``file-wins`` or
``tracker-wins`` (exit 1 while any remain).
Without ``--write`` nothing is written; ``--diff`` prints the unified diff of the file.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bot.cli.app import EXIT_FINDINGS, app
from bot.cli.sync import TARGET_HELP, _each, _text

if TYPE_CHECKING:
    from backlog.model import Backlog
    from bot.targets.factory import SyncTarget as TargetRunner
    from bot.targets.twoway import PullResult


@app.command("pull")
def pull(
    file: Path = typer.Argument(..., help="The Markdown backlog to write tracker changes into."),
    target: str = typer.Option("jira", "--target", "-t", help=TARGET_HELP),
    write: bool = typer.Option(False, "--write", help="Write the changes into FILE."),
    diff: bool = typer.Option(False, "--diff", help="Print the unified diff of FILE."),
) -> None:
    """Write changes made on Jira/GitHub since the last apply or pull into the backlog file."""
    from backlog.parse import load_backlog
    from bot.targets.twoway import drift_lines, measure, policy, pull_into, record_pulled

    if file.suffix.lower() not in (".md", ".markdown"):
        raise typer.BadParameter(f"{file}: pull writes Markdown backlogs (.md) only")
    text = _text(file)
    conflicts = policy()
    current = {"text": text}
    results: list[tuple[TargetRunner, PullResult]] = []

    def run(_name: str, runner: TargetRunner) -> Any:
        # each target reads the file as the previous one left it
        backlog = load_backlog(file) if current["text"] == text else _parse(current["text"], file)
        try:
            drift = measure(runner, backlog, current["text"], conflicts)
            result = pull_into(runner, backlog, current["text"], drift)
        finally:
            runner.close()
        current["text"] = result.edit.text
        results.append((runner, result))
        return result

    _each(target, "pulled", run)
    new_text = current["text"]
    if diff and new_text != text:
        typer.echo(
            "".join(
                difflib.unified_diff(
                    text.splitlines(keepends=True),
                    new_text.splitlines(keepends=True),
                    f"a/{file}",
                    f"b/{file}",
                )
            ),
            nl=False,
        )
    for _runner, result in results:
        drift = result.drift
        name = drift.target
        pulled = len(result.edit.applied)
        typer.echo(
            f"{name}: {pulled} field(s) from the tracker, {len(drift.to_push)} from the file "
            f"(apply pushes them), {len(drift.conflicts)} conflict(s) (policy: {drift.policy})"
        )
        for line in drift_lines(drift):
            typer.echo(line)
        for edit, why in result.edit.skipped:
            typer.echo(f"  not written: {edit.story_id} {edit.field}: {why}")
    if write and new_text != text:
        with open(file, "w", encoding="utf-8", newline="") as handle:
            handle.write(new_text)
        typer.echo(f"wrote {file}")
    if write:
        written = _parse(new_text, file)
        for runner, result in results:
            record_pulled(runner, result, written)
    elif not write and new_text != text:
        typer.echo(f"{file}: not written (use --write)")
    if any(result.drift.conflicts for _runner, result in results):
        raise typer.Exit(EXIT_FINDINGS)


def _parse(text: str, file: Path) -> Backlog:
    from backlog.parse import parse_text

    return parse_text(text, str(file))
