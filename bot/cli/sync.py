"""``backlog-bot plan|apply FILE --target jira|github|all`` and ``backlog-bot sync``.

``plan`` reads the targets and prints what ``apply`` would do, writing nothing. ``apply``
does it with progress on stderr (``bot.cli.progress``: a bar on a terminal, a line per phase
otherwise, nothing with ``--quiet``), prints the keys of what it created or updated and the HTTP
calls it made (also stored in the sync-run record). ``sync`` pulls workflow state (status,
assignee, points, sprint) back into the state database. Exit 1 when an item failed.

Both refuse (exit 2) a file with no user stories, and ``--prune`` that would close more than
``PRUNE_MAX_SHARE`` of the linked issues unless ``--prune-all`` is given
(``bot.cli.prune_guard``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bot.cli.app import EXIT_BAD_INPUT, EXIT_FINDINGS, OutputFormat, app

if TYPE_CHECKING:
    from bot.targets.factory import SyncTarget
    from sync.plan import Plan
    from sync.report import SyncReport

SYMBOLS = {
    "create": "+",
    "update": "~",
    "link": "=",
    "move": ">",
    "close": "x",
    "delete": "x",
    "orphan": "!",
}
TARGET_HELP = "jira, github or all (every registered target)."
QUIET = typer.Option(False, "--quiet", "-q", help="No progress on stderr (results still print).")
PRUNE_ALL_HELP = "Prune even when that closes more than PRUNE_MAX_SHARE of the linked issues."


@app.command("plan")
def plan(
    file: Path = typer.Argument(..., help="Backlog file (.md, .json, .yaml)."),
    target: str = typer.Option("jira", "--target", "-t", help=TARGET_HELP),
    prune: bool = typer.Option(False, "--prune", help="Plan closing items gone from the file."),
    prune_all: bool = typer.Option(False, "--prune-all", help=PRUNE_ALL_HELP),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f"),
) -> None:
    """Show what apply would create, update, link, move or close; writes nothing."""
    from backlog.parse import load_backlog
    from bot.cli.prune_guard import require_stories

    backlog = load_backlog(file)
    require_stories(backlog, str(file))
    prune = prune or prune_all
    results = [runner.plan(backlog, str(file), prune=prune) for _, runner in _runners(target)]
    if prune and not prune_all:
        _refuse_large_prune([o.plan for o in results], str(file))
    if output_format is OutputFormat.json:
        _echo_json(
            [
                {**o.plan.to_dict(), "warnings": o.warnings, "http_calls": o.http_calls}
                for o in results
            ],
            target,
        )
        return
    for outcome in results:
        typer.echo(render_plan(outcome.plan, str(file)))
        for warning in outcome.warnings:
            typer.echo(f"warning: {warning}")
        typer.echo(f"http calls: {_calls(outcome.http_calls)}")


@app.command("apply")
def apply(
    file: Path = typer.Argument(..., help="Backlog file (.md, .json, .yaml)."),
    target: str = typer.Option("jira", "--target", "-t", help=TARGET_HELP),
    prune: bool = typer.Option(False, "--prune", help="Close issues whose items left the file."),
    prune_all: bool = typer.Option(False, "--prune-all", help=PRUNE_ALL_HELP),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f"),
    quiet: bool = QUIET,
) -> None:
    """Create and update issues, links and sprints so the targets match the backlog."""
    from backlog.parse import load_backlog
    from bot.cli.progress import TargetProgress, choose_mode
    from bot.cli.prune_guard import require_stories

    backlog = load_backlog(file)
    require_stories(backlog, str(file))
    mode = choose_mode(quiet=quiet, machine_output=output_format is OutputFormat.json)
    prune = prune or prune_all
    if prune and not prune_all:
        # Plan every target first (fresh runners: each is used once), refuse before any write.
        plans = [runner.plan(backlog, str(file), prune=True).plan for _, runner in _runners(target)]
        _refuse_large_prune(plans, str(file))
    outcomes = []
    for name, runner in _runners(target):
        with TargetProgress(name, mode) as progress:
            progress.phase("planning")
            outcome = runner.apply(backlog, str(file), prune=prune, progress=progress)
            progress.finish(f"{sum(outcome.counts.values())} changes applied")
            outcomes.append(outcome)
    if output_format is OutputFormat.json:
        _echo_json([o.to_dict() for o in outcomes], target)
    else:
        for outcome in outcomes:
            typer.echo(render_apply(outcome))
    if any(o.failures for o in outcomes):
        raise typer.Exit(EXIT_FINDINGS)


@app.command("sync")
def sync_command(
    target: str = typer.Option("jira", "--target", "-t", help=TARGET_HELP),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f"),
    quiet: bool = QUIET,
) -> None:
    """Pull status, assignee, story points and sprint membership into the state database."""
    from bot.cli.progress import TargetProgress, choose_mode

    mode = choose_mode(quiet=quiet, machine_output=output_format is OutputFormat.json)
    outcomes = []
    for name, runner in _runners(target):
        with TargetProgress(name, mode) as progress:
            progress.phase("pulling")
            outcome = runner.pull()
            progress.finish(f"read {outcome.issues} issues")
            outcomes.append(outcome)
    if output_format is OutputFormat.json:
        typer.echo(json.dumps([_pulled(o) for o in outcomes], indent=2))
        return
    for o in outcomes:
        typer.echo(f"{o.target}: read {o.issues} issues, {o.changed} changed since the last sync")
        typer.echo(f"http calls: {_calls(o.http_calls)}")


def _refuse_large_prune(plans: list[Any], source: str) -> None:
    """Exit 2, listing the closes, when a prune would close too much of a target."""
    from bot.cli.prune_guard import check_prune
    from bot.settings import load_settings

    share = load_settings().prune_max_share
    refused = [check for check in (check_prune(p, share) for p in plans) if not check.allowed]
    if refused:
        for check in refused:
            typer.echo(check.refusal(source), err=True)
        raise typer.Exit(EXIT_BAD_INPUT)


def _runners(target: str) -> Iterator[tuple[str, SyncTarget]]:
    """Each chosen target's name and runner, built from the settings when its turn comes."""
    from bot.settings import load_settings
    from bot.targets.factory import build_target, target_names

    settings = load_settings()
    for name in target_names(target):
        yield name, build_target(name, settings)


def _pulled(report: SyncReport) -> dict[str, Any]:
    return {
        "target": report.target,
        "issues": report.issues,
        "changed": report.changed,
        "http_calls": report.http_calls,
    }


def _echo_json(payload: list[dict[str, Any]], target: str) -> None:
    """One object for one target, the list for ``--target all``."""
    typer.echo(json.dumps(payload if target == "all" else payload[0], indent=2))


def render_plan(plan: Plan, source: str) -> str:
    """Plan as text: one line per write or orphan, then the counts."""
    lines = [f"{plan.target}: plan for {source}"]
    for change in plan.changes:
        if change.action == "unchanged":
            continue
        key = f" {change.remote_key}" if change.remote_key and change.kind != "sprint" else ""
        where = f" (line {change.line})" if change.line else ""
        # titles start with the id ("US-001 · Name"); the line names it already
        detail = change.summary.removeprefix(f"{change.backlog_id} · ")
        if change.action == "update" and change.diff:
            detail += " — " + ", ".join(
                _diff_text(name, pair) for name, pair in change.diff.items()
            )
        lines.append(
            f"  {SYMBOLS.get(change.action, '?')} {change.action:<6} {change.kind:<7} "
            f"{change.backlog_id}{key}: {detail}{where}"
        )
    counts = plan.counts()
    summary = ", ".join(f"{n} {action}" for action, n in counts.items()) or "nothing to do"
    lines.append(f"summary: {summary}")
    if plan.is_noop:
        lines.append("no changes: the target is in step with the backlog")
    return "\n".join(lines)


def render_apply(outcome: SyncReport) -> str:
    lines = [f"{outcome.plan.target}: applied"]
    for backlog_id, key in outcome.keys.items():
        lines.append(f"  {backlog_id:<16} {key:<10} {outcome.urls.get(backlog_id, '')}".rstrip())
    counts = ", ".join(f"{n} {name}" for name, n in outcome.counts.items() if n) or "no changes"
    lines.append(f"summary: {counts}")
    lines.extend(f"warning: {warning}" for warning in outcome.warnings)
    lines.extend(f"error: {failure}" for failure in outcome.failures)
    lines.append(f"http calls: {_calls(outcome.http_calls)}")
    return "\n".join(lines)


def _diff_text(name: str, pair: Any) -> str:
    old, new = pair
    if name == "description" or len(str(old)) + len(str(new)) > 60:
        return f"{name} changed"
    return f"{name} {old} -> {new}"


def _calls(calls: dict[str, int]) -> str:
    total = sum(calls.values())
    return f"{total} (" + ", ".join(f"{k} {v}" for k, v in calls.items()) + ")" if calls else "0"
