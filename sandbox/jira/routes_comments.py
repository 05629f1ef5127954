"""Issue comments and comment properties of the sandbox (Jira Cloud platform REST v2 and v3).

A comment keeps the body as it was sent: through v3 it must be an Atlassian Document (checked
against Atlassian's ADF schema, ``sandbox.jira.adf``; 400 otherwise), through v2 it is a wiki
markup string kept verbatim. Reading through v2 shows an ADF body as its text, reading through
v3 shows a wiki string as paragraphs of literal text, as Jira shows text it cannot interpret.

Routes: ``GET|POST /issue/{key}/comment``, ``GET|PUT|DELETE /issue/{key}/comment/{id}``,
``POST /comment/list`` (``expand=properties``), ``GET /comment/{id}/properties`` and
``GET|PUT|DELETE /comment/{id}/properties/{key}``. Properties may also be sent with the
comment (``properties: [{key, value}]``), as Jira's ``Comment`` schema allows.
"""

from __future__ import annotations

import itertools
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.jira.adf import adf_problem
from sandbox.jira.http import api_version, base_url, csv, error_response, json_body
from sandbox.jira.issues import IssueService
from sandbox.jira.render import adf, adf_to_text, user_json
from sandbox.jira.state import Issue, SiteState, now_iso

NO_ISSUE = "Issue does not exist or you do not have permission to see it."
NO_COMMENT = "Can not find a comment for the id."
EMPTY = "Comment body can not be empty!"
MAX_PROPERTY = 32768


class CommentApi:
    def __init__(self, state: SiteState, issues: IssueService) -> None:
        self.state = state
        self.issues = issues
        self._ids = itertools.count(10000)

    def routes(self) -> list[Route]:
        api = "/rest/api/{version:int}"
        one = f"{api}/issue/{{key}}/comment/{{comment_id}}"
        props = f"{api}/comment/{{comment_id}}/properties"
        return [
            Route(f"{api}/issue/{{key}}/comment", self.comments, methods=["GET", "POST"]),
            Route(one, self.comment, methods=["GET", "PUT", "DELETE"]),
            Route(f"{api}/comment/list", self.comment_list, methods=["POST"]),
            Route(props, self.property_keys, methods=["GET"]),
            Route(f"{props}/{{prop}}", self.prop, methods=["GET", "PUT", "DELETE"]),
        ]

    # --- comments -----------------------------------------------------------------------

    async def comments(self, request: Request) -> Response:
        issue = self.state.issue(request.path_params["key"])
        if issue is None:
            return error_response(404, [NO_ISSUE])
        expand = set(csv(request.query_params.get("expand")) or [])
        if request.method == "GET":
            shown = [self._view(request, issue, c, expand) for c in issue.comments]
            return JSONResponse(
                {"startAt": 0, "maxResults": 5000, "total": len(shown), "comments": shown}
            )
        body, properties, problem = await _comment_input(request)
        if problem:
            return error_response(400, [problem])
        with self.state.lock:
            comment = {
                "id": str(next(self._ids)),
                "author": self.issues.acting().account_id,
                "body": body,
                "created": now_iso(),
                "updated": now_iso(),
                "properties": properties,
            }
            issue.comments.append(comment)
        return JSONResponse(self._view(request, issue, comment, expand), status_code=201)

    async def comment(self, request: Request) -> Response:
        """``GET|PUT|DELETE .../comment/{id}``: read, edit in place, delete."""
        issue = self.state.issue(request.path_params["key"])
        if issue is None:
            return error_response(404, [NO_ISSUE])
        found = _find(issue, request.path_params["comment_id"])
        if found is None:
            return error_response(404, [NO_COMMENT])
        expand = set(csv(request.query_params.get("expand")) or [])
        if request.method == "GET":
            return JSONResponse(self._view(request, issue, found, expand))
        if request.method == "DELETE":
            with self.state.lock:
                issue.comments.remove(found)
            return Response(status_code=204)
        body, properties, problem = await _comment_input(request)
        if problem:
            return error_response(400, [problem])
        with self.state.lock:
            found.update(body=body, updated=now_iso())
            found["properties"].update(properties)
        return JSONResponse(self._view(request, issue, found, expand))

    async def comment_list(self, request: Request) -> Response:
        """``POST /comment/list``: comments by id (at most 1000), optionally with properties."""
        payload = await json_body(request)
        ids = payload.get("ids") if isinstance(payload, dict) else None
        if not isinstance(ids, list) or len(ids) > 1000:
            return error_response(400, ["The ids must be a list of at most 1000 comment ids."])
        wanted = {str(i) for i in ids}
        expand = set(csv(request.query_params.get("expand")) or [])
        values = [
            self._view(request, issue, comment, expand)
            for issue in list(self.state.issues.values())
            for comment in issue.comments
            if comment["id"] in wanted
        ]
        return JSONResponse(
            {"startAt": 0, "maxResults": 1000, "total": len(values), "isLast": True,
             "values": values}
        )  # fmt: skip

    # --- comment properties -------------------------------------------------------------

    async def property_keys(self, request: Request) -> Response:
        located = self._locate(request.path_params["comment_id"])
        if located is None:
            return error_response(404, [NO_COMMENT])
        base, comment_id = base_url(request), request.path_params["comment_id"]
        keys = [
            {"key": key, "self": f"{base}/rest/api/2/comment/{comment_id}/properties/{key}"}
            for key in located[1]["properties"]
        ]
        return JSONResponse({"keys": keys})

    async def prop(self, request: Request) -> Response:
        located = self._locate(request.path_params["comment_id"])
        if located is None:
            return error_response(404, [NO_COMMENT])
        properties: dict[str, Any] = located[1]["properties"]
        key = request.path_params["prop"]
        if request.method == "GET":
            if key not in properties:
                return error_response(404, [f"The property with key '{key}' does not exist."])
            return JSONResponse({"key": key, "value": properties[key]})
        if request.method == "DELETE":
            if key not in properties:
                return error_response(404, [f"The property with key '{key}' does not exist."])
            with self.state.lock:
                del properties[key]
            return Response(status_code=204)
        value = await json_body(request)
        if value is None or len(str(value)) > MAX_PROPERTY:
            return error_response(400, ["The property value must be a non-empty JSON value."])
        with self.state.lock:
            existed = key in properties
            properties[key] = value
        return Response(status_code=200 if existed else 201)

    # --- shapes -------------------------------------------------------------------------

    def _locate(self, comment_id: str) -> tuple[Issue, dict[str, Any]] | None:
        for issue in list(self.state.issues.values()):
            found = _find(issue, comment_id)
            if found is not None:
                return issue, found
        return None

    def _view(
        self, request: Request, issue: Issue, comment: dict[str, Any], expand: set[str]
    ) -> dict[str, Any]:
        """The comment as Jira's ``Comment`` schema shows it through this API version."""
        base, version = base_url(request), api_version(request)
        author = self.state.users.get(comment["author"]) or self.issues.actor
        body = comment["body"]
        shown = {
            "self": f"{base}/rest/api/{version}/issue/{issue.id}/comment/{comment['id']}",
            "id": comment["id"],
            "author": user_json(base, author, version),
            "updateAuthor": user_json(base, author, version),
            "body": (body if isinstance(body, dict) else adf(body))
            if version == "3"
            else adf_to_text(body),
            "created": comment["created"],
            "updated": comment["updated"],
            "jsdPublic": True,
        }
        if "properties" in expand:
            shown["properties"] = [{"key": k, "value": v} for k, v in comment["properties"].items()]
        return shown


def _find(issue: Issue, comment_id: str) -> dict[str, Any] | None:
    return next((c for c in issue.comments if c["id"] == comment_id), None)


def _body(payload: Any, version: str) -> tuple[Any, str | None]:
    """The body to store and, when it cannot be stored, Jira's reason."""
    body = payload.get("body") if isinstance(payload, dict) else None
    if version == "3":
        if body is None:
            return None, EMPTY
        problem = adf_problem(body)
        return body, (f"Comment body is not valid: {problem}" if problem else None)
    if not isinstance(body, str) or not body.strip():
        return None, EMPTY
    return body, None


def _properties(payload: Any) -> tuple[dict[str, Any], str | None]:
    raw = payload.get("properties") if isinstance(payload, dict) else None
    if raw is None:
        return {}, None
    if not isinstance(raw, list) or not all(
        isinstance(p, dict) and isinstance(p.get("key"), str) and "value" in p for p in raw
    ):
        return {}, "Comment properties must be a list of {key, value} objects."
    return {p["key"]: p["value"] for p in raw}, None


async def _comment_input(request: Request) -> tuple[Any, dict[str, Any], str | None]:
    """A posted or edited comment's body (v2 wiki text or v3 document) and properties, or
    the problem Jira answers 400 with."""
    payload = await json_body(request)
    body, problem = _body(payload, api_version(request))
    if problem:
        return None, {}, problem
    properties, problem = _properties(payload)
    return body, properties, problem
