"""Sandbox Slack: an emulator of the Slack Web API methods backlog-bot uses, served over
loopback HTTP, plus a helper that sends correctly signed slash commands.

Use ``SlackSandbox`` in process (tests, ``backlog-bot demo``) or ``backlog-bot sandbox``.
"""

from sandbox.slack.app import build_app
from sandbox.slack.methods import validate_blocks
from sandbox.slack.sandbox import SlackSandbox
from sandbox.slack.signing import SlashCommand, send_signed, signature, signed_headers
from sandbox.slack.state import SlackState

__all__ = [
    "SlackSandbox",
    "SlackState",
    "SlashCommand",
    "build_app",
    "send_signed",
    "signature",
    "signed_headers",
    "validate_blocks",
]
