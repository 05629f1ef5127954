"""Reading untrusted request bodies: a streaming size cap and a JSON parse that cannot crash.

Shared by the webhook routes and ``/slack/events``: nothing is buffered beyond ``limit`` bytes
(the declared ``Content-Length`` is checked first, then the stream as it arrives), and JSON
that is invalid or nested deeper than ``backlog.nesting.MAX_DEPTH`` is ``BadBody`` (a 400),
never a ``RecursionError`` and a 500.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from backlog.nesting import MAX_DEPTH, too_deep


class PayloadTooLarge(Exception):
    pass


class BadBody(Exception):
    """The body cannot be used; ``str()`` is the one-line reason for the 400 answer."""


async def read_capped(request: Request, limit: int) -> bytes:
    """The raw body, refusing (``PayloadTooLarge``) as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def json_object(body: bytes | str) -> dict[str, Any]:
    """``body`` as a JSON object, or ``BadBody`` saying why not."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadBody("body is not valid JSON") from None
    except RecursionError:
        raise BadBody(f"JSON nests more than {MAX_DEPTH} levels deep") from None
    if not isinstance(payload, dict):
        raise BadBody("body is not a JSON object")
    if too_deep(payload):
        raise BadBody(f"JSON nests more than {MAX_DEPTH} levels deep")
    return payload
