"""Slack's Socket Mode in the Slack emulator: enough of the protocol for slash commands.

As Slack does it (api.slack.com/apis/socket-mode):

1. the app calls ``apps.connections.open`` with its app-level token (``xapp-...``) and gets a
   one-time ``wss://`` URL (here ``ws://`` on loopback);
2. on connecting it receives ``{"type": "hello", "num_connections": N, ...}``;
3. Slack sends envelopes ``{"envelope_id", "type": "slash_commands", "payload": {...},
   "accepts_response_payload": true}``; the app answers each with
   ``{"envelope_id": ..., "payload": {...}}`` (the ack, with the ephemeral reply if any);
4. ``{"type": "disconnect", "reason": ...}`` asks the app to reconnect.

``SocketModeHub`` keeps the open connections, hands out tickets, delivers envelopes from any
thread (``deliver``) and records acks (``wait_for_ack``).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

DEFAULT_APP_TOKEN = "xapp-1-A0BACKLOG1-1-sandboxapptoken0000000000000000"


@dataclass
class _Connection:
    websocket: WebSocket
    loop: asyncio.AbstractEventLoop
    opened_at: float = field(default_factory=time.time)


class SocketModeHub:
    """Socket Mode connections of the one app installed in the emulated workspace."""

    def __init__(self, app_token: str = DEFAULT_APP_TOKEN) -> None:
        self.app_token = app_token
        self._tickets: set[str] = set()
        self._connections: list[_Connection] = []
        self._acks: dict[str, dict[str, Any]] = {}
        self._changed = threading.Condition()

    # --- apps.connections.open ----------------------------------------------------------------

    def open_url(self, base_url: str) -> str:
        """A one-time WebSocket URL (``apps.connections.open``)."""
        ticket = uuid.uuid4().hex
        with self._changed:
            self._tickets.add(ticket)
        return base_url.replace("http://", "ws://").rstrip("/") + f"/link/?ticket={ticket}"

    # --- the WebSocket endpoint ----------------------------------------------------------------

    async def serve(self, websocket: WebSocket) -> None:
        ticket = websocket.query_params.get("ticket", "")
        with self._changed:
            valid = ticket in self._tickets
            self._tickets.discard(ticket)  # a URL works once, as on Slack
        if not valid:
            await websocket.close(code=1008)
            return
        await websocket.accept()
        connection = _Connection(websocket, asyncio.get_running_loop())
        with self._changed:
            self._connections.append(connection)
            count = len(self._connections)
            self._changed.notify_all()
        hello = {
            "type": "hello",
            "num_connections": count,
            "debug_info": {"host": "sandbox", "approximate_connection_time": 18060},
            "connection_info": {"app_id": "A0BACKLOG1"},
        }
        await websocket.send_text(json.dumps(hello))
        try:
            while True:
                text = await websocket.receive_text()
                try:
                    message = json.loads(text)
                except json.JSONDecodeError:
                    continue
                if isinstance(message, dict) and message.get("envelope_id"):
                    with self._changed:
                        self._acks[str(message["envelope_id"])] = message
                        self._changed.notify_all()
        except WebSocketDisconnect:
            pass
        finally:
            with self._changed:
                if connection in self._connections:
                    self._connections.remove(connection)
                self._changed.notify_all()

    # --- playing Slack's part -----------------------------------------------------------------

    def wait_for_connection(self, timeout: float = 10.0) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: bool(self._connections), timeout):
                raise TimeoutError("no Socket Mode connection within the timeout")

    def connected(self) -> int:
        with self._changed:
            return len(self._connections)

    def deliver(self, envelope_type: str, payload: dict[str, Any]) -> str:
        """Send an envelope on the newest connection; returns its ``envelope_id``."""
        with self._changed:
            if not self._connections:
                raise RuntimeError("no app is connected over Socket Mode")
            connection = self._connections[-1]
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": envelope_type == "slash_commands",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        sent = asyncio.run_coroutine_threadsafe(
            connection.websocket.send_text(json.dumps(envelope)), connection.loop
        )
        sent.result(timeout=10)
        return envelope_id

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        with self._changed:
            if not self._changed.wait_for(lambda: envelope_id in self._acks, timeout):
                raise TimeoutError(f"envelope {envelope_id} was not acknowledged")
            return self._acks[envelope_id]
