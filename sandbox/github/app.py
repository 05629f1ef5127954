"""The sandbox GitHub as an ASGI (Starlette) app: REST, GraphQL and ``/_sandbox`` control.

Every API request goes through the same steps as on GitHub: authentication, injected faults,
the secondary limit on content creation, the primary rate-limit budget (headers on every
answer), then the handler; GETs carry an ETag and answer 304 to a matching If-None-Match
(304s do not spend the budget, as on GitHub). Every request is logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from sandbox.github import shapes
from sandbox.github.graphql_api import GraphQLApi
from sandbox.github.limits import PRIMARY_MESSAGE, RATE_DOCS, SECONDARY_DOCS, SECONDARY_MESSAGE
from sandbox.github.state import ACTING_LOGIN, SandboxError

JSON_TYPE = "application/json; charset=utf-8"
DROPPED = "ASGI callable returned without completing response."


class _DroppedConnectionFilter(logging.Filter):
    """The sandbox cuts connections on purpose; uvicorn need not report it as an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != DROPPED


logging.getLogger("uvicorn.error").addFilter(_DroppedConnectionFilter())


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    status: int
    body: Any = None
    graphql: str | None = None
    fault: str | None = None
    at: float = field(default_factory=time.time)


class GitHubApp:
    """ASGI endpoint for every path; ``sandbox`` is the ``GitHubSandbox`` owning the state."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.log: list[LoggedRequest] = []
        self.log_lock = threading.Lock()
        self.graphql = GraphQLApi(sandbox.projects)

    def starlette(self) -> Starlette:
        methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
        return Starlette(routes=[Route("/{path:path}", self, methods=methods)])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        path = request.url.path
        if path.startswith("/_sandbox/"):
            response = await self.sandbox.control(request)
            await response(scope, receive, send)
            return
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = None
        outcome = self.handle(request, path, body)
        if isinstance(outcome, float):  # a "hang" fault: executed, answer withheld
            await asyncio.sleep(outcome)
            outcome = _json(502, {"message": "Server Error"})
        if outcome is None:  # dropped connection: headers promise more than is sent
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", b"4096"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b'{"id": ', "more_body": True})
            return  # uvicorn then closes the connection: the client sees it cut mid-answer
        await outcome(scope, receive, send)

    def _record(self, entry: LoggedRequest) -> None:
        with self.log_lock:
            self.log.append(entry)

    def handle(self, request: Request, path: str, body: Any) -> Response | float | None:
        method = request.method
        query = dict(request.query_params)
        graphql_op = _operation_name(body) if path == "/graphql" else None
        entry = LoggedRequest(method, path, query, 0, body, graphql_op)
        response = self._dispatch(request, method, path, query, body, entry)
        entry.status = response.status_code if isinstance(response, Response) else 0
        self._record(entry)
        return response

    def _dispatch(
        self,
        request: Request,
        method: str,
        path: str,
        query: dict[str, Any],
        body: Any,
        entry: LoggedRequest,
    ) -> Response | float | None:
        limits = self.sandbox.limits
        resource = "graphql" if path == "/graphql" else "core"
        apps = self.sandbox.apps
        if apps.is_app_endpoint(method, path):  # the App's JWT, nothing else
            problem = apps.jwt_problem(request.headers.get("authorization"))
            if problem is not None:
                return _json(
                    401, {"message": problem, "documentation_url": "https://docs.github.com/rest"}
                )
            try:
                status, data = apps.handle(method, path)
            except SandboxError as exc:
                status, data = exc.status, {"message": exc.message}
            return _json(status, data)
        caller = self.sandbox.caller(request.headers.get("authorization"))
        if caller is False:
            docs = "https://docs.github.com/rest"
            return _json(401, {"message": "Bad credentials", "documentation_url": docs})
        ACTING_LOGIN.set(caller if isinstance(caller, str) else None)  # this request's task
        rule = limits.pick_fault(method, path)
        entry.fault = rule.kind if rule else None
        if rule and rule.kind == "5xx":
            return _json(rule.status, {"message": "Server Error"})
        creating = method in ("POST", "PATCH", "PUT", "DELETE") and path != "/graphql"
        creating = creating or (path == "/graphql" and _is_mutation(body))
        if (rule and rule.kind == "secondary") or (creating and not limits.creation_allowed()):
            wait = rule.retry_after if rule else limits.retry_after
            message = SECONDARY_MESSAGE.format(id=uuid.uuid4().hex[:16].upper())
            headers = limits.headers(resource, limits.peek(resource))
            headers["retry-after"] = str(wait)
            payload = {"message": message, "documentation_url": SECONDARY_DOCS}
            return _json(403, payload, headers)
        if path == "/rate_limit":  # does not count against the primary limit (as on GitHub)
            resources = {name: limits.peek(name) for name in limits.budgets}
            return _json(
                200, shapes.rate_limit(resources), limits.headers("core", resources["core"])
            )
        if method == "GET" and request.headers.get("if-none-match"):
            status, data, extra = self._execute(method, path, query, body, request)
            etag = _etag(data)
            if status == 200 and etag == request.headers["if-none-match"]:
                headers = limits.headers(resource, limits.peek(resource))
                return Response(status_code=304, headers={**headers, "etag": etag})
        allowed, snapshot = limits.spend(resource)
        headers = limits.headers(resource, snapshot)
        if not allowed:
            return _json(403, {"message": PRIMARY_MESSAGE, "documentation_url": RATE_DOCS}, headers)
        status, data, extra = self._execute(method, path, query, body, request)
        headers.update(extra)
        if rule and rule.kind == "drop":
            return None
        if rule and rule.kind == "hang":
            return float(rule.retry_after)
        if rule and rule.kind == "create_then_fail":
            return _json(rule.status, {"message": "Server Error"}, headers)
        if method == "GET" and status == 200:
            headers["etag"] = _etag(data)
        return _json(status, data, headers)

    def _execute(
        self, method: str, path: str, query: dict[str, Any], body: Any, request: Request
    ) -> tuple[int, Any, dict[str, str]]:
        if path == "/graphql":
            if method != "POST" or not isinstance(body, dict) or "query" not in body:
                return 400, {"message": "Problems parsing JSON"}, {}
            return 200, self._graphql(body), {}
        try:
            found = self.sandbox.rest.route(method, path)
            if found is None:
                return (
                    404,
                    {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"},
                    {},
                )
            handler, params = found
            status, data = handler(params, query, body)
        except SandboxError as exc:
            return (
                exc.status,
                {"message": exc.message, "documentation_url": "https://docs.github.com/rest"},
                {},
            )
        if isinstance(data, list) and method == "GET":
            return self._paginate(request, query, data)
        return status, data, {}

    def _graphql(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.graphql.run(body["query"], body.get("variables"), body.get("operationName"))

    @staticmethod
    def _paginate(
        request: Request, query: dict[str, Any], data: list[Any]
    ) -> tuple[int, Any, dict[str, str]]:
        per_page = min(int(query.get("per_page", 30)), 100)
        page = max(int(query.get("page", 1)), 1)
        last = max((len(data) + per_page - 1) // per_page, 1)
        chunk = data[(page - 1) * per_page : page * per_page]
        links = []
        base = str(request.url.replace(query=""))
        for rel, number in (("next", page + 1), ("last", last), ("first", 1), ("prev", page - 1)):
            if (rel in ("next", "last") and page < last) or (rel in ("first", "prev") and page > 1):
                links.append(f'<{base}?{urlencode({**query, "page": number})}>; rel="{rel}"')
        return 200, chunk, ({"link": ", ".join(links)} if links else {})

    def requests(self) -> list[dict[str, Any]]:
        with self.log_lock:
            return [asdict(entry) for entry in self.log]


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(data, status_code=status, headers=headers, media_type=JSON_TYPE)


def _etag(data: Any) -> str:
    digest = hashlib.sha1(json.dumps(data, sort_keys=True).encode()).hexdigest()
    return f'W/"{digest}"'


def _operation_name(body: Any) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return None
    if body.get("operationName"):
        return str(body["operationName"])
    head = body["query"].lstrip().split("(")[0].split("{")[0].split()
    return head[1] if len(head) > 1 else None


def _is_mutation(body: Any) -> bool:
    return isinstance(body, dict) and str(body.get("query", "")).lstrip().startswith("mutation")
