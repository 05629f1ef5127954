"""``backlog-bot slack manifest``: the Slack app manifest, ready to paste into Slack."""

from __future__ import annotations

import json

import typer

from bot.cli.app import app, fail

slack_app = typer.Typer(help="The Slack app: its manifest.", no_args_is_help=True)
app.add_typer(slack_app, name="slack")


@slack_app.command("manifest")
def manifest(
    url: str | None = typer.Option(
        None, "--url", help="The service's public base URL (HTTP mode), e.g. https://bot.acme.io"
    ),
    socket_mode: bool = typer.Option(
        False, "--socket-mode", help="Socket Mode: no public URL (set SLACK_APP_TOKEN)."
    ),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of YAML."),
    name: str = typer.Option("backlog-bot", "--name", help="The app's name in Slack."),
) -> None:
    """Print the app manifest for Slack's "Create an app > From a manifest"."""
    import yaml

    from bot.slack.manifest import app_manifest

    if socket_mode == bool(url):
        raise fail(
            "give --url https://HOST (Slack sends /backlog to HOST/slack/events) or "
            "--socket-mode (no public URL; set SLACK_APP_TOKEN), not both"
        )
    if url and not url.startswith("https://"):
        raise fail(f"--url {url}: Slack only sends requests to https:// URLs")
    data = app_manifest(url=url, socket_mode=socket_mode, name=name)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)
