"""Jira Cloud platform REST routes of the sandbox: issues, links, properties, comments, search."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.jira.http import (
    api_version,
    base_url,
    created_json,
    csv,
    decode_token,
    encode_token,
    error_response,
    is_unbounded,
    json_body,
)
from sandbox.jira.issues import IssueService, PermissionDenied, error_collection
from sandbox.jira.jql import JqlError, Query
from sandbox.jira.render import issue_json, link_json, status_json
from sandbox.jira.state import LINK_TYPES, TRANSITIONS, SiteState

MAX_SEARCH_RESULTS = 100
NO_ISSUE = "Issue does not exist or you do not have permission to see it."
UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)
SEARCH_GONE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)


class IssueApi:
    def __init__(self, state: SiteState, issues: IssueService) -> None:
        self.state = state
        self.issues = issues
        self.remote_links: dict[int, list[dict[str, Any]]] = {}  # issue id -> remote links

    def routes(self) -> list[Route]:
        api = "/rest/api/{version:int}"
        return [
            Route(f"{api}/issue", self.create_issue, methods=["POST"]),
            Route(f"{api}/issue/bulk", self.create_bulk, methods=["POST"]),
            Route(f"{api}/issue/{{key}}", self.issue, methods=["GET", "PUT", "DELETE"]),
            Route(f"{api}/issue/{{key}}/changelog", self.changelog),
            Route(f"{api}/issue/{{key}}/transitions", self.transitions, methods=["GET", "POST"]),
            Route(f"{api}/issue/{{key}}/remotelink", self.remote_link, methods=["GET", "POST"]),
            Route(f"{api}/issue/{{key}}/properties", self.property_keys),
            Route(f"{api}/issue/{{key}}/properties/{{prop}}", self.prop, methods=["GET", "PUT"]),
            Route(f"{api}/issueLink", self.create_link, methods=["POST"]),
            Route(f"{api}/issueLink/{{link_id:int}}", self.link, methods=["GET", "DELETE"]),
            Route(f"{api}/search/jql", self.search_jql, methods=["GET", "POST"]),
            Route(f"{api}/search", self.search_gone, methods=["GET", "POST"]),
        ]

    # --- issues -------------------------------------------------------------------------

    async def create_issue(self, request: Request) -> Response:
        payload = await json_body(request)
        try:
            issue, errors = self.issues.create(payload, api_version(request), base_url(request))
        except PermissionDenied as exc:
            return error_response(403, [str(exc)])
        if errors is not None or issue is None:
            return JSONResponse({**(errors or {}), "status": 400}, status_code=400)
        return JSONResponse(created_json(request, issue.id, issue.key), status_code=201)

    async def create_bulk(self, request: Request) -> Response:
        payload = await json_body(request)
        updates = payload.get("issueUpdates") if isinstance(payload, dict) else None
        if not isinstance(updates, list):
            return error_response(400, ["issueUpdates is required."])
        if len(updates) > 50:
            return error_response(400, ["You can create at most 50 issues in one request."])
        created: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for number, update in enumerate(updates):
            try:
                issue, errors = self.issues.create(update, api_version(request), base_url(request))
            except PermissionDenied as exc:
                failed.append(
                    {
                        "status": 403,
                        "failedElementNumber": number,
                        "elementErrors": error_collection(messages=[str(exc)]),
                    }
                )
                continue
            if issue is None:
                failed.append(
                    {"status": 400, "failedElementNumber": number, "elementErrors": errors}
                )
            else:
                created.append(created_json(request, issue.id, issue.key))
        status = 400 if updates and not created else 201
        return JSONResponse({"issues": created, "errors": failed}, status_code=status)

    async def issue(self, request: Request) -> Response:
        issue = self.state.issue(request.path_params["key"])
        if issue is None or not issue.project.permitted:
            return error_response(
                404, ["Issue does not exist or you do not have permission to see it."]
            )
        if request.method == "GET":
            with self.state.lock:
                data = issue_json(
                    base_url(request),
                    self.state,
                    issue,
                    api_version(request),
                    fields=csv(request.query_params.get("fields")),
                    properties=csv(request.query_params.get("properties")),
                )
                if "changelog" in (request.query_params.get("expand") or ""):
                    data["changelog"] = _changelog(issue.histories)
            return JSONResponse(data)
        if request.method == "DELETE":
            with self.state.lock:
                self.state.issues.pop(issue.id, None)
                self.state.keys.pop(issue.key, None)
            return Response(status_code=204)
        try:
            errors = self.issues.edit(
                issue, await json_body(request), api_version(request), base_url(request)
            )
        except PermissionDenied as exc:
            return error_response(403, [str(exc)])
        if errors is not None:
            return JSONResponse(errors, status_code=400)
        return Response(status_code=204)

    async def transitions(self, request: Request) -> Response:
        issue = self.state.issue(request.path_params["key"])
        if issue is None:
            return error_response(
                404, ["Issue does not exist or you do not have permission to see it."]
            )
        base = base_url(request)
        if request.method == "GET":
            return JSONResponse(
                {
                    "transitions": [
                        {
                            "id": tid,
                            "name": name,
                            "to": status_json(base, name),
                            "hasScreen": False,
                            "isAvailable": True,
                        }
                        for tid, name in TRANSITIONS
                    ]
                }
            )
        payload = await json_body(request)
        wanted = (
            str((payload.get("transition") or {}).get("id", ""))
            if isinstance(payload, dict)
            else ""
        )
        target = dict(TRANSITIONS).get(wanted)
        if target is None:
            return error_response(400, [f"Transition id '{wanted}' is not valid for this issue."])
        with self.state.lock:
            before = self.issues.snapshot(issue)
            issue.status = target
            self.issues.touch(issue, before, base)
        return Response(status_code=204)

    async def remote_link(self, request: Request) -> Response:
        """Web links of an issue; a POST with a known ``globalId`` updates that link."""
        issue = self.state.issue(request.path_params["key"])
        if issue is None:
            return error_response(404, [NO_ISSUE])
        links = self.remote_links.setdefault(issue.id, [])
        if request.method == "GET":
            return JSONResponse(links)
        payload = await json_body(request)
        target = payload.get("object") if isinstance(payload, dict) else None
        if not isinstance(target, dict) or not target.get("url") or not target.get("title"):
            return JSONResponse(
                {"errorMessages": [], "errors": {"object": "'url' and 'title' are required."}},
                status_code=400,
            )
        base = base_url(request)
        with self.state.lock:
            global_id = payload.get("globalId")
            existing = next((x for x in links if global_id and x["globalId"] == global_id), None)
            link_id = (
                existing["id"] if existing else 10000 + sum(map(len, self.remote_links.values()))
            )
            link = {
                "id": link_id,
                "self": f"{base}/rest/api/2/issue/{issue.key}/remotelink/{link_id}",
                "globalId": global_id or f"system={target['url']}",
                "relationship": payload.get("relationship"),
                "object": {"url": target["url"], "title": target["title"]},
            }
            if existing:
                links[links.index(existing)] = link
            else:
                links.append(link)
        status = 200 if existing else 201
        return JSONResponse({"id": link_id, "self": link["self"]}, status_code=status)

    async def property_keys(self, request: Request) -> Response:
        issue = self.state.issue(request.path_params["key"])
        if issue is None:
            return error_response(
                404, ["Issue does not exist or you do not have permission to see it."]
            )
        base = base_url(request)
        keys = [
            {"key": key, "self": f"{base}/rest/api/2/issue/{issue.id}/properties/{key}"}
            for key in issue.properties
        ]
        return JSONResponse({"keys": keys})

    async def prop(self, request: Request) -> Response:
        issue = self.state.issue(request.path_params["key"])
        if issue is None:
            return error_response(
                404, ["Issue does not exist or you do not have permission to see it."]
            )
        key = request.path_params["prop"]
        if request.method == "GET":
            if key not in issue.properties:
                return error_response(404, [f"The property with key '{key}' does not exist."])
            return JSONResponse({"key": key, "value": issue.properties[key]})
        value = await json_body(request)
        with self.state.lock:
            existed = key in issue.properties
            issue.properties[key] = value
        return Response(status_code=200 if existed else 201)

    async def create_link(self, request: Request) -> Response:
        payload = await json_body(request)
        if not isinstance(payload, dict):
            return error_response(400, ["Request body must be a JSON object."])
        type_ref = payload.get("type") or {}
        row = next(
            (r for r in LINK_TYPES if type_ref.get("id") == r[0] or type_ref.get("name") == r[1]),
            None,
        )
        if row is None:
            return error_response(
                404, [f"No issue link type with name '{type_ref.get('name')}' found."]
            )
        inward = self._issue_ref(payload.get("inwardIssue"))
        outward = self._issue_ref(payload.get("outwardIssue"))
        if inward is None or outward is None:
            return error_response(
                404, ["Issue does not exist or you do not have permission to see it."]
            )
        with self.state.lock:
            link = self.state.add_link(row[0], inward.key, outward.key)
            self._record_link(link, base_url(request), added=True)
        location = f"{base_url(request)}/rest/api/2/issueLink/{link.id}"
        return Response(status_code=201, headers={"Location": location})

    async def link(self, request: Request) -> Response:
        link_id = request.path_params["link_id"]
        link = self.state.links.get(link_id)
        if link is None:
            return error_response(404, [f"No issue link with id '{link_id}' exists."])
        if request.method == "DELETE":
            with self.state.lock:
                self.state.links.pop(link_id, None)
                self._record_link(link, base_url(request), added=False)
            return Response(status_code=204)
        return JSONResponse(link_json(base_url(request), self.state, link, link.inward_key))

    def _record_link(self, link: Any, base: str, *, added: bool) -> None:
        """The changelog of both issues of ``link`` (``This issue blocks BSS-2`` on the
        inward one, ``This issue is blocked by BSS-1`` on the outward one)."""
        row = next(r for r in LINK_TYPES if r[0] == link.type_id)
        inward, outward = self.state.issue(link.inward_key), self.state.issue(link.outward_key)
        if inward is not None:
            self.issues.record_link(inward, link.outward_key, row[3], base, added=added)
        if outward is not None:
            self.issues.record_link(outward, link.inward_key, row[2], base, added=added)

    # --- search -------------------------------------------------------------------------

    async def search_jql(self, request: Request) -> Response:
        if self.state.deployment == "datacenter":  # Cloud's enhanced search only
            return error_response(404, ["null for uri: " + str(request.url.path)])
        params = await _search_params(request)
        jql = str(params.get("jql") or "")
        if not jql.strip() or is_unbounded(jql):
            return error_response(
                400,
                [UNBOUNDED],
            )
        try:
            query = Query(jql, self.state)
        except JqlError as exc:
            return error_response(400, [str(exc)])
        try:
            limit = max(1, min(int(params.get("maxResults") or 50), MAX_SEARCH_RESULTS))
        except (TypeError, ValueError):
            return error_response(400, ["maxResults must be a number."])
        offset = decode_token(params.get("nextPageToken"))
        if offset is None:
            return error_response(400, ["The provided next page token is invalid or expired."])
        fields = params.get("fields") or ["id"]
        properties = params.get("properties") or None
        base, version = base_url(request), api_version(request)
        with self.state.lock:
            visible = [i for i in self.state.issues.values() if i.project.permitted]
            matched = query.sort([i for i in visible if query.matches(i)])
            page = matched[offset : offset + limit]
            issues = [
                issue_json(base, self.state, i, version, fields=list(fields), properties=properties)
                for i in page
            ]
            if "changelog" in str(params.get("expand") or ""):
                for data, issue in zip(issues, page, strict=True):
                    data["changelog"] = _changelog(issue.histories)
        result: dict[str, Any] = {"issues": issues, "isLast": offset + limit >= len(matched)}
        if not result["isLast"]:
            result["nextPageToken"] = encode_token(offset + limit)
        return JSONResponse(result)

    async def changelog(self, request: Request) -> Response:
        """``GET /issue/{key}/changelog``: the changelog oldest first, paged by ``startAt``."""
        issue = self.state.issue(request.path_params["key"])
        if issue is None or not issue.project.permitted:
            return error_response(
                404, ["Issue does not exist or you do not have permission to see it."]
            )
        try:
            start = int(request.query_params.get("startAt", 0))
            limit = int(request.query_params.get("maxResults", 100))
        except ValueError:
            return error_response(400, ["startAt and maxResults must be numbers."])
        with self.state.lock:
            histories = list(issue.histories)
        page = histories[start : start + max(limit, 0)]
        return JSONResponse(
            {
                "self": str(request.url),
                "startAt": start,
                "maxResults": limit,
                "total": len(histories),
                "isLast": start + len(page) >= len(histories),
                "values": page,
            }
        )

    async def search_gone(self, request: Request) -> Response:
        if self.state.deployment == "datacenter":
            return await self.search_paged(request)
        return error_response(410, [SEARCH_GONE])

    async def search_paged(self, request: Request) -> Response:
        """Data Center's ``/rest/api/2/search``: ``startAt`` / ``maxResults`` / ``total``."""
        params = await _search_params(request)
        jql = str(params.get("jql") or "")
        try:
            query = Query(jql, self.state)
        except JqlError as exc:
            return error_response(400, [str(exc)])
        try:
            limit = max(0, min(int(params.get("maxResults") or 50), MAX_SEARCH_RESULTS))
            start = max(0, int(params.get("startAt") or 0))
        except (TypeError, ValueError):
            return error_response(400, ["startAt and maxResults must be numbers."])
        fields = params.get("fields") or ["*navigable"]
        properties = params.get("properties") or None
        base = base_url(request)
        with self.state.lock:
            visible = [i for i in self.state.issues.values() if i.project.permitted]
            matched = query.sort([i for i in visible if query.matches(i)])
            issues = [
                issue_json(base, self.state, i, "2", fields=list(fields), properties=properties)
                for i in matched[start : start + limit]
            ]
        return JSONResponse(
            {
                "expand": "names,schema",
                "startAt": start,
                "maxResults": limit,
                "total": len(matched),
                "issues": issues,
            }
        )

    def _issue_ref(self, ref: Any) -> Any:
        if not isinstance(ref, dict):
            return None
        return self.state.issue(str(ref.get("key") or ref.get("id") or ""))


def _changelog(histories: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``changelog`` of an issue read with ``expand=changelog`` (all of it, oldest first)."""
    return {
        "startAt": 0,
        "maxResults": len(histories),
        "total": len(histories),
        "histories": list(histories),
    }


async def _search_params(request: Request) -> dict[str, Any]:
    """A search's parameters: the JSON body of a POST, else the query string (``fields`` and
    ``properties`` may be repeated or comma-separated)."""
    if request.method == "POST":
        body = await json_body(request)
        return body if isinstance(body, dict) else {}
    params: dict[str, Any] = dict(request.query_params)
    for name in ("fields", "properties"):
        if name in params:
            params[name] = csv(",".join(request.query_params.getlist(name)))
    return params
