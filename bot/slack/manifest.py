"""The Slack app manifest for "Create an app > From a manifest" (api.slack.com/reference/manifests).

One slash command, ``/backlog``, and the bot scopes the code uses: ``commands`` (the slash
command), ``chat:write`` and ``chat:write.public`` (digests and alerts, also in channels the bot
was not invited to), ``files:write`` (the burndown chart), ``channels:read`` / ``groups:read``
(``conversations.info`` on SLACK_CHANNEL) and ``users:read`` (``users.info`` for names).
backlog-bot subscribes to no Events API event; the slash command is its only inbound request.
Over HTTP the command's Request URL is ``https://HOST/slack/events``; in Socket Mode there is
no URL and the app needs an app-level token with ``connections:write`` (SLACK_APP_TOKEN).
"""

from __future__ import annotations

from typing import Any

BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "files:write",
    "channels:read",
    "groups:read",
    "users:read",
)
USAGE = "status [sprint] | ready US-001 | capacity [sprint] | standup | rules [id] | plan | sync"


def app_manifest(
    *, url: str | None, socket_mode: bool, name: str = "backlog-bot"
) -> dict[str, Any]:
    """The manifest as data; ``url`` is the service's base URL (HTTP mode only)."""
    command: dict[str, Any] = {
        "command": "/backlog",
        "description": "Sprint status, readiness, capacity and the standup digest",
        "usage_hint": USAGE,
        "should_escape": False,
    }
    if not socket_mode:
        command["url"] = f"{str(url).rstrip('/')}/slack/events"
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": name,
            "description": "Keeps the agile backlog honest: DoR, DoD, capacity, standups.",
            "background_color": "#1d4f91",
        },
        "features": {
            "bot_user": {"display_name": name, "always_online": True},
            "slash_commands": [command],
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "interactivity": {"is_enabled": False},
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }
