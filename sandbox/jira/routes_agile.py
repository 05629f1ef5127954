"""Jira Software (Agile) REST routes of the sandbox: boards and sprints."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.jira.issues import IssueService
from sandbox.jira.render import board_json, issue_json, sprint_json
from sandbox.jira.state import SiteState

AGILE = "/rest/agile/1.0"
SPRINT_FIELDS = ("name", "goal", "startDate", "endDate", "state")


class AgileApi:
    def __init__(self, state: SiteState, issues: IssueService) -> None:
        self.state = state
        self.issues = issues

    def routes(self) -> list[Route]:
        return [
            Route(f"{AGILE}/board", self.boards),
            Route(f"{AGILE}/board/{{board_id:int}}", self.board),
            Route(f"{AGILE}/board/{{board_id:int}}/sprint", self.board_sprints),
            Route(f"{AGILE}/sprint", self.create_sprint, methods=["POST"]),
            Route(
                f"{AGILE}/sprint/{{sprint_id:int}}",
                self.sprint,
                methods=["GET", "PUT", "POST", "DELETE"],
            ),
            Route(
                f"{AGILE}/sprint/{{sprint_id:int}}/issue",
                self.sprint_issues,
                methods=["GET", "POST"],
            ),
            Route(f"{AGILE}/backlog/issue", self.move_to_backlog, methods=["POST"]),
        ]

    async def boards(self, request: Request) -> Response:
        wanted = request.query_params.get("projectKeyOrId")
        board_type = request.query_params.get("type")
        name = request.query_params.get("name")
        with self.state.lock:
            boards = []
            for board in self.state.boards.values():
                project = self.state.projects[board.project_key]
                if not project.permitted:
                    continue
                if wanted and wanted not in (project.key, project.id):
                    continue
                if board_type and board.type != board_type:
                    continue
                if name and name.lower() not in board.name.lower():
                    continue
                boards.append(board_json(_base(request), self.state, board))
        return JSONResponse(_page(request, boards))

    async def board(self, request: Request) -> Response:
        board = self.state.boards.get(request.path_params["board_id"])
        if board is None:
            return _errors(404, ["Board does not exist or you do not have permission to see it."])
        return JSONResponse(board_json(_base(request), self.state, board))

    async def board_sprints(self, request: Request) -> Response:
        board_id = request.path_params["board_id"]
        if board_id not in self.state.boards:
            return _errors(404, ["Board does not exist or you do not have permission to see it."])
        states = set((request.query_params.get("state") or "").split(",")) - {""}
        with self.state.lock:
            sprints = [
                sprint_json(_base(request), sprint)
                for sprint in self.state.sprints.values()
                if sprint.board_id == board_id and (not states or sprint.state in states)
            ]
        return JSONResponse(_page(request, sprints))

    async def create_sprint(self, request: Request) -> Response:
        payload = await _json_body(request)
        if not isinstance(payload, dict) or not payload.get("name"):
            return JSONResponse(
                {"errorMessages": [], "errors": {"name": "Sprint name is required."}},
                status_code=400,
            )
        board_id = payload.get("originBoardId")
        if board_id not in self.state.boards:
            return _errors(400, [f"Board with id '{board_id}' does not exist."])
        if len(str(payload["name"])) > 30:
            return JSONResponse(
                {
                    "errorMessages": [],
                    "errors": {"name": "Sprint name must be 30 characters or fewer."},
                },
                status_code=400,
            )
        with self.state.lock:
            sprint = self.state.add_sprint(
                str(payload["name"]),
                board_id,
                goal=str(payload.get("goal") or ""),
                start_date=payload.get("startDate"),
                end_date=payload.get("endDate"),
            )
            data = sprint_json(_base(request), sprint)
        return JSONResponse(data, status_code=201)

    async def sprint(self, request: Request) -> Response:
        sprint_id = request.path_params["sprint_id"]
        sprint = self.state.sprints.get(sprint_id)
        if sprint is None:
            return _errors(404, [f"Sprint with id {sprint_id} does not exist."])
        if request.method == "DELETE":
            with self.state.lock:
                self.state.sprints.pop(sprint_id, None)
                for issue in self.state.issues.values():
                    if issue.sprint_id == sprint_id:
                        issue.sprint_id = None
            return Response(status_code=204)
        if request.method in ("PUT", "POST"):
            payload = await _json_body(request)
            if not isinstance(payload, dict):
                return _errors(400, ["Request body must be a JSON object."])
            if request.method == "PUT" and not payload.get("name"):
                return JSONResponse(
                    {"errorMessages": [], "errors": {"name": "Sprint name is required."}},
                    status_code=400,
                )
            with self.state.lock:
                for key in SPRINT_FIELDS:
                    if key in payload:
                        attribute = {"startDate": "start_date", "endDate": "end_date"}.get(key, key)
                        setattr(sprint, attribute, payload[key])
        return JSONResponse(sprint_json(_base(request), sprint))

    async def sprint_issues(self, request: Request) -> Response:
        sprint_id = request.path_params["sprint_id"]
        sprint = self.state.sprints.get(sprint_id)
        if sprint is None:
            return _errors(404, [f"Sprint with id {sprint_id} does not exist."])
        base = _base(request)
        if request.method == "GET":
            with self.state.lock:
                issues = [
                    issue_json(base, self.state, issue, "2")
                    for issue in self.state.issues.values()
                    if issue.sprint_id == sprint_id
                ]
            return JSONResponse({**_page(request, issues), "issues": issues})
        payload = await _json_body(request)
        keys = payload.get("issues") if isinstance(payload, dict) else None
        if not isinstance(keys, list) or len(keys) > 50:
            return _errors(400, ["Between 1 and 50 issues can be moved in one request."])
        with self.state.lock:
            found = {str(key): self.state.issue(str(key)) for key in keys}
            missing = [key for key, issue in found.items() if issue is None]
            if missing:
                return _errors(400, [f"Issue '{missing[0]}' does not exist."])
            moving = [issue for issue in found.values() if issue is not None]
            subtask = next((issue for issue in moving if issue.issue_type.subtask), None)
            if subtask is not None:
                return _errors(
                    400, [f"Issue '{subtask.key}' is a sub-task and cannot be moved to a sprint."]
                )
            for issue in moving:
                if issue.sprint_id != sprint_id:
                    before = self.issues.snapshot(issue)
                    issue.sprint_id = sprint_id
                    self.issues.touch(issue, before, base)
        return Response(status_code=204)

    async def move_to_backlog(self, request: Request) -> Response:
        """``POST /backlog/issue``: out of every sprint not yet closed (1 to 50 issues)."""
        payload = await _json_body(request)
        keys = payload.get("issues") if isinstance(payload, dict) else None
        if not isinstance(keys, list) or not 0 < len(keys) <= 50:
            return _errors(400, ["Between 1 and 50 issues can be moved in one request."])
        base = _base(request)
        with self.state.lock:
            found = {str(key): self.state.issue(str(key)) for key in keys}
            missing = [key for key, issue in found.items() if issue is None]
            if missing:
                return _errors(400, [f"Issue '{missing[0]}' does not exist."])
            for issue in found.values():
                assert issue is not None
                sprint = self.state.sprints.get(issue.sprint_id) if issue.sprint_id else None
                if sprint is not None and sprint.state != "closed":
                    before = self.issues.snapshot(issue)
                    issue.sprint_id = None
                    self.issues.touch(issue, before, base)
        return Response(status_code=204)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _page(request: Request, values: list[dict[str, Any]]) -> dict[str, Any]:
    start = int(request.query_params.get("startAt") or 0)
    limit = int(request.query_params.get("maxResults") or 50)
    page = values[start : start + limit]
    return {
        "maxResults": limit,
        "startAt": start,
        "total": len(values),
        "isLast": start + limit >= len(values),
        "values": page,
    }


def _errors(status: int, messages: list[str]) -> JSONResponse:
    return JSONResponse({"errorMessages": messages, "errors": {}}, status_code=status)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
