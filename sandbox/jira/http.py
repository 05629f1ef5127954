"""Small request/response helpers shared by the sandbox's route modules."""

from __future__ import annotations

import base64
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def api_version(request: Request) -> str:
    return str(request.path_params.get("version", 2))


def csv(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def created_json(request: Request, issue_id: int, key: str) -> dict[str, Any]:
    return {
        "id": str(issue_id),
        "key": key,
        "self": f"{base_url(request)}/rest/api/{api_version(request)}/issue/{issue_id}",
    }


def error_response(status: int, messages: list[str]) -> JSONResponse:
    return JSONResponse({"errorMessages": messages, "errors": {}}, status_code=status)


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def is_unbounded(jql: str) -> bool:
    return jql.strip().upper().startswith("ORDER BY")


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_token(token: Any) -> int | None:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(str(token).encode()))["offset"])
    except (ValueError, KeyError, TypeError):
        return None
