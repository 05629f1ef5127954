"""``GET /``: the sprint planning page, behind the page token or the reverse proxy's auth.

``PAGE_AUTH=token`` (the default) wants ``PAGE_TOKEN`` as a bearer token or as the password
of HTTP Basic auth (any user name; browsers ask for it). Without ``PAGE_TOKEN`` the page is
off (403 saying which setting turns it on). ``PAGE_AUTH=proxy`` trusts an authenticating
reverse proxy: the request must carry the user header it sets (``PAGE_PROXY_HEADER``,
default ``X-Forwarded-User``); the proxy must strip that header from client requests.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.digests.context import SlackContext

if TYPE_CHECKING:
    from bot.settings import Settings

HEADERS = {
    "Cache-Control": "no-store",
    # no script at all; styles are inline; links open Jira/GitHub
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def page_routes(ctx: SlackContext) -> list[Route]:
    """``GET /`` over ``ctx`` (the service's backlog, database, team clock and config)."""

    async def planning_page(request: Request) -> Response:
        refusal = denied(ctx.settings, request)
        if refusal is not None:
            return refusal
        html = await run_in_threadpool(_render, ctx)
        return HTMLResponse(html, headers=HEADERS)

    return [Route("/", planning_page, methods=["GET", "HEAD"], name="planning_page")]


def denied(settings: Settings, request: Request) -> Response | None:
    """None when the request may see the page, else the response that says why not."""
    mode = str(getattr(settings, "page_auth", "token") or "token").lower()
    if mode == "proxy":
        header = str(getattr(settings, "page_proxy_header", "X-Forwarded-User"))
        if request.headers.get(header, "").strip():
            return None
        return PlainTextResponse(f"sign in through the proxy (no {header} header)", 401)
    token = getattr(settings, "page_token", None)
    if token is None or not token.get_secret_value():
        return PlainTextResponse(
            "the planning page is off: set PAGE_TOKEN, or PAGE_AUTH=proxy behind an "
            "authenticating reverse proxy",
            403,
        )
    offered = _offered_token(request.headers.get("authorization", ""))
    expected = token.get_secret_value().encode()
    if offered is not None and hmac.compare_digest(offered.encode(), expected):
        return None
    return PlainTextResponse(
        "give the page token (PAGE_TOKEN) as a bearer token or as the Basic auth password",
        401,
        headers={"WWW-Authenticate": 'Basic realm="backlog-bot", charset="UTF-8"'},
    )


def _offered_token(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2]
    return None


def _render(ctx: SlackContext) -> str:
    from bot.views.gather import gather_page
    from bot.views.render import render_page

    return render_page(gather_page(ctx))
