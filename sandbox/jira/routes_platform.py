"""Jira Cloud platform REST routes of the sandbox: site metadata (``/rest/api/2|3/...``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.jira.http import api_version, base_url, error_response
from sandbox.jira.issues import IssueService
from sandbox.jira.render import (
    field_json,
    issue_type_json,
    link_type_json,
    priority_json,
    project_json,
    user_json,
)
from sandbox.jira.state import LINK_TYPES, PRIORITIES, SiteState, now_iso


class PlatformApi:
    def __init__(self, state: SiteState, issues: IssueService) -> None:
        self.state = state
        self.issues = issues

    def routes(self) -> list[Route]:
        api = "/rest/api/{version:int}"
        return [
            Route(f"{api}/serverInfo", self.server_info),
            Route(f"{api}/myself", self.myself),
            Route(f"{api}/user/search", self.user_search),
            Route(f"{api}/field", self.fields),
            Route(f"{api}/priority", self.priorities),
            Route(f"{api}/project", self.projects),
            Route(f"{api}/project/{{key}}", self.project),
            Route(f"{api}/issuetype", self.issue_types),
            Route(f"{api}/issueLinkType", self.link_types),
            Route(f"{api}/issue/createmeta/{{key}}/issuetypes", self.createmeta_types),
            Route(f"{api}/issue/createmeta/{{key}}/issuetypes/{{type_id}}", self.createmeta_fields),
        ]

    # --- site ---------------------------------------------------------------------------

    async def server_info(self, request: Request) -> Response:
        datacenter = self.state.deployment == "datacenter"
        return JSONResponse(
            {
                "baseUrl": base_url(request),
                "displayUrl": base_url(request),
                "version": "9.12.15" if datacenter else "1001.0.0-SNAPSHOT",
                "versionNumbers": [9, 12, 15] if datacenter else [1001, 0, 0],
                "deploymentType": "DataCenter" if datacenter else "Cloud",
                "buildNumber": 100276,
                "buildDate": "2026-01-01T00:00:00.000+00:00",
                "serverTime": now_iso().replace("+0000", "+00:00"),
                "scmInfo": "sandbox",
                "serverTitle": "backlog-bot Jira sandbox",
            }
        )

    async def myself(self, request: Request) -> Response:
        return JSONResponse(self._shown(request, self.issues.acting()))

    async def user_search(self, request: Request) -> Response:
        """``GET /user/search``, as Atlassian describes it: Cloud matches ``query`` against
        the prefix of each word of a display name and of the e-mail address (or
        ``accountId`` exactly); Data Center matches ``username`` against names, display
        names and e-mail addresses, and its users have a key and a name, no accountId."""
        params = request.query_params
        query = (params.get("query") or params.get("username") or "").casefold()
        account = params.get("accountId")
        if not query and not account and not params.get("property"):
            return error_response(400, ["The query parameter 'query' is required."])
        start = int(params.get("startAt") or 0)
        size = int(params.get("maxResults") or 50)
        with self.state.lock:
            users = [
                user
                for user in self.state.users.values()
                if (account and user.account_id == account) or (query and _matches(user, query))
            ]
            found = [self._shown(request, user) for user in users[start : start + size]]
        return JSONResponse(found)

    def _shown(self, request: Request, user: Any) -> dict[str, Any]:
        """A user as this deployment shows it (Data Center: key and name, no accountId)."""
        shown = user_json(base_url(request), user, api_version(request))
        if self.state.deployment == "datacenter":
            name = user.email.split("@", 1)[0]
            number = 10000 + sorted(self.state.users).index(user.account_id)
            shown.pop("accountId")
            shown.pop("accountType", None)
            shown |= {"key": f"JIRAUSER{number}", "name": name}
            shown["self"] = f"{base_url(request)}/rest/api/2/user?username={name}"
        return shown

    async def fields(self, request: Request) -> Response:
        return JSONResponse([field_json(field_id) for field_id in self.state.field_ids()])

    async def priorities(self, request: Request) -> Response:
        base = base_url(request)
        return JSONResponse(
            [
                {**priority_json(base, pid), "statusColor": "#cccccc", "description": name}
                for pid, name in PRIORITIES
            ]
        )

    async def projects(self, request: Request) -> Response:
        base = base_url(request)
        return JSONResponse(
            [project_json(base, p) for p in self.state.projects.values() if p.permitted]
        )

    async def project(self, request: Request) -> Response:
        project = self._project_or_error(request.path_params["key"])
        if isinstance(project, Response):
            return project
        return JSONResponse(project_json(base_url(request), project))

    async def issue_types(self, request: Request) -> Response:
        base = base_url(request)
        return JSONResponse(
            [
                issue_type_json(base, p, t)
                for p in self.state.projects.values()
                for t in p.issue_types
            ]
        )

    async def link_types(self, request: Request) -> Response:
        base = base_url(request)
        return JSONResponse(
            {"issueLinkTypes": [link_type_json(base, row[0]) for row in LINK_TYPES]}
        )

    async def createmeta_types(self, request: Request) -> Response:
        project = self._project_or_error(request.path_params["key"])
        if isinstance(project, Response):
            return project
        types = [issue_type_json(base_url(request), project, t) for t in project.issue_types]
        return JSONResponse(
            {"startAt": 0, "maxResults": 50, "total": len(types), "issueTypes": types}
        )

    async def createmeta_fields(self, request: Request) -> Response:
        project = self._project_or_error(request.path_params["key"])
        if isinstance(project, Response):
            return project
        issue_type = project.issue_type(request.path_params["type_id"])
        if issue_type is None:
            type_id = request.path_params["type_id"]
            return error_response(404, [f"Issue type with id '{type_id}' does not exist."])
        results = []
        for field_id, required in project.create_fields(issue_type).items():
            spec = field_json(field_id)
            results.append(
                {
                    "fieldId": field_id,
                    "key": field_id,
                    "name": spec["name"],
                    "required": required,
                    "schema": spec["schema"],
                    "operations": ["set"],
                    "hasDefaultValue": False,
                }
            )
        return JSONResponse(
            {
                "startAt": 0,
                "maxResults": 50,
                "total": len(results),
                "fields": results,
                "results": results,
            }
        )

    # --- helpers ------------------------------------------------------------------------

    def _project_or_error(self, key: str) -> Any:
        project = self.state.project(key)
        if project is None:
            return error_response(404, [f"No project could be found with key '{key}'."])
        if not project.permitted:
            return error_response(403, [f"You do not have permission to view project '{key}'."])
        return project


def _matches(user: Any, query: str) -> bool:
    """Whether ``query`` (case-folded) starts the display name, one of its words, or the
    e-mail address."""
    name = user.display_name.casefold()
    words = [name, *name.split(), user.email.casefold()]
    return any(word.startswith(query) for word in words)
