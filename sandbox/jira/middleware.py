"""ASGI middleware of the Jira sandbox: authentication, fault injection, request log.

Everything under ``/_sandbox/`` (the control API for tests) bypasses all three.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from sandbox.jira.faults import Fault, FaultPlan, LoggedRequest

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CONTROL_PREFIX = "/_sandbox"
# the account id of the user a request authenticated as (None: the site's own account)
ACTING_USER: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "jira_sandbox_acting_user", default=None
)


class _DroppedConnectionFilter(logging.Filter):
    """uvicorn logs an error when an app breaks a response on purpose; that is the point."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_DroppedConnectionFilter())


class Credentials:
    """Who may call: basic auth ``email:token`` or ``Authorization: Bearer token`` (Cloud);
    only the Bearer personal access token on Data Center (``bearer_only``). Besides the
    site's own account, each teammate in ``people`` (account id -> (email, token)) may call
    as themselves: what they change is theirs in the changelog."""

    def __init__(
        self,
        email: str,
        token: str,
        *,
        bearer_only: bool = False,
        people: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        self.email = email
        self.token = token
        self.bearer_only = bearer_only
        self.people = dict(people or {})

    def accepts(self, header: str | None) -> bool:
        return self.identify(header) is not False

    def identify(self, header: str | None) -> str | bool | None:
        """The teammate's account id, None for the site's own account, False: refused."""
        if not header:
            return False
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            if value.strip() == self.token:
                return None
            return next((a for a, (_e, t) in self.people.items() if t == value.strip()), False)
        if scheme.lower() == "basic" and not self.bearer_only:
            try:
                decoded = base64.b64decode(value.strip()).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                return False
            if decoded == f"{self.email}:{self.token}":
                return None
            pairs = {f"{email}:{token}": account for account, (email, token) in self.people.items()}
            return pairs.get(decoded, False)
        return False


class SandboxMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        credentials: Credentials,
        faults: FaultPlan,
        created_count: Callable[[], int],
        datacenter: bool = False,
    ) -> None:
        self.datacenter = datacenter
        self.app = app
        self.credentials = credentials
        self.faults = faults
        self.created_count = created_count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        body = await _read_body(receive)

        def log(
            status: int, response: bytes = b"", ctype: str = "", fault: str | None = None
        ) -> None:
            self.faults.record(
                LoggedRequest(method, path, query, status, body, response, ctype, fault)
            )

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.datacenter and path.startswith("/rest/api/3/"):
            # Data Center and Server have no platform API v3 (Cloud only).
            log(404, b"", "text/html")
            await _respond(send, 404, b"", {"content-type": "text/html"})
            return
        anonymous_info = self.datacenter and path == "/rest/api/2/serverInfo"
        caller = self.credentials.identify(headers.get("authorization"))
        if not anonymous_info and caller is False:
            payload = _json(
                {"errorMessages": ["Client must be authenticated to access this resource."]}
            )
            log(401, payload, "application/json")
            await _respond(send, 401, payload, {"www-authenticate": 'Basic realm="sandbox"'})
            return

        fault = self.faults.pick(method, path, pre=True)
        if fault is not None and fault.mode != "slow":
            await self._pre_fault(fault, send, log)
            return
        if fault is not None:
            await asyncio.sleep(fault.delay or 0)

        acting = ACTING_USER.set(caller if isinstance(caller, str) else None)
        try:
            status, response_headers, response_body = await _capture(self.app, scope, body)
        finally:
            ACTING_USER.reset(acting)
        ctype = response_headers.get("content-type", "")
        after = self.faults.pick(method, path, pre=False, created=self.created_count())
        if after is not None and after.mode == "drop_after":
            log(0, response_body, ctype, "drop_after")
            await _drop(send)
            return
        if after is not None:
            log(status, response_body, ctype, "stall_after")  # logged now: the client gives up
            await self._stall(after)
        else:
            log(status, response_body, ctype, "slow" if fault else None)
        await _respond(send, status, response_body, response_headers)

    async def _pre_fault(self, fault: Fault, send: Send, log: Callable[..., None]) -> None:
        if fault.mode == "drop":
            log(0, fault="drop")
            await _drop(send)
            return
        if fault.mode == "rate_limit":
            payload = _json({"errorMessages": ["Rate limit exceeded."]})
            log(429, payload, "application/json", "rate_limit")
            await _respond(send, 429, payload, {"retry-after": str(fault.retry_after)})
            return
        payload = _json({"errorMessages": [f"Sandbox injected error {fault.status}."]})
        log(fault.status, payload, "application/json", "error")
        await _respond(send, fault.status, payload, {})

    async def _stall(self, fault: Fault) -> None:
        deadline = None if fault.delay is None else time.monotonic() + fault.delay
        while not self.faults.release.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                return
            await asyncio.sleep(0.02)


def _json(data: Any) -> bytes:
    return json.dumps(data).encode("utf-8")


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _capture(app: ASGIApp, scope: Scope, body: bytes) -> tuple[int, dict[str, str], bytes]:
    sent = False
    status = 500
    headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            for key, value in message.get("headers", []):
                headers[key.decode("latin-1").lower()] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, headers, b"".join(chunks)


async def _respond(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    out = {k: v for k, v in headers.items() if k not in ("content-length",)}
    out.setdefault("content-type", "application/json;charset=UTF-8" if body else "text/plain")
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _drop(send: Send) -> None:
    """Break the connection: promise a body, send part of it, return (uvicorn closes it)."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
        }
    )
    await send({"type": "http.response.body", "body": b"{", "more_body": True})
