"""``backlog-bot pull FILE --target jira|github|all [--diff] [--write]``.

Reads the trackers (batched) and writes the changes made there since the last apply or pull
into the backlog file, in the file's own style, touching only the lines that change: titles,
story points, priorities, statuses (a ``**Status:**`` line is added next to the story's
other fields when it has none), the user story sentence, dependencies (the
``**Dependencies:**`` line in the file's own style), epics (the ``**Epic:**`` field, else
the story's block moved to the end of the new epic's stories), sprint commitments (moved in the
sprint plan) and stories created in the tracker under a linked epic (appended to that epic
in the file's style with a new id, and linked on ``--write``). Fields changed in the file
are left for ``apply``; fields changed on both sides are conflicts, reported with both
values and left alone unless ``[sync] conflicts`` says ``file-wins`` or ``tracker-wins``
(exit 1 while any remain).
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
    from bot.targets.newstories import Appended
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
    from bot.targets.newstories import append_new
    from bot.targets.twoway import measure, policy, pull_into

    if file.suffix.lower() not in (".md", ".markdown"):
        raise typer.BadParameter(f"{file}: pull writes Markdown backlogs (.md) only")
    text = _text(file)
    conflicts = policy()
    current = {"text": text}
    results: list[tuple[TargetRunner, PullResult]] = []
    appended: list[tuple[TargetRunner, Appended]] = []

    def run(_name: str, runner: TargetRunner) -> Any:
        # each target reads the file as the previous one left it
        backlog = load_backlog(file) if current["text"] == text else _parse(current["text"], file)
        try:
            drift = measure(runner, backlog, current["text"], conflicts)
            result = pull_into(runner, backlog, current["text"], drift)
            # stories created in the tracker under a linked epic join their epic in the file
            edited = _parse(result.edit.text, file) if result.edit.applied else backlog
            added = append_new(runner, edited, result.edit.text)
        except BaseException:
            runner.close()
            raise
        current["text"] = added.result.text
        results.append((runner, result))
        appended.append((runner, added))
        return result

    try:
        _each(target, "pulled", run)
        _report(file, text, current["text"], results, appended, write=write, diff=diff)
    finally:
        for runner, _result in results:
            runner.close()
    if any(result.drift.conflicts for _runner, result in results):
        raise typer.Exit(EXIT_FINDINGS)


def _report(
    file: Path,
    text: str,
    new_text: str,
    results: list[tuple[TargetRunner, PullResult]],
    appended: list[tuple[TargetRunner, Appended]],
    *,
    write: bool,
    diff: bool,
) -> None:
    """Print the diff and each target's lines; with ``write``, write the file, record the
    base and link the appended stories (the next apply updates their issues, never twice)."""
    from bot.targets.newstories import link_appended
    from bot.targets.twoway import drift_lines, record_pulled

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
    for (_runner, result), (_same, added) in zip(results, appended, strict=True):
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
        for line in added.lines():
            typer.echo(line)
    if write and new_text != text:
        with open(file, "w", encoding="utf-8", newline="") as handle:
            handle.write(new_text)
        typer.echo(f"wrote {file}")
    elif not write and new_text != text:
        typer.echo(f"{file}: not written (use --write)")
    if write:
        written = _parse(new_text, file)
        for runner, result in results:
            record_pulled(runner, result, written)
        for target, new in appended:
            link_appended(target, new)


def _parse(text: str, file: Path) -> Backlog:
    from backlog.parse import parse_text

    return parse_text(text, str(file))
