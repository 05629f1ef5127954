"""``JiraSandbox``: the Jira emulator as an ASGI app, servable on loopback, with test controls.

In-process use (tests, ``backlog-bot demo``)::

    with JiraSandbox(projects=[ProjectSpec("BSS", flavour="team")]) as jira:
        settings = jira.env()          # JIRA_URL, JIRA_EMAIL, JIRA_API_TOKEN, JIRA_PROJECT
        jira.inject_fault(Fault("error", status=503, times=1))
        ...
        jira.requests                  # [LoggedRequest(method, path, query, status, ...)]
        jira.state.summary()

Out of process, the same controls are HTTP endpoints (no authentication, loopback only):
``GET /_sandbox/state``, ``GET|DELETE /_sandbox/requests``, ``POST|DELETE /_sandbox/faults``
(body ``{"faults": [{"mode": "error", "status": 503, ...}], "seed": 1}``),
``POST /_sandbox/webhooks`` (body ``{"url": ..., "secret": ...}``).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.jira.faults import Fault, FaultPlan, LoggedRequest
from sandbox.jira.issues import IssueService
from sandbox.jira.middleware import Credentials, SandboxMiddleware
from sandbox.jira.routes_agile import AgileApi
from sandbox.jira.routes_comments import CommentApi
from sandbox.jira.routes_issues import IssueApi
from sandbox.jira.routes_platform import PlatformApi
from sandbox.jira.state import ProjectSpec, SiteState, User
from sandbox.jira.webhooks import WebhookEmitter
from sandbox.runner import SandboxControl, ServedApp

DEFAULT_EMAIL = "backlog-bot@example.com"
DEFAULT_TOKEN = "sandbox-api-token"
DEPLOYMENTS = ("cloud", "datacenter")
TEAM_MEMBERS = (
    User("5b10a2844c20165700ede21g", DEFAULT_EMAIL, "backlog-bot"),
    User("712020:alice", "alice@example.com", "Alice Devops"),
    User("712020:bob", "bob@example.com", "Bob Backend"),
)


class JiraSandbox(SandboxControl):
    """A Jira site: Cloud (email + API token, ``/rest/api/3/search/jql``) or Data Center
    (personal access token as Bearer, ``/rest/api/2/search`` paged by ``startAt``, no API v3,
    ``serverInfo.deploymentType`` "DataCenter"). The Agile API is the same on both."""

    label = "Jira sandbox"
    default_deployment = "cloud"  # the Jira tests run once per deployment (tests/conftest.py)

    def __init__(
        self,
        projects: list[ProjectSpec] | None = None,
        *,
        email: str = DEFAULT_EMAIL,
        token: str = DEFAULT_TOKEN,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        seed: int = 0,
        port: int | None = None,
        deployment: str | None = None,
    ) -> None:
        self.deployment = deployment or self.default_deployment
        if self.deployment not in DEPLOYMENTS:
            raise ValueError(f"deployment must be one of {', '.join(DEPLOYMENTS)}")
        self.projects = projects or [ProjectSpec()]
        self.email = email
        self.token = token
        self.state = SiteState(self.projects)
        self.state.deployment = self.deployment
        for user in TEAM_MEMBERS:
            self.state.users[user.account_id] = user
        actor = User(TEAM_MEMBERS[0].account_id, email, "backlog-bot")
        self.webhooks = WebhookEmitter(webhook_url, webhook_secret)
        self.faults = FaultPlan(seed=seed)
        self.issue_service = IssueService(self.state, self.webhooks, actor)
        self.port = port
        self._served: ServedApp | None = None
        self.app = self._build_app()

    # --- serving ------------------------------------------------------------------------

    def start(self) -> JiraSandbox:
        self._served = ServedApp(self.app, port=self.port).start()
        return self

    def stop(self) -> None:
        self.faults.clear()  # releases stalled requests so the server can shut down
        self._stop_served()
        self.webhooks.close()

    def env(self) -> dict[str, str]:
        """Settings that point backlog-bot at this sandbox."""
        env = {
            "JIRA_URL": self.url,
            "JIRA_EMAIL": self.email,
            "JIRA_API_TOKEN": self.token,
            "JIRA_PROJECT": self.projects[0].key,
        }
        if self.deployment == "datacenter":  # a personal access token, no account email
            del env["JIRA_EMAIL"]
        return env

    # --- test controls ------------------------------------------------------------------

    def inject_fault(self, *faults: Fault, seed: int | None = None) -> None:
        """Replace the active faults."""
        self.faults.set(list(faults), seed)

    def clear_faults(self) -> None:
        self.faults.clear()

    @property
    def requests(self) -> list[LoggedRequest]:
        return self.faults.requests()

    def clear_requests(self) -> None:
        self.faults.clear_log()

    def write_requests(self) -> list[LoggedRequest]:
        return [
            r
            for r in self.requests
            if r.method not in ("GET", "HEAD")
            and "/search/jql" not in r.path
            and not r.path.endswith("/rest/api/2/search")
        ]

    def user_token(self, email: str) -> str:
        """The API token (Data Center: personal access token) of teammate ``email``
        (``alice@example.com``, ``bob@example.com``): edits made with it are theirs."""
        return f"sandbox-token-{email.split('@', 1)[0]}"

    def issues_by_label(self, label: str) -> list[str]:
        with self.state.lock:
            return sorted(
                i.key for i in self.state.issues.values() if label in (i.fields.get("labels") or [])
            )

    # --- app ----------------------------------------------------------------------------

    def _build_app(self) -> Any:
        platform = PlatformApi(self.state, self.issue_service)
        agile = AgileApi(self.state, self.issue_service)
        issues = IssueApi(self.state, self.issue_service)
        comments = CommentApi(self.state, self.issue_service)
        control = [
            Route("/_sandbox/state", self._control_state),
            Route("/_sandbox/requests", self._control_requests, methods=["GET", "DELETE"]),
            Route("/_sandbox/faults", self._control_faults, methods=["GET", "POST", "DELETE"]),
            Route("/_sandbox/webhooks", self._control_webhooks, methods=["POST"]),
        ]
        app = Starlette(
            routes=[
                *platform.routes(),
                *issues.routes(),
                *comments.routes(),
                *agile.routes(),
                *control,
            ]
        )
        return SandboxMiddleware(
            app,
            credentials=Credentials(
                self.email,
                self.token,
                bearer_only=self.deployment == "datacenter",
                people={
                    user.account_id: (user.email, self.user_token(user.email))
                    for user in TEAM_MEMBERS[1:]
                },
            ),
            datacenter=self.deployment == "datacenter",
            faults=self.faults,
            created_count=lambda: self.state.created_issue_count,
        )

    async def _control_state(self, request: Request) -> Response:
        with self.state.lock:
            summary = self.state.summary()
            summary["created_issue_count"] = self.state.created_issue_count
        return JSONResponse(summary)

    async def _control_requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.clear_requests()
            return Response(status_code=204)
        return JSONResponse([entry.to_dict() for entry in self.requests])

    async def _control_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.clear_faults()
            return Response(status_code=204)
        if request.method == "POST":
            body = json.loads(await request.body() or b"{}")
            try:
                faults = [Fault.from_dict(item) for item in body.get("faults", [])]
            except TypeError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            self.inject_fault(*faults, seed=body.get("seed"))
        return JSONResponse({"faults": self.faults.describe()})

    async def _control_webhooks(self, request: Request) -> Response:
        body = json.loads(await request.body() or b"{}")
        self.webhooks.configure(body.get("url"), body.get("secret"))
        return JSONResponse({"url": self.webhooks.url})
