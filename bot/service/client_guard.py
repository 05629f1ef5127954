"""What a misbehaving client may cost the service: a bounded wait, and no error when it leaves.

``ClientGuardMiddleware`` (pure ASGI, inside ``ObservabilityMiddleware``):

- **read timeout**: uvicorn has no timeout for a request body that trickles in, so the whole
  body must arrive within ``read_timeout`` seconds of the request head (a deadline, not a
  per-chunk wait: a byte every few seconds does not keep a connection forever); a client
  slower than that gets ``408 Request Timeout`` with ``Connection: close``, and the connection
  is freed. The head itself has the same deadline, kept by the server's protocol
  (``bot.service.slow_clients``);
- **client disconnect**: a client that hangs up mid-upload is not a server error: it is an
  info line, and the request is counted with status ``499`` (the client closed the request,
  as nginx names it), never as a 5xx.

The outcome is left in the scope (``CLIENT_OUTCOME``) for the access log and the metrics.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CLIENT_OUTCOME = "backlog_bot.client_outcome"  # scope key: "disconnected" | "timed_out"
CLIENT_CLOSED_STATUS = 499
log = logging.getLogger(__name__)


class _ClientTooSlow(Exception):
    pass


class ClientGuardMiddleware:
    def __init__(self, app: ASGIApp, read_timeout: float = 15.0) -> None:
        self.app = app
        self.read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_done = False
        started = False
        deadline = asyncio.get_running_loop().time() + self.read_timeout

        async def timed_receive() -> Message:
            nonlocal body_done
            if body_done:  # e.g. a response listening for disconnect: no deadline then
                return await receive()
            left = deadline - asyncio.get_running_loop().time()
            try:
                if left <= 0:
                    raise TimeoutError
                message = await asyncio.wait_for(receive(), left)
            except TimeoutError:
                raise _ClientTooSlow from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, timed_receive, tracked_send)
        except ClientDisconnect:
            scope[CLIENT_OUTCOME] = "disconnected"
            log.info(
                "client disconnected before its request was read",
                extra={"path": scope.get("path"), "status": CLIENT_CLOSED_STATUS},
            )
        except _ClientTooSlow:
            scope[CLIENT_OUTCOME] = "timed_out"
            log.info(
                "client did not send its request body within %gs; closing the connection",
                self.read_timeout,
                extra={"path": scope.get("path"), "status": 408},
            )
            if not started:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 408,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"connection", b"close"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": b'{"error":"request timeout"}'})
