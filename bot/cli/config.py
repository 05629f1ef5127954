"""``backlog-bot config check``: the effective configuration, where each value came from.

The check loads the settings and hands every table to the code that reads it, so a value that
would stop ``serve`` or ``apply`` later (an unknown key, a wrong type, an out-of-range number,
a bad date) stops here with exit 2 and one line naming it. Secrets print as ``***``.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import typer

from bot.cli.app import OutputFormat, app

if TYPE_CHECKING:
    from bot.settings import Settings

config_app = typer.Typer(help="Check the configuration (backlog-bot.toml and environment).")
app.add_typer(config_app, name="config")


@config_app.command("check")
def check(
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f"),
) -> None:
    """Validate every table and print the effective values with their sources."""
    from bot.config_file import load_config_document
    from bot.config_schema import TABLES
    from bot.settings import load_settings

    source, document = load_config_document()
    settings = load_settings()
    _check_consumers(settings, document)
    rows: list[dict[str, Any]] = []
    file_settings = {k.lower(): v for k, v in document.get("settings", {}).items()}
    for key, spec in TABLES["settings"].keys.items():
        env_name = key.upper()
        if _env_has(env_name):
            origin = f"environment {env_name}"
        elif key in file_settings:
            origin = f"{source} [settings]"
        else:
            origin = "default"
        value = getattr(settings, key)
        rows.append(_row("settings", env_name, _shown(key, value, spec.secret), origin))
    for name, table in TABLES.items():
        if name == "settings":
            continue
        given = {
            (k.replace("-", "_") if table.dashes else k): v
            for k, v in document.get(name, {}).items()
        }
        for key, spec in table.keys.items():
            if key in given:
                rows.append(_row(name, key, given[key], f"{source} [{name}]"))
            else:
                rows.append(_row(name, key, spec.default, "default"))
    if output_format is OutputFormat.json:
        typer.echo(json.dumps({"config_file": source, "values": rows}, indent=2, default=str))
        return
    typer.echo(f"config file: {source or 'none (environment and defaults only)'}")
    current = None
    for row in rows:
        if row["table"] != current:
            current = row["table"]
            typer.echo(f"[{current}]")
        value = "(unset)" if row["value"] is None else json.dumps(row["value"], default=str)
        typer.echo(f"  {row['key']} = {value}  # {row['source']}")
    typer.echo("ok: the configuration is valid")


def _env_has(name: str) -> bool:
    # pydantic-settings reads variables case-insensitively.
    return any(key.upper() == name for key in os.environ)


def _row(table: str, key: str, value: Any, source: str) -> dict[str, Any]:
    return {"table": table, "key": key, "value": value, "source": source}


def _shown(key: str, value: Any, secret: bool) -> Any:
    """Secrets as ``***``; the database URL keeps its shape with the password hidden."""
    if value is None:
        return None
    if key == "database_url":
        from bot.db_errors import redact_url

        return redact_url(str(value))
    if secret:
        return "***"
    return value


def _check_consumers(settings: Settings, document: dict[str, Any]) -> None:
    """Hand each table to its reader: value errors surface now, not at the first webhook."""
    from pathlib import Path

    from bot.digests.context import SlackConfig, team_zone
    from bot.targets.github import PACING_KEYS, pacing_policy
    from bot.validation.validator import ValidationConfig
    from bot.wiring.scheduler import standup_trigger
    from rules.config import RulesConfig
    from sync.github.mapping import GitHubOptions
    from sync.jira.flavour import deployment_choice
    from sync.jira.mapping import JiraMappingConfig

    jira = document.get("jira", {})
    github = document.get("github", {})
    JiraMappingConfig.from_table(jira)
    deployment_choice(jira)
    pacing_policy(dict(github), settings.github_api_url)
    GitHubOptions.from_table({k: v for k, v in github.items() if k not in PACING_KEYS})
    ValidationConfig.from_table(document.get("validation", {}))
    RulesConfig.from_mapping(document.get("rules", {}), source="[rules]")
    slack = SlackConfig.load(settings, document)
    standup_trigger(slack.schedule, team_zone(settings))
    backlog = Path(settings.backlog_file)
    if not backlog.is_file():
        typer.echo(
            f"warning: BACKLOG_FILE {backlog} does not exist (the service and Slack read it)",
            err=True,
        )


@config_app.command("example")
def example() -> None:
    """Print an example backlog-bot.toml documenting every key (defaults as values)."""
    from bot.config_example import example_toml

    typer.echo(example_toml(), nl=False)
