"""The Slack Web API emulator: a Starlette app over a ``SlackState``.

Routes (base URL for ``WebClient(base_url=...)`` is ``<url>/api/``):

- ``/api/<method>`` — auth.test, chat.postMessage, chat.update, chat.postEphemeral,
  files.getUploadURLExternal, files.completeUploadExternal, conversations.info, users.info.
  Arguments are read from the query string, a form body or a JSON body (slack_sdk uses all
  three); the token from ``Authorization: Bearer`` or a ``token`` argument. Errors are HTTP 200
  ``{"ok": false, "error": ...}`` with the error names of Slack's OpenAPI description
  (``not_authed``, ``invalid_auth``, ``channel_not_found``, ``no_text`` ...); a planned rate
  limit is HTTP 429 with ``Retry-After``.
- ``/upload/<file_id>`` — the upload URL handed out by files.getUploadURLExternal
  (raw bytes or multipart form, as Slack accepts both).
- ``/response/<token>`` — a slash command's ``response_url``; records the JSON replies.
- ``/api/apps.connections.open`` and the WebSocket ``/link/?ticket=...`` — Socket Mode
  (``sandbox.slack.socket_mode``), with the app-level token.
- ``/_sandbox/state`` — a JSON dump of messages, files and replies for out-of-process users.
"""

from __future__ import annotations

import email.policy
import json
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute

from sandbox.slack.methods import METHODS, validate_blocks
from sandbox.slack.socket_mode import SocketModeHub
from sandbox.slack.state import RateLimited, SlackError, SlackState

# --- HTTP layer -----------------------------------------------------------------------------


async def _read_args(request: Request) -> tuple[dict[str, Any], str | None]:
    """Arguments from the query string, a form body or a JSON body; and the token sent."""
    args: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if request.method == "POST":
        if content_type.startswith("application/json"):
            body = await request.body()
            if body:
                try:
                    data = json.loads(body)
                except json.JSONDecodeError as exc:
                    raise SlackError("invalid_json") from exc
                if not isinstance(data, dict):
                    raise SlackError("json_not_object")
                args.update(data)
        elif content_type.startswith("application/x-www-form-urlencoded"):
            form = (await request.body()).decode("utf-8", errors="replace")
            args.update(dict(parse_qsl(form, keep_blank_values=True)))
    token: str | None = None
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    elif args.get("token"):
        token = str(args["token"])
    args.pop("token", None)
    return args, token


def build_app(state: SlackState, hub: SocketModeHub | None = None) -> Starlette:
    """The emulator as an ASGI app over ``state`` (and Socket Mode through ``hub``)."""
    sockets = hub or SocketModeHub()

    async def api(request: Request) -> Response:
        method = request.path_params["method"]
        if method == "apps.connections.open":
            return await connections_open(request)
        handler = METHODS.get(method)
        if handler is None:
            return JSONResponse({"ok": False, "error": "unknown_method"}, status_code=404)
        try:
            args, token = await _read_args(request)
            if not token:
                raise SlackError("not_authed")
            if token != state.token:
                raise SlackError("invalid_auth")
            planned = state.take_planned(method)
            if planned is not None:
                raise planned
            base_url = str(request.base_url)
            result = handler(state, args, base_url)
        except RateLimited as limited:
            state.record_call(method, {}, "ratelimited")
            return JSONResponse(
                {"ok": False, "error": "ratelimited"},
                status_code=429,
                headers={"Retry-After": str(limited.retry_after)},
            )
        except SlackError as failure:
            state.record_call(method, {}, failure.error)
            return JSONResponse({"ok": False, "error": failure.error, **failure.extra})
        state.record_call(method, args, None)
        return JSONResponse(result)

    async def upload(request: Request) -> Response:
        stored = state.files.get(request.path_params["file_id"])
        if stored is None:
            return PlainTextResponse("file not found", status_code=404)
        content_type = request.headers.get("content-type", "")
        data = await request.body()
        if content_type.startswith("multipart/"):
            data = _first_multipart_file(content_type, data)
        stored.data = data
        return PlainTextResponse(f"OK - {len(data)}")

    async def response_url(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except json.JSONDecodeError:
            return PlainTextResponse("invalid_payload", status_code=400)
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return PlainTextResponse("no_text", status_code=400)
        try:
            validate_blocks(body.get("blocks"))
        except SlackError as failure:
            return PlainTextResponse(failure.error, status_code=400)
        state.add_reply(request.path_params["token"], body)
        return PlainTextResponse("ok")

    async def dump(request: Request) -> Response:
        return JSONResponse(snapshot(state))

    async def connections_open(request: Request) -> Response:
        """Socket Mode: only the app-level token opens a connection (a bot token is refused
        with ``not_allowed_token_type``, as on Slack)."""
        _, token = await _read_args(request)
        if not token:
            error = "not_authed"
        elif token == state.token:
            error = "not_allowed_token_type"
        elif token != sockets.app_token:
            error = "invalid_auth"
        else:
            state.record_call("apps.connections.open", {}, None)
            return JSONResponse({"ok": True, "url": sockets.open_url(str(request.base_url))})
        state.record_call("apps.connections.open", {}, error)
        return JSONResponse({"ok": False, "error": error})

    return Starlette(
        routes=[
            Route("/api/{method}", api, methods=["GET", "POST"]),
            Route("/upload/{file_id}", upload, methods=["POST"]),
            Route("/response/{token}", response_url, methods=["POST"]),
            Route("/_sandbox/state", dump, methods=["GET"]),
            WebSocketRoute("/link/", sockets.serve),
        ]
    )


def _first_multipart_file(content_type: str, body: bytes) -> bytes:
    """The first file part of a multipart/form-data body (``curl -F file=@x`` style uploads)."""
    message = BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    for part in message.iter_parts():
        if part.get_filename() is not None:
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else b""
    return b""


def snapshot(state: SlackState) -> dict[str, Any]:
    """Everything the sandbox recorded, as JSON-ready data."""
    return {
        "messages": [
            {
                "channel": m.channel,
                "ts": m.ts,
                "text": m.text,
                "blocks": m.blocks,
                "files": m.files,
                "thread_ts": m.thread_ts,
            }
            for m in state.messages_in()
        ],
        "files": [
            {"id": f.id, "filename": f.filename, "title": f.title, "size": len(f.data or b"")}
            for f in state.files.values()
        ],
        "replies": [{"token": r.token, "body": r.body} for r in state.replies],
    }
