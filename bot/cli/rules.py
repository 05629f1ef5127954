"""``backlog-bot validate | capacity | rules``: the rules engine on the command line.

- ``validate FILE``: run the DoR/INVEST/capacity/consistency/dependency rules; exit 1 when an
  error-severity finding remains, 2 on bad input.
- ``capacity FILE``: sprint x role load table and the Monte Carlo forecast; exit 1 when a
  sprint is over capacity.
- ``rules [ID]``: list the rules, or print one rule's documentation.
"""

from __future__ import annotations

import gc
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.app import EXIT_FINDINGS, OutputFormat, app, fail

if TYPE_CHECKING:
    from backlog.model import Backlog
    from rules.config import RulesConfig


class ReportFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"
    sarif = "sarif"
    github = "github"


def _split(values: list[str] | None) -> tuple[str, ...]:
    return tuple(p.strip() for value in values or () for p in value.split(",") if p.strip())


def _rules_config(config: Path | None, select: list[str], ignore: list[str]) -> RulesConfig:
    """The rules config: ``--config``, else the settings' config file, else discovery."""
    from backlog.errors import ConfigurationError
    from bot.config_file import config_file_path
    from rules.config import load_rules_config
    from rules.registry import unknown_selectors

    loaded = load_rules_config(config or config_file_path())
    merged = loaded.with_selection(_split(select), _split(ignore))
    bad = unknown_selectors((*merged.select, *merged.ignore, *merged.severity))
    if bad:
        raise ConfigurationError(
            f"unknown rule selector {bad[0]!r} (from --select/--ignore or {loaded.source}); "
            "run 'backlog-bot rules' for the ids"
        )
    return merged


@app.command("validate")
def validate(
    files: list[str] = typer.Argument(
        ..., help="Backlog files (.md, .json, .yaml); '-' reads Markdown from standard input."
    ),
    output_format: ReportFormat = typer.Option(
        ReportFormat.text, "--format", "-f", help="text, json, markdown, sarif or github."
    ),
    config: Path | None = typer.Option(
        None, "--config", help="backlog-bot.toml or pyproject.toml with the [rules] table."
    ),
    select: list[str] = typer.Option([], "--select", help="Rule id prefixes to run (a,b)."),
    ignore: list[str] = typer.Option([], "--ignore", help="Rule id prefixes to skip (a,b)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the report here."),
    fix: bool = typer.Option(
        False, "--fix", help="Apply the certain fixes in place, then report what remains."
    ),
    diff: bool = typer.Option(
        False, "--diff", help="Print the certain fixes as a diff; write nothing (exit 1 if any)."
    ),
) -> None:
    """Check backlogs against their DoR, INVEST, capacity and consistency rules.

    Each file's coverage line (stories read, blocks not understood) goes to standard error.
    ``--fix`` corrects declared epic and document totals, capacity-check sums, the sprint
    overview total and dependency-matrix rows that disagree with the story field (the story
    field wins); every other line stays byte-identical.
    """
    from backlog.coverage import coverage_line, require_stories
    from rules.report import formatter
    from rules.runner import has_errors, run_rules

    settings = _rules_config(config, select, ignore)
    if (fix or diff) and "-" in files:
        raise fail("--fix and --diff rewrite files: name the files instead of '-'")
    if diff:
        raise typer.Exit(EXIT_FINDINGS if _fix_files(files, diff=True) else 0)
    if fix:
        _fix_files(files, diff=False)
    findings = []
    for name in files:
        backlog = _load(name)
        require_stories(backlog, backlog.source or name)
        typer.echo(f"{backlog.source or name}: {coverage_line(backlog)}", err=True)
        # The backlog lives until its findings are made and holds no garbage cycles:
        # freezing it spares the cyclic collector rescanning it again and again while the
        # rules allocate (a third of the rules' time at 1,000 stories).
        gc.freeze()
        try:
            findings.extend(run_rules(backlog, settings))
        finally:
            gc.unfreeze()
    findings.sort(key=lambda finding: finding.sort_key)
    text = formatter(output_format.value)(findings)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
    if has_errors(findings):
        raise typer.Exit(EXIT_FINDINGS)


def _fix_files(files: list[str], *, diff: bool) -> bool:
    """Apply (or print) the certain fixes; True when some file has something to fix."""
    from backlog.fix import certain_fixes
    from bot.cli.backlog import rewrite

    changed = False
    for name in files:
        changed |= rewrite(Path(name), certain_fixes, diff=diff)
    return changed


def _load(name: str) -> Backlog:
    """A backlog file, or Markdown from standard input for ``-``."""
    from backlog.parse import load_backlog, parse_bytes

    if name == "-":
        return parse_bytes(sys.stdin.buffer.read(), source="<stdin>")
    return load_backlog(name)


@app.command("capacity")
def capacity(
    file: Path = typer.Argument(..., help="Backlog file (.md, .json, .yaml)."),
    sprint: int | None = typer.Option(None, "--sprint", help="Only this sprint number."),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f"),
    start_date: str | None = typer.Option(
        None, "--start-date", help="First day of the forecast (YYYY-MM-DD) for end dates."
    ),
    config: Path | None = typer.Option(None, "--config", help="Config file with [rules]."),
) -> None:
    """Sprint x role load table with load %, and a Monte Carlo forecast (P50/P85/P95)."""
    from dataclasses import replace

    from backlog.coverage import require_stories
    from backlog.errors import BadInputError
    from backlog.parse import load_backlog
    from bot.digests.capacity_view import capacity_document, render_capacity

    settings = _rules_config(config, [], [])
    if start_date is not None:
        try:
            start = date.fromisoformat(start_date)
        except ValueError:
            raise fail(f"--start-date {start_date!r} is not a date (use YYYY-MM-DD)") from None
        settings = replace(settings, forecast=replace(settings.forecast, start_date=start))
    backlog = load_backlog(file)
    require_stories(backlog, str(file))
    numbers = [s.number for s in backlog.sprints]
    if sprint is not None and sprint not in numbers:
        raise BadInputError(
            f"--sprint {sprint}: the backlog has sprints {', '.join(map(str, numbers)) or 'none'}",
            file=str(file),
        )
    document = capacity_document(backlog, settings, sprint)
    if output_format is OutputFormat.json:
        import json

        typer.echo(json.dumps(document, indent=2))
    else:
        render_capacity(document)
    if document["over_capacity"]:
        raise typer.Exit(EXIT_FINDINGS)


@app.command("rules")
def rules_command(
    rule_id: str | None = typer.Argument(None, help="A rule id (docs) or id prefix (list)."),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f"),
) -> None:
    """List every rule (id, severity, lifecycle, summary), or print one rule's docs."""
    import json

    from rules.base import matches_prefix
    from rules.registry import load_rules

    registry = load_rules()
    if rule_id is not None and rule_id in registry:
        item = registry[rule_id]
        if output_format is OutputFormat.json:
            typer.echo(json.dumps(_rule_dict(item), indent=2))
            return
        typer.echo(f"{item.id} ({item.severity.value}, {item.lifecycle.value})\n")
        typer.echo(f"{item.summary}\n")
        typer.echo(item.doc)
        return
    chosen = [r for r in registry.values() if rule_id is None or matches_prefix(r.id, [rule_id])]
    if not chosen:
        raise fail(f"unknown rule {rule_id!r}; run 'backlog-bot rules' for the list")
    if output_format is OutputFormat.json:
        typer.echo(json.dumps([_rule_dict(r) for r in chosen], indent=2))
        return
    width = max(len(r.id) for r in chosen)
    for item in chosen:
        typer.echo(
            f"{item.id:<{width}}  {item.severity.value:<7}  {item.lifecycle.value:<7}  "
            f"{item.summary}"
        )


def _rule_dict(item: object) -> dict[str, str]:
    from rules.base import Rule

    assert isinstance(item, Rule)
    return {
        "id": item.id,
        "severity": item.severity.value,
        "lifecycle": item.lifecycle.value,
        "scope": item.scope,
        "summary": item.summary,
        "doc": item.doc,
    }
