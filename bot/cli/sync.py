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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from bot.cli.app import EXIT_BAD_INPUT, EXIT_FINDINGS, OutputFormat, app, fail

if TYPE_CHECKING:
    from bot.targets.factory import SyncTarget
    from sync.merge import FieldMerge
    from sync.plan import Plan
    from sync.report import SyncReport
    from sync.twoway import Drift

T = TypeVar("T")

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
    """Show what apply would do, and what changed on either side since the last apply or
    pull (read from the trackers); writes nothing. Exit 1 on a conflict."""
    from backlog.parse import load_backlog
    from bot.cli.prune_guard import require_stories
    from bot.targets.twoway import guard, hold_left_alone, measure, policy

    backlog, text = load_backlog(file), _text(file)
    require_stories(backlog, str(file))
    prune = prune or prune_all
    conflicts = policy()

    def run(_name: str, runner: SyncTarget) -> tuple[SyncReport, Drift]:
        drift = measure(runner, backlog, text, conflicts)
        guarded = guard(runner, backlog, drift)
        hold_left_alone(runner, guarded, drift, backlog)
        return runner.plan(guarded, str(file), prune=prune), drift

    results = _each(target, "planned", run)
    if prune and not prune_all:
        _refuse_large_prune([o.plan for o, _ in results], str(file))
    if output_format is OutputFormat.text:
        for report, drift in results:
            typer.echo(render_plan_outcome(report, str(file), drift))
    if output_format is OutputFormat.json:
        _echo_json(
            [
                {
                    **o.plan.to_dict(),
                    "drift": [_merge_dict(m, d.policy) for m in d.merges],
                    "warnings": o.warnings,
                    "http_calls": o.http_calls,
                }
                for o, d in results
            ],
            target,
        )
    if any(d.conflicts for _, d in results):
        raise typer.Exit(EXIT_FINDINGS)


@app.command("apply")
def apply(
    file: Path = typer.Argument(..., help="Backlog file (.md, .json, .yaml)."),
    target: str = typer.Option("jira", "--target", "-t", help=TARGET_HELP),
    prune: bool = typer.Option(False, "--prune", help="Close issues whose items left the file."),
    prune_all: bool = typer.Option(False, "--prune-all", help=PRUNE_ALL_HELP),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f"),
    quiet: bool = QUIET,
) -> None:
    """Create and update issues, links and sprints so the targets match the backlog; fields
    changed on the tracker since the last apply or pull are left alone (and listed)."""
    from backlog.parse import load_backlog
    from bot.cli.progress import TargetProgress, choose_mode
    from bot.cli.prune_guard import require_stories
    from bot.targets.twoway import guard, hold_left_alone, measure, policy, record_applied

    backlog, text = load_backlog(file), _text(file)
    require_stories(backlog, str(file))
    mode = choose_mode(quiet=quiet, machine_output=output_format is OutputFormat.json)
    prune = prune or prune_all
    if prune and not prune_all:
        # Plan every target first (fresh runners: each is used once), refuse before any write.
        plans = [runner.plan(backlog, str(file), prune=True).plan for _, runner in _runners(target)]
        _refuse_large_prune(plans, str(file))
    conflicts = policy()

    def run(name: str, runner: SyncTarget) -> tuple[SyncReport, Drift]:
        drift = measure(runner, backlog, text, conflicts)
        guarded = guard(runner, backlog, drift)
        hold_left_alone(runner, guarded, drift, backlog)
        with TargetProgress(name, mode) as progress:
            progress.phase("planning")
            report = runner.apply(guarded, str(file), prune=prune, progress=progress)
            progress.finish(f"{report.applied} changes applied")
        if not report.failures:
            record_applied(runner, backlog, text, drift)
        return report, drift

    results = _each(
        target,
        "applied",
        run,
        show=(lambda pair: render_apply(*pair)) if output_format is OutputFormat.text else None,
    )
    if output_format is OutputFormat.json:
        _echo_json(
            [
                {
                    **o.to_dict(),
                    "left_alone": [m.describe_item() for m in d.left_alone()],
                    "conflicts": len(d.conflicts),
                }
                for o, d in results
            ],
            target,
        )
    if any(o.failures or d.conflicts for o, d in results):
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

    def run(name: str, runner: SyncTarget) -> SyncReport:
        with TargetProgress(name, mode) as progress:
            progress.phase("pulling")
            outcome = runner.pull()
            progress.finish(f"read {outcome.issues} issues")
        return outcome

    text = output_format is OutputFormat.text
    outcomes = _each(target, "synced", run, show=render_pull if text else None)
    if output_format is OutputFormat.json:
        typer.echo(json.dumps([_pulled(o) for o in outcomes], indent=2))


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


def _each(
    target: str,
    verb: str,
    run: Callable[[str, SyncTarget], T],
    *,
    show: Callable[[T], str] | None = None,
) -> list[T]:
    """``run`` on each chosen target in turn, ``show``-ing each result as soon as it is done.

    A remote failure that stops a target (a refused credential, an unknown repository)
    ends the command with one line (exit 2) naming what was done and what was not: the
    targets before it keep their results, the ones after it are not started.
    """
    from backlog.errors import RemoteError
    from bot.targets.factory import target_names

    names = target_names(target)
    done: list[T] = []
    for name, runner in _runners(target):
        try:
            result = run(name, runner)
        except RemoteError as exc:
            finished = names[: len(done)]
            skipped = names[len(done) + 1 :]
            tail = "".join(
                [
                    f"; {', '.join(finished)} {verb}" if finished else "",
                    f"; {', '.join(skipped)} not started" if skipped else "",
                ]
            )
            raise fail(f"{exc}{tail}") from exc
        done.append(result)
        if show is not None:
            typer.echo(show(result))
    return done


def _runners(target: str) -> Iterator[tuple[str, SyncTarget]]:
    """Each chosen target's name and runner, built from the settings when its turn comes;
    the targets share one database engine, the command's."""
    from bot.settings import load_settings
    from bot.targets.factory import build_target, target_names
    from sync.state.db import make_engine

    settings = load_settings()
    names = target_names(target)
    database = make_engine(settings.database_url)  # connects on first use, not here
    try:
        for name in names:
            yield name, build_target(name, settings, database=database)
    finally:
        database.dispose()


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


def render_plan_outcome(outcome: SyncReport, source: str, drift: Drift | None = None) -> str:
    """A plan with the drift since the last apply or pull, its warnings and HTTP calls."""
    from bot.targets.twoway import drift_lines

    lines = [render_plan(outcome.plan, source)]
    if drift is not None and drift.merges:
        if lines[0].endswith("no changes: the target is in step with the backlog"):
            lines[0] = lines[0].rsplit("\n", 1)[0]
        lines.append(
            f"changed since the last apply or pull (conflicts: {drift.policy}; "
            "< pull writes it into the file, ~ apply pushes it, ! conflict):"
        )
        lines.extend(drift_lines(drift))
    lines.extend(f"warning: {warning}" for warning in outcome.warnings)
    lines.append(f"http calls: {_calls(outcome.http_calls)}")
    return "\n".join(lines)


def render_pull(outcome: SyncReport) -> str:
    return (
        f"{outcome.target}: read {outcome.issues} issues, {outcome.changed} changed since the "
        f"last sync\nhttp calls: {_calls(outcome.http_calls)}"
    )


def render_plan(plan: Plan, source: str) -> str:
    """Plan as text: one line per write or orphan, then the counts."""
    from sync.plan import thing

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
                _diff_text(name, pair, change.titles.get(name))
                for name, pair in change.diff.items()
            )
        if change.note:
            detail += f"; {change.note}"
        lines.append(
            f"  {SYMBOLS.get(change.action, '?')} {change.action:<6} {thing(change.kind):<7} "
            f"{change.backlog_id}{key}: {detail}{where}"
        )
    counts = plan.counts()
    summary = ", ".join(f"{n} {action}" for action, n in counts.items()) or "nothing to do"
    lines.append(f"summary: {summary}")
    if plan.is_noop:
        lines.append("no changes: the target is in step with the backlog")
    return "\n".join(lines)


def render_apply(outcome: SyncReport, drift: Drift | None = None) -> str:
    lines = [f"{outcome.plan.target}: applied"]
    for backlog_id, key in outcome.keys.items():
        lines.append(f"  {backlog_id:<16} {key:<10} {outcome.urls.get(backlog_id, '')}".rstrip())
    lines.append(f"summary: {outcome.summary()}")
    if drift is not None:
        lines.extend(
            f"left alone (changed on the tracker): {merge.describe_item()}"
            for merge in drift.left_alone()
        )
    lines.extend(f"warning: {warning}" for warning in outcome.warnings)
    lines.extend(f"error: {failure}" for failure in outcome.failures)
    lines.append(f"http calls: {_calls(outcome.http_calls)}")
    return "\n".join(lines)


def _text(file: Path) -> str:
    """The backlog file's exact text (line endings kept) for the field-level comparison."""
    with open(file, encoding="utf-8", newline="") as handle:
        return handle.read()


def _merge_dict(merge: FieldMerge, policy: str) -> dict[str, Any]:
    return {
        "item": merge.item,
        "field": merge.field,
        "origin": merge.origin,
        "action": merge.action(policy),
        "base": merge.base,
        "file": merge.file,
        "tracker": merge.tracker,
        "changed_by": merge.changed_by,
    }


def _diff_text(name: str, pair: Any, titles: tuple[str | None, str | None] | None) -> str:
    if titles is not None:  # numbers (a GitHub milestone's) read by their titles, however long
        return f"{name} {_title(titles[0])} -> {_title(titles[1])}"
    old, new = pair
    if name == "description" or len(str(old)) + len(str(new)) > 60:
        return f"{name} changed"
    return f"{name} {old} -> {new}"


def _title(title: str | None) -> str:
    if title is None:
        return "(none)"
    return repr(title) if " " in title else title


def _calls(calls: dict[str, int]) -> str:
    total = sum(calls.values())
    return f"{total} (" + ", ".join(f"{k} {v}" for k, v in calls.items()) + ")" if calls else "0"
