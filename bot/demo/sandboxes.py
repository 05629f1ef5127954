"""Emulators ``backlog-bot sandbox`` and ``demo`` can start, by name.

Each entry names a starter ``start(port: int | None, options: dict) -> RunningSandbox``;
GitHub and Slack add theirs here. Starters import their emulator lazily.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SANDBOXES: dict[str, str] = {
    "jira": "bot.demo.sandboxes:start_jira",
    "slack": "bot.demo.sandboxes:start_slack",
    "github": "bot.demo.sandboxes:start_github",
}


@dataclass
class RunningSandbox:
    name: str
    url: str
    env: dict[str, str]
    stop: Callable[[], None]
    handle: Any = None


def start(name: str, port: int | None, options: dict[str, Any]) -> RunningSandbox:
    module_name, _, function = SANDBOXES[name].partition(":")
    starter = getattr(importlib.import_module(module_name), function)
    running: RunningSandbox = starter(port, options)
    return running


def start_jira(port: int | None, options: dict[str, Any]) -> RunningSandbox:
    """The Jira emulator with one project (``JIRA_PROJECT``, team- or company-managed)."""
    from sandbox.jira import JiraSandbox, ProjectSpec

    datacenter = options.get("jira_flavour") == "datacenter"

    project = ProjectSpec(
        key=str(options.get("jira_project", "BSS")),
        # Data Center has company-managed projects only (epics via the Epic Link field)
        flavour="company" if datacenter else options.get("jira_flavour", "team"),
    )
    sandbox = JiraSandbox(
        [project],
        deployment="datacenter" if datacenter else None,
        webhook_url=options.get("jira_webhook_url"),
        webhook_secret=options.get("jira_webhook_secret"),
        port=port,
    ).start()
    return RunningSandbox("jira", sandbox.url, sandbox.env(), sandbox.stop, sandbox)


def start_slack(port: int | None, options: dict[str, Any]) -> RunningSandbox:
    """The Slack Web API emulator (channel #backlog, bot token, signing secret)."""
    from sandbox.slack import SlackSandbox

    sandbox = SlackSandbox(port=port).start()
    return RunningSandbox("slack", sandbox.url, sandbox.env(), sandbox.stop, sandbox)


def start_github(port: int | None, options: dict[str, Any]) -> RunningSandbox:
    """The GitHub emulator: repository acme/bss, its owner's Projects v2, webhooks if asked."""
    from sandbox.github import GitHubSandbox

    sandbox = GitHubSandbox(
        str(options.get("github_owner", "acme")), str(options.get("github_repo", "bss"))
    ).start(port)
    if options.get("github_webhook_url"):
        sandbox.webhooks.configure(
            options["github_webhook_url"], options.get("github_webhook_secret") or ""
        )
    return RunningSandbox("github", sandbox.url, sandbox.env(), sandbox.stop, sandbox)
