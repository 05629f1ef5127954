"""``SlackSandbox``: the Slack emulator served over loopback HTTP, with a control API.

    with SlackSandbox() as slack:
        client = WebClient(token=slack.token, base_url=slack.api_url)
        client.chat_postMessage(channel=slack.channel_id, text="hi")
        assert slack.state.messages_in(slack.channel_id)[0].text == "hi"

``send_command`` plays Slack's part for slash commands: it POSTs a correctly signed request to
the app's Request URL with a ``response_url`` pointing back at this sandbox.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from sandbox.runner import ServedApp
from sandbox.slack.app import build_app, snapshot
from sandbox.slack.signing import SlashCommand, send_signed
from sandbox.slack.socket_mode import SocketModeHub
from sandbox.slack.state import (
    DEFAULT_CHANNEL_ID,
    DEFAULT_SIGNING_SECRET,
    DEFAULT_TOKEN,
    Message,
    ResponseUrlReply,
    SlackState,
)


class SlackSandbox:
    """A running Slack emulator. ``state`` is the live workspace (messages, files, replies)."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        signing_secret: str = DEFAULT_SIGNING_SECRET,
        port: int | None = None,
    ) -> None:
        self.state = SlackState(token=token, signing_secret=signing_secret)
        self.sockets = SocketModeHub()
        self._served = ServedApp(build_app(self.state, self.sockets), port=port)

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> SlackSandbox:
        self._served.start()
        return self

    def stop(self) -> None:
        self._served.stop()

    def __enter__(self) -> SlackSandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- addresses ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self._served.url

    @property
    def api_url(self) -> str:
        """The ``base_url`` for ``slack_sdk.WebClient`` (trailing slash included)."""
        return f"{self._served.url}/api/"

    @property
    def token(self) -> str:
        return self.state.token

    @property
    def signing_secret(self) -> str:
        return self.state.signing_secret

    @property
    def channel_id(self) -> str:
        return DEFAULT_CHANNEL_ID

    @property
    def app_token(self) -> str:
        """The app-level token (``xapp-``) that opens Socket Mode connections."""
        return self.sockets.app_token

    def env(self) -> dict[str, str]:
        """Settings that point backlog-bot at this sandbox."""
        return {
            "SLACK_API_URL": self.api_url,
            "SLACK_BOT_TOKEN": self.token,
            "SLACK_SIGNING_SECRET": self.signing_secret,
            "SLACK_CHANNEL": self.channel_id,
        }

    # --- playing Slack's part -------------------------------------------------------------------

    def new_response_url(self) -> tuple[str, str]:
        """A fresh ``(token, url)`` for a slash command's ``response_url``."""
        token = uuid.uuid4().hex
        return token, f"{self._served.url}/response/{token}"

    def command(self, text: str, *, user_id: str, **fields: Any) -> tuple[SlashCommand, str]:
        """A slash command with a response_url into this sandbox, and that URL's token."""
        token, response_url = self.new_response_url()
        return SlashCommand(text=text, user_id=user_id, response_url=response_url, **fields), token

    def send_command(
        self,
        app_url: str,
        text: str,
        *,
        user_id: str,
        timestamp: int | None = None,
        signing_secret: str | None = None,
        client: httpx.Client | None = None,
        **fields: Any,
    ) -> tuple[httpx.Response, str]:
        """POST a signed ``/backlog <text>`` to ``app_url``; returns the response and the token
        of its response_url (for ``wait_for_replies``)."""
        command, token = self.command(text, user_id=user_id, **fields)
        response = send_signed(
            app_url,
            command.body(),
            signing_secret or self.signing_secret,
            timestamp=timestamp,
            client=client,
        )
        return response, token

    def send_socket_command(self, text: str, *, user_id: str, **fields: Any) -> tuple[str, str]:
        """Deliver ``/backlog <text>`` over Socket Mode; returns the envelope id (for
        ``sockets.wait_for_ack``) and the token of its response_url (for ``wait_for_replies``)."""
        command, token = self.command(text, user_id=user_id, **fields)
        payload = {**command.form(), "is_enterprise_install": False}
        payload.pop("token", None)
        return self.sockets.deliver("slash_commands", payload), token

    # --- inspection -----------------------------------------------------------------------------

    def wait_for_replies(
        self, token: str, count: int = 1, timeout: float = 10.0
    ) -> list[ResponseUrlReply]:
        """The replies posted to one response_url, once ``count`` have arrived."""
        return _wait(lambda: self.state.replies_for(token), count, timeout, f"replies to {token}")

    def wait_for_messages(
        self, channel: str | None = None, count: int = 1, timeout: float = 10.0
    ) -> list[Message]:
        channel = channel or self.channel_id
        return _wait(
            lambda: self.state.messages_in(channel), count, timeout, f"messages in {channel}"
        )

    def snapshot(self) -> dict[str, Any]:
        return snapshot(self.state)


T = TypeVar("T")


def _wait(read: Callable[[], list[T]], count: int, timeout: float, what: str) -> list[T]:
    deadline = time.monotonic() + timeout
    while True:
        items = read()
        if len(items) >= count:
            return items
        if time.monotonic() > deadline:
            raise TimeoutError(f"expected {count} {what}, got {len(items)} in {timeout}s")
        time.sleep(0.01)
