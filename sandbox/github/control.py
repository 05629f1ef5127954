"""``GitHubSandbox``: the sandbox GitHub as one object, served over loopback HTTP.

Usable in-process (tests, ``backlog-bot demo``) and by ``backlog-bot sandbox``. Besides the
API it offers what a person would do on github.com — close an issue, assign someone, move a
project card, open, review, check and merge a pull request — each of which emits the webhook
GitHub would send. The same controls are reachable over HTTP under ``/_sandbox/``.
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.github.app import GitHubApp
from sandbox.github.apps import AppAuth
from sandbox.github.limits import Limits
from sandbox.github.projects import ProjectsState
from sandbox.github.pulls import DevFlow
from sandbox.github.rest import RestApi
from sandbox.github.state import RepoState, SandboxError
from sandbox.github.webhooks import WebhookSender
from sandbox.runner import SandboxControl, ServedApp

DEFAULT_TOKEN = "ghp_sandboxtoken0000000000000000000000000"
TEAMMATE_TOKEN_PREFIX = "ghp_teammate_"


class GitHubSandbox(SandboxControl):
    """A stateful GitHub with one repository ``owner/name`` and its owner's Projects v2."""

    label = "GitHub sandbox"

    def __init__(
        self,
        owner: str = "acme",
        name: str = "bss",
        *,
        token: str = DEFAULT_TOKEN,
        project_title: str = "BSS Modernization",
        seed: int = 0,
    ) -> None:
        self.token = token
        self.teammates: set[str] = set()
        self.project_title = project_title
        self.repo = RepoState(owner, name)
        self.flow = DevFlow(self.repo)
        self.projects = ProjectsState(self.repo)
        self.rest = RestApi(self.repo, self.flow)
        self.limits = Limits(seed)
        self.apps = AppAuth(self.repo)  # GitHub App authentication (JWT -> installation token)
        self.webhooks = WebhookSender(self.repo.repo_shape, lambda: self.repo.user_shape(owner))
        self.repo.events.append(self.webhooks)
        self.app = GitHubApp(self)
        self.asgi = self.app.starlette()
        self._served: ServedApp | None = None

    # --- serving -----------------------------------------------------------------------------

    def start(self, port: int | None = None) -> GitHubSandbox:
        self._served = ServedApp(self.asgi, port=port)
        self.repo.base_url = self._served.url
        self._served.start()
        return self

    def stop(self) -> None:
        self.webhooks.close()
        self._stop_served()

    def env(self) -> dict[str, str]:
        """The settings that point backlog-bot at this sandbox."""
        return {
            "GITHUB_API_URL": self.url,
            "GITHUB_TOKEN": self.token,
            "GITHUB_REPOSITORY": f"{self.repo.owner}/{self.repo.name}",
            "GITHUB_PROJECT": self.project_title,
        }

    def app_env(self, key_file: str) -> dict[str, str]:
        """Settings for GitHub App authentication (the App's key written to ``key_file``)."""
        from pathlib import Path

        Path(key_file).write_text(self.apps.private_key_pem, encoding="utf-8")
        env = {k: v for k, v in self.env().items() if k != "GITHUB_TOKEN"}
        return env | {
            "GITHUB_APP_ID": str(self.apps.app_id),
            "GITHUB_APP_PRIVATE_KEY_FILE": key_file,
        }

    def authorized(self, header: str | None) -> bool:
        """A personal token or an unexpired installation token (not the App's JWT)."""
        return self.caller(header) is not False

    def caller(self, header: str | None) -> str | bool | None:
        """The teammate a token belongs to (``user_token``), None for the sandbox's own
        token or an installation token, False when refused."""
        if not header:
            return False
        scheme, _, credential = header.partition(" ")
        if scheme.lower() not in ("token", "bearer"):
            return False
        credential = credential.strip()
        if hmac.compare_digest(credential, self.token) or self.apps.token_valid(credential):
            return None
        if credential.startswith(TEAMMATE_TOKEN_PREFIX):
            login = credential.removeprefix(TEAMMATE_TOKEN_PREFIX)
            if login and login in self.teammates:
                return login
        return False

    def user_token(self, login: str) -> str:
        """A personal token of teammate ``login``: what it changes is theirs (issue events,
        board values); the teammate is known from then on."""
        self.teammates.add(login)
        self.repo.ensure_user(login)
        return TEAMMATE_TOKEN_PREFIX + login

    # --- inspection --------------------------------------------------------------------------

    def requests(self) -> list[dict[str, Any]]:
        """Every API request received: method, path, query, status, body, fault."""
        return self.app.requests()

    def clear_requests(self) -> None:
        with self.app.log_lock:
            self.app.log.clear()

    def issues_by_marker(self) -> dict[str, list[int]]:
        """Backlog id (from the hidden body marker) -> issue numbers carrying it."""
        found: dict[str, list[int]] = {}
        for number, record in sorted(self.repo.issues.items()):
            body = record.get("body") or ""
            start = body.find("backlog-bot:id=")
            if start >= 0:
                ident = body[start + len("backlog-bot:id=") :].split()[0].rstrip("->").strip()
                found.setdefault(ident, []).append(number)
        return found

    def project(self) -> dict[str, Any] | None:
        for record in self.projects.projects.values():
            if record["title"] == self.project_title:
                return record
        return None

    def item_for_issue(self, number: int) -> str | None:
        project = self.project()
        item_ids: list[str] = project["items"] if project else []
        for item_id in item_ids:
            if self.projects.items[item_id]["content"] == number:
                return item_id
        return None

    # --- what people do on github.com (each emits its webhook) ---------------------------------

    def close_issue(self, number: int, reason: str = "completed") -> dict[str, Any]:
        return self.repo.update_issue(number, {"state": "closed", "state_reason": reason})

    def reopen_issue(self, number: int) -> dict[str, Any]:
        return self.repo.update_issue(number, {"state": "open"})

    def edit_issue(self, number: int, **fields: Any) -> dict[str, Any]:
        return self.repo.update_issue(number, fields)

    def add_assignee(self, number: int, login: str) -> dict[str, Any]:
        return self.repo.set_assignees(number, [login], [])

    def comment(self, number: int, body: str, author: str = "octocat") -> dict[str, Any]:
        return self.repo.create_comment(number, body, author)

    def move_status(self, number: int, status: str) -> None:
        """Move the issue's card on the project board to the Status column ``status``."""
        project = self.project()
        item_id = self.item_for_issue(number)
        if project is None or item_id is None:
            raise SandboxError(404, f"issue #{number} is not on the project board")
        field = self.projects.find_field(project["id"], "Status")
        option = next((o for o in field["options"] if o["name"] == status), None) if field else None
        if field is None or option is None:
            raise SandboxError(422, f"the project has no Status option {status!r}")
        self.app.graphql._set_value(
            {
                "projectId": project["id"],
                "itemId": item_id,
                "fieldId": field["id"],
                "value": {"singleSelectOptionId": option["id"]},
            }
        )

    def open_pull_request(
        self,
        title: str,
        *,
        closes: int | None = None,
        branch: str = "feature",
        author: str = "octocat",
        files: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        body = f"Closes #{closes}" if closes else ""
        return self.flow.open_pull(title, body, branch=branch, author=author, files=files)

    def push_files(
        self, files: dict[str, str], *, branch: str = "main", pusher: str = "octocat"
    ) -> str:
        """Commit files (path -> text) to ``branch``; returns the commit sha (push webhook)."""
        return self.flow.commit(branch, files, pusher=pusher)

    def review(
        self, number: int, reviewer: str = "reviewer", state: str = "APPROVED"
    ) -> dict[str, Any]:
        return self.flow.submit_review(number, reviewer=reviewer, state=state)

    def check_run(
        self, number: int, name: str = "ci", conclusion: str = "success"
    ) -> dict[str, Any]:
        head_sha = self.flow.pull(number)["head_sha"]
        fields = {
            "name": name,
            "head_sha": head_sha,
            "status": "completed",
            "conclusion": conclusion,
        }
        return self.flow.create_check_run(fields)

    def merge(self, number: int, merged_by: str = "octocat") -> dict[str, Any]:
        return self.flow.merge(number, merged_by=merged_by)

    # --- /_sandbox/ control over HTTP ----------------------------------------------------------

    async def control(self, request: Request) -> Response:
        """``/_sandbox/requests``, ``faults``, ``rate-limit``, ``webhooks``, ``actions/<name>``."""
        name = request.url.path.removeprefix("/_sandbox/").strip("/")
        body = await request.json() if request.method in ("POST", "PUT") else {}
        try:
            return JSONResponse(self._control(request.method, name, body or {}))
        except (SandboxError, ValueError, TypeError, KeyError) as exc:
            status = exc.status if isinstance(exc, SandboxError) else 400
            return JSONResponse({"message": str(exc)}, status_code=status)

    def _control(self, method: str, name: str, body: dict[str, Any]) -> Any:
        if name == "requests":
            if method == "DELETE":
                self.clear_requests()
                return {"ok": True}
            return self.requests()
        if name == "faults":
            if method == "DELETE":
                self.limits.clear_faults()
                return {"ok": True}
            rule = self.limits.add_fault(**body)
            return {"ok": True, "kind": rule.kind}
        if name == "rate-limit" and method == "POST":
            self.limits.configure(
                body.get("resource", "core"), limit=body.get("limit"), window=body.get("window")
            )
            if "creates_per_minute" in body:
                self.limits.creates_per_minute = body["creates_per_minute"]
            return {"ok": True}
        if name == "webhooks" and method == "POST":
            self.webhooks.configure(body.get("url"), body.get("secret", ""))
            return {"ok": True}
        if name == "webhooks":
            return [vars(delivery) for delivery in self.webhooks.deliveries]
        if name.startswith("actions/") and method == "POST":
            action = name.removeprefix("actions/")
            allowed = {
                "close_issue", "reopen_issue", "add_assignee", "comment", "move_status",
                "open_pull_request", "review", "check_run", "merge",
            }  # fmt: skip
            if action not in allowed:
                raise SandboxError(404, f"unknown action {action}")
            result = getattr(self, action)(**body)
            return result if result is not None else {"ok": True}
        raise SandboxError(404, f"unknown control endpoint /_sandbox/{name}")
