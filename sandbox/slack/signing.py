"""Slack request signing (v0) and a client that sends signed slash commands to a URL.

``basestring = "v0:" + timestamp + ":" + raw_body`` and
``X-Slack-Signature = "v0=" + hex(HMAC-SHA256(signing_secret, basestring))`` — Slack's
documented scheme, reproduced against the worked example in
``tests/oracles/slack/signing-test-vector.json`` by the contract test.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from sandbox.slack.state import DEFAULT_CHANNEL_ID, DEFAULT_CHANNEL_NAME, TEAM_DOMAIN, TEAM_ID

_trigger_ids = itertools.count(1)


def signature(signing_secret: str, timestamp: str, body: bytes) -> str:
    """``v0=<hex digest>`` for ``body`` sent at ``timestamp`` (seconds, as a string)."""
    basestring = b"v0:" + timestamp.encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), basestring, hashlib.sha256).hexdigest()
    return f"v0={digest}"


def signed_headers(
    signing_secret: str, body: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    """The headers Slack adds to a request it sends to an app."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature(signing_secret, stamp, body),
        "Content-Type": "application/x-www-form-urlencoded",
    }


@dataclass(frozen=True)
class SlashCommand:
    """The form fields Slack posts for a slash command (see the oracle README)."""

    text: str
    user_id: str
    response_url: str
    command: str = "/backlog"
    user_name: str = "someone"
    channel_id: str = DEFAULT_CHANNEL_ID
    channel_name: str = DEFAULT_CHANNEL_NAME
    trigger_id: str = ""
    api_app_id: str = "A0BACKLOG1"

    def form(self) -> dict[str, str]:
        trigger = self.trigger_id or f"{int(time.time())}.{next(_trigger_ids)}.sandbox"
        return {
            "token": "deprecated-verification-token",
            "team_id": TEAM_ID,
            "team_domain": TEAM_DOMAIN,
            "channel_id": self.channel_id,
            "channel_name": self.channel_name,
            "user_id": self.user_id,
            "user_name": self.user_name,
            "command": self.command,
            "text": self.text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self.response_url,
            "trigger_id": trigger,
        }

    def body(self) -> bytes:
        return urlencode(self.form()).encode()


def send_signed(
    url: str,
    body: bytes,
    signing_secret: str,
    *,
    timestamp: int | None = None,
    retry_num: int | None = None,
    client: httpx.Client | None = None,
    timeout: float = 10.0,
) -> httpx.Response:
    """POST ``body`` to ``url`` the way Slack does: signed, form-encoded, with retry headers."""
    headers = signed_headers(signing_secret, body, timestamp=timestamp)
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    if client is not None:
        return client.post(url, content=body, headers=headers, timeout=timeout)
    return httpx.post(url, content=body, headers=headers, timeout=timeout)
