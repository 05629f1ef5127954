"""A deadline for the request head: connections that do not send one in time are closed.

uvicorn has no header read timeout: a connection that is opened and then sends nothing, or
trickles its request line and headers a byte at a time (slowloris), is held for as long as
the client likes, and enough of them use up the replica's connections. Its keep-alive timer
only runs *between* requests, after a response, and any byte received stops it.

``head_deadline_protocol(seconds)`` subclasses the HTTP protocol uvicorn would pick itself
(httptools when installed, else h11) and adds one timer per connection: armed when the
connection opens and again when a response completes (the next request's head is awaited),
disarmed as soon as a request head has been parsed (the protocol then has a new request
cycle). When it fires, the connection is closed — with a ``408 Request Timeout`` if part of
a head had arrived — and an info line is logged; no request reached the app, so nothing is
counted in ``/metrics``, let alone as a 5xx. The body is the app's to time
(``bot.service.client_guard``), because only the app knows whether it reads it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)

TIMEOUT_ANSWER = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: application/json\r\n"
    b"connection: close\r\n"
    b"content-length: 27\r\n\r\n"
    b'{"error":"request timeout"}'
)


def head_deadline_protocol(
    seconds: float, base: type[asyncio.Protocol] | None = None
) -> type[asyncio.Protocol]:
    """uvicorn's own HTTP protocol class (or ``base``, one of uvicorn's), closing connections
    whose request head takes longer than ``seconds`` to arrive; for ``uvicorn.run(http=...)``."""
    if base is None:
        from uvicorn.protocols.http.auto import AutoHTTPProtocol

        base = AutoHTTPProtocol
    parent: type[Any] = base

    class HeadDeadlineProtocol(parent):  # type: ignore[misc]
        """``base`` (uvicorn's H11Protocol or HttpToolsProtocol) plus the head deadline."""

        head_timeout = seconds

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self._head_timer: asyncio.TimerHandle | None = None
            self._awaited_after: Any = None  # the request cycle current when the timer was set
            self._head_bytes = False  # did part of the awaited head arrive?
            super().connection_made(transport)
            self._await_head(after=None)

        def data_received(self, data: bytes) -> None:
            if self._head_timer is not None:
                self._head_bytes = True
            super().data_received(data)
            if self._head_timer is not None and self.cycle is not self._awaited_after:
                self._disarm()  # the protocol parsed a head: a new request cycle exists

        def on_response_complete(self) -> None:
            finished = self.cycle
            super().on_response_complete()
            if not self.transport.is_closing() and self.cycle is finished:
                self._await_head(after=finished)  # else a pipelined head is already in

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _await_head(self, *, after: Any) -> None:
            self._disarm()
            self._awaited_after = after
            self._head_bytes = False
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self.transport.is_closing():
                return
            log.info(
                "client sent no complete request head in %gs; closing the connection",
                self.head_timeout,
                extra={
                    "client": ":".join(map(str, self.client)) if self.client else None,
                    "partial": self._head_bytes,
                    "status": 408,
                },
            )
            if self._head_bytes:
                self.transport.write(TIMEOUT_ANSWER)
            self.transport.close()

    return HeadDeadlineProtocol
