"""Slack over Socket Mode: the same bolt app, reached through a WebSocket the service opens.

Chosen by ``SLACK_APP_TOKEN`` (an app-level ``xapp-`` token with ``connections:write``): no
public HTTPS URL is needed, which suits a service behind a firewall. slack-bolt's
``SocketModeHandler`` (slack_sdk's built-in client, no extra dependency) calls
``apps.connections.open`` on ``SLACK_API_URL``, acknowledges each envelope with the listener's
``ack()`` payload and reconnects when Slack asks it to. Signature checks do not apply (Slack
authenticates the socket); the retry guard and the lazy listeners work as over HTTP.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)


def socket_mode_enabled(settings: Settings) -> bool:
    return getattr(settings, "slack_app_token", None) is not None


class SocketModeRunner:
    """Connects on service start-up, disconnects on shutdown (each replica holds a socket;
    Slack spreads envelopes over them, and the retry guard stops doubles)."""

    def __init__(self, app: App, app_token: str) -> None:
        self.handler = SocketModeHandler(app, app_token=app_token, logger=app.logger)

    def start(self, service: Any = None) -> None:
        # returns once connected; the client's threads keep it open (bolt leaves it unannotated)
        self.handler.connect()  # type: ignore[no-untyped-call]
        log.info("Slack Socket Mode connected")

    def stop(self, service: Any = None) -> None:
        # slack_sdk's reading thread holds the connection's lock inside a recv() that gives up
        # only after 3 s, and its message thread waits up to 1 s on its queue; closing waits
        # for both. Ending the session, the socket's reads and the queue's wait first lets the
        # close happen at once (the socket is closed without a WebSocket close frame either
        # way, as slack_sdk closes it).
        client = self.handler.client
        client.auto_reconnect_enabled = False
        client.closed = True
        client.message_queue.put(None)  # wakes the message thread; None is skipped
        client.current_session_state.terminated = True
        session = client.current_session
        sock = session.sock if session is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.handler.close()  # type: ignore[no-untyped-call]
