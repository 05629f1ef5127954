"""``backlog-bot sandbox``: start the local emulators and print the settings that use them.

Prints ``KEY=VALUE`` lines (``JIRA_URL=http://127.0.0.1:PORT`` ...) that can be pasted into
an environment or ``eval``'d, then serves until Ctrl-C or SIGTERM. Loopback only.
"""

from __future__ import annotations

import typer

from bot.cli.app import app


@app.command("sandbox")
def sandbox(
    port_base: int | None = typer.Option(
        None, "--port-base", help="First port; emulators take consecutive ports (default: free)."
    ),
    only: str | None = typer.Option(
        None, "--only", help="Comma-separated emulators to start (default: all)."
    ),
    jira_flavour: str = typer.Option(
        "team",
        "--jira-flavour",
        help="team or company (a team- or company-managed Jira Cloud project), or datacenter "
        "(Jira Data Center: personal access token, /rest/api/2/search, company-managed).",
    ),
    jira_project: str = typer.Option("BSS", "--jira-project", help="Key of the Jira project."),
    jira_webhook_url: str | None = typer.Option(
        None, "--jira-webhook-url", help="Deliver jira:issue_* webhooks here."
    ),
    jira_webhook_secret: str | None = typer.Option(
        None, "--jira-webhook-secret", help="Sign deliveries (X-Hub-Signature) with this."
    ),
    github_webhook_url: str | None = typer.Option(
        None, "--github-webhook-url", help="Deliver GitHub webhooks (issues, PRs ...) here."
    ),
    github_webhook_secret: str | None = typer.Option(
        None, "--github-webhook-secret", help="Sign them (X-Hub-Signature-256) with this."
    ),
) -> None:
    """Start the sandbox emulators, print KEY=VALUE settings, serve until stopped."""
    import shlex
    import signal
    import sys
    import threading

    from backlog.errors import ConfigurationError
    from bot.demo.sandboxes import SANDBOXES, RunningSandbox, start

    if jira_flavour not in ("team", "company", "datacenter"):
        raise ConfigurationError("--jira-flavour must be team, company or datacenter")
    names = list(SANDBOXES)
    if only:
        wanted = [name.strip() for name in only.split(",") if name.strip()]
        unknown = [name for name in wanted if name not in SANDBOXES]
        if unknown:
            raise ConfigurationError(
                f"--only: unknown emulator {', '.join(unknown)} (known: {', '.join(SANDBOXES)})"
            )
        names = wanted
    options = {
        "jira_flavour": jira_flavour,
        "jira_project": jira_project,
        "jira_webhook_url": jira_webhook_url,
        "jira_webhook_secret": jira_webhook_secret,
        "github_webhook_url": github_webhook_url,
        "github_webhook_secret": github_webhook_secret,
    }
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    running: list[RunningSandbox] = []
    try:
        for offset, name in enumerate(names):
            port = port_base + offset if port_base is not None else None
            running.append(start(name, port, options))
        for item in running:
            for key, value in item.env.items():
                typer.echo(f"{key}={shlex.quote(value)}")  # sourceable by a shell
        sys.stdout.flush()
        typer.echo(f"# sandbox running ({', '.join(names)}); Ctrl-C or SIGTERM stops it", err=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for item in reversed(running):
            item.stop()
