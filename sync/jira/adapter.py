"""The Jira adapter: the only module that imports the ``jira`` library.

It implements ``sync.jira.port.JiraPort`` on the Jira platform REST API (v2 for writes, so
bodies are wiki markup on Cloud and Data Center alike; reads through Cloud's
``GET /rest/api/3/search/jql`` or Data Center's ``GET /rest/api/2/search``, see
``sync.jira.flavour``) and the Jira Software Agile API (boards,
sprints). The library's session gets timeouts, its own retries are switched off (it would
re-send a POST after a connection error), and ``sync.http_transport`` counts, paces and
retries only what is safe. Library and transport exceptions are translated here::

    JIRAError 401            -> AuthenticationError   (names JIRA_EMAIL / JIRA_API_TOKEN)
    JIRAError 403            -> PermissionDeniedError (names the project and the action)
    JIRAError 404            -> NotFoundError         (unknown project, issue, board)
    JIRAError 429            -> RateLimitedError      (after the transport's own retries, with
                                                       the Retry-After Jira sent)
    JIRAError 5xx, transport -> TransientError, or AmbiguousWriteError for creates
    JIRAError 400            -> RemoteError with Jira's message
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import requests
from jira import JIRA, JIRAError

from backlog.errors import (
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RemoteError,
    TransientError,
)
from sync.calls import CallCounter
from sync.http_transport import TRANSPORT_ERRORS, Pacer, install, retry_after_seconds
from sync.jira.flavour import Deployment, Flavour, from_server_info
from sync.jira.port import (
    BULK_LIMIT,
    PROPERTY_KEY,
    AmbiguousWriteError,
    CreateResult,
    IssueWrite,
    JiraIssue,
    JiraProjectConfig,
    RemoteSprint,
)
from sync.jira.remote import bulk_results, issue_type, remote_issue, remote_sprint
from sync.retry import RetryPolicy

SERVICE = "jira"
POINTS_FIELD_NAMES = ("Story point estimate", "Story Points")
SEARCH_PAGE = 100
SAFE_POSTS = (r"/search/jql$", r"/sprint/\d+/issue$")  # reads and idempotent moves


class JiraAdapter:
    """Talks to one Jira site and project. Every HTTP attempt is counted in ``calls``."""

    def __init__(
        self,
        url: str,
        email: str,
        token: str,
        project_key: str,
        *,
        board_id: int | None = None,
        counter: CallCounter | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        requests_per_second: float = 20.0,
        retry: RetryPolicy | None = None,
        remember_discovery: bool = False,
        deployment: Deployment = "auto",
    ) -> None:
        """``remember_discovery``: learn the project once per adapter (a CLI command reads
        Jira for the drift and for the plan; the project does not change in between)."""
        self.url = url.rstrip("/")
        self._remember = remember_discovery
        self._discovered: JiraProjectConfig | None = None
        self.project_key = project_key
        self.board_id = board_id
        self.calls = counter or CallCounter()
        # Cloud: email + API token (Basic). Data Center / Server: a personal access token
        # (Bearer). "auto" decides by serverInfo; until then an email means Cloud.
        self.flavour: Flavour | None = None if deployment == "auto" else deployment
        bearer = deployment == "datacenter" or (deployment == "auto" and not email)
        self._jira = JIRA(
            server=self.url,
            basic_auth=None if bearer else (email, token),
            token_auth=token if bearer else None,
            get_server_info=False,
            max_retries=0,
            timeout=timeout,
            options={"headers": {"User-Agent": "backlog-bot"}},
        )
        policy = retry or RetryPolicy(safe_post_paths=SAFE_POSTS)
        if not policy.safe_post_paths:
            policy = policy.with_safe_posts(SAFE_POSTS)
        pacer = Pacer(requests_per_second, burst=max(1, int(requests_per_second)))
        install(self._jira._session, SERVICE, self.calls, pacer, policy)

    # --- discovery ----------------------------------------------------------------------

    def discover(self) -> JiraProjectConfig:
        """Learn the project's issue types, fields, epic mode, priorities, link type, board."""
        if self._discovered is None or not self._remember:
            self._discovered = self._discover()
        return self._discovered

    def _discover(self) -> JiraProjectConfig:
        key = self.project_key
        self.detect()
        with self._errors("checking the credentials"):
            me = self._jira.myself()
        # Cloud names users by accountId; Data Center by key (and name)
        account = str(me.get("accountId") or me.get("key") or me.get("name") or "")
        with self._errors(f"reading project {key}", project=key):
            project = self._jira.project(key).raw
        types = project.get("issueTypes", [])
        epic = issue_type(types, key, "Epic", lambda t: t.get("hierarchyLevel") == 1)
        story = issue_type(types, key, "Story", lambda t: t.get("name") == "Story")
        subtask = issue_type(types, key, "Sub-task", lambda t: bool(t.get("subtask")))
        with self._errors("reading the field list"):
            fields = self._jira.fields()
        by_name = {field["name"]: field["id"] for field in fields}
        story_screen = self._create_screen(key, story["id"])
        epic_screen = self._create_screen(key, epic["id"])
        subtask_screen = self._create_screen(key, subtask["id"])
        points_name = next((n for n in POINTS_FIELD_NAMES if by_name.get(n) in story_screen), None)
        epic_link = by_name.get("Epic Link")
        epic_link_field = (
            epic_link if "parent" not in story_screen and epic_link in story_screen else None
        )
        if "parent" not in story_screen and epic_link_field is None:
            raise ConfigurationError(
                f"jira: project {key}: the Story create screen has neither 'Parent' nor "
                "'Epic Link', so stories cannot be attached to epics; add one of them to the screen"
            )
        epic_name = by_name.get("Epic Name")
        with self._errors("reading priorities"):
            priorities = {p.name: p.id for p in self._jira.priorities()}
        with self._errors("reading issue link types"):
            link_types = self._jira.issue_link_types()
        blocks = next((lt.name for lt in link_types if lt.name.lower() == "blocks"), None)
        if blocks is None:
            blocks = next((lt.name for lt in link_types if lt.outward.lower() == "blocks"), None)
        if blocks is None:
            raise ConfigurationError(
                "jira: the site has no 'Blocks' issue link type; dependencies cannot be linked. "
                "Create it under Settings > Issues > Issue linking"
            )
        return JiraProjectConfig(
            site_url=self.url,
            project_key=project["key"],
            project_id=str(project["id"]),
            team_managed=bool(project.get("simplified")),
            epic_type_id=str(epic["id"]),
            story_type_id=str(story["id"]),
            subtask_type_id=str(subtask["id"]),
            subtask_type_name=str(subtask["name"]),
            points_field=by_name.get(points_name) if points_name else None,
            points_field_name=points_name,
            epic_link_field=epic_link_field,
            epic_name_field=epic_name if epic_name in epic_screen else None,
            sprint_field=by_name.get("Sprint"),
            timetracking="timetracking" in subtask_screen,
            priorities=priorities,
            blocks_link_type=blocks,
            board_id=self._board(key),
            account=account,
        )

    def _create_screen(self, project_key: str, type_id: str) -> set[str]:
        # The library refuses its createmeta helpers on Cloud (a version check meant for
        # Server), although Cloud serves this endpoint; call it through the client's session.
        path = f"issue/createmeta/{project_key}/issuetypes/{type_id}"
        with self._errors(
            f"reading the create screen of project {project_key}", project=project_key
        ):
            data = self._jira._get_json(path, params={"maxResults": 200})
        entries = data.get("fields") or data.get("results") or []
        return {entry["fieldId"] for entry in entries}

    def _board(self, project_key: str) -> int | None:
        if self.board_id is not None:
            return self.board_id
        with self._errors(f"finding the board of project {project_key}", project=project_key):
            # Filtered here, not with ?type=scrum: the Software description declares that
            # parameter as an empty object, so a conforming client cannot send it.
            boards = self._jira.boards(projectKeyOrID=project_key)
        scrum = [board for board in boards if board.raw.get("type") == "scrum"]
        return int(scrum[0].id) if scrum else None

    # --- reads --------------------------------------------------------------------------

    def detect(self) -> Flavour:
        """Cloud or Data Center, from ``serverInfo.deploymentType`` unless configured."""
        if self.flavour is None or not getattr(self._jira, "deploymentType", None):
            with self._errors("reading server info"):
                info = self._jira.server_info()
            # the library checks this attribute (e.g. to refuse Server-only helpers on Cloud)
            self._jira.deploymentType = info.get("deploymentType")
            if self.flavour is None:
                self.flavour = from_server_info(info)
        return self.flavour

    def search(
        self, config: JiraProjectConfig, jql: str, *, description: bool = False
    ) -> list[JiraIssue]:
        """All issues matching ``jql``, read in pages of 100 with ``nextPageToken``; with
        ``description``, their descriptions too (the two-way read of the story sentence)."""
        fields = [
            "summary",
            "priority",
            "labels",
            "issuetype",
            "parent",
            "status",
            "assignee",
            "issuelinks",
            "updated",
        ]
        if description:
            fields.append("description")
        for extra in (config.points_field, config.sprint_field, config.epic_link_field):
            if extra:
                fields.append(extra)
        params: dict[str, Any] = {
            "jql": jql,
            "fields": ",".join(fields),
            "properties": PROPERTY_KEY,
            "maxResults": SEARCH_PAGE,
            # when each issue reached done and entered its sprint, for the burndown
            "expand": "changelog",
        }
        if self.detect() == "datacenter":
            return self._search_paged(config, params)
        url = f"{self.url}/rest/api/3/search/jql"
        found: list[JiraIssue] = []
        while True:
            with self._errors("searching issues"):
                page = self._jira._session.get(url, params=params).json()
            found.extend(remote_issue(raw, config) for raw in page.get("issues", []))
            token = page.get("nextPageToken")
            if page.get("isLast", True) or not token:
                return found
            params["nextPageToken"] = token

    def _search_paged(self, config: JiraProjectConfig, params: dict[str, Any]) -> list[JiraIssue]:
        """Data Center / Server: ``GET /rest/api/2/search`` paged by ``startAt`` and ``total``
        (Cloud removed it for ``/rest/api/3/search/jql``)."""
        url = f"{self.url}/rest/api/2/search"
        found: list[JiraIssue] = []
        while True:
            params["startAt"] = len(found)
            with self._errors("searching issues"):
                page = self._jira._session.get(url, params=params).json()
            issues = page.get("issues", [])
            found.extend(remote_issue(raw, config) for raw in issues)
            if not issues or len(found) >= int(page.get("total", 0)):
                return found

    def sprints(self, board_id: int) -> list[RemoteSprint]:
        with self._errors(f"listing the sprints of board {board_id}"):
            sprints = self._jira.sprints(board_id, maxResults=False)
        return [remote_sprint(sprint.raw) for sprint in sprints]

    # --- writes -------------------------------------------------------------------------

    def create_issues(self, writes: Sequence[IssueWrite]) -> list[CreateResult]:
        """One ``POST /rest/api/2/issue/bulk`` (at most 50 issues); per-item results."""
        if len(writes) > BULK_LIMIT:
            raise ValueError(f"at most {BULK_LIMIT} issues per bulk create")
        payload = {
            "issueUpdates": [
                {
                    "fields": dict(write.fields),
                    "properties": [{"key": k, "value": v} for k, v in write.properties.items()],
                }
                for write in writes
            ]
        }
        ids = ", ".join(write.backlog_id for write in writes)
        url = self._jira._get_url("issue/bulk")
        try:
            response = self._jira._session.post(url, data=json.dumps(payload))
            data = response.json()
        except JIRAError as exc:
            if exc.status_code == 400 and exc.response is not None:
                data = _json(exc.response)
            elif exc.status_code is not None and exc.status_code >= 500:
                raise AmbiguousWriteError(
                    f"bulk create of {ids} answered {exc.status_code}; it may have partly happened",
                    service=SERVICE,
                    status=exc.status_code,
                ) from exc
            else:
                raise self._translate(exc, f"creating {ids}") from exc
        except TRANSPORT_ERRORS as exc:
            raise AmbiguousWriteError(
                f"bulk create of {ids} got no answer ({type(exc).__name__}); it may have happened",
                service=SERVICE,
            ) from exc
        return bulk_results(writes, data)

    def update_issue(self, key: str, write: IssueWrite) -> None:
        body: dict[str, Any] = {"fields": dict(write.fields)}
        if write.properties:
            body["properties"] = [{"key": k, "value": v} for k, v in write.properties.items()]
        with self._errors(f"updating {key} ({write.backlog_id})", project=self.project_key):
            self._jira._session.put(self._jira._get_url(f"issue/{key}"), data=json.dumps(body))

    def find_user(self, name: str) -> Mapping[str, str] | None:
        """``GET /user/search``: Cloud matches ``query`` against display names and e-mail
        addresses by prefix, Data Center ``username`` against names; the user whose display
        name (or e-mail address, or name) is ``name`` exactly, else the only one found."""
        datacenter = self.detect() == "datacenter"
        params: dict[str, Any] = {"username" if datacenter else "query": name, "maxResults": 50}
        url = self._jira._get_url("user/search")
        with self._errors(f"looking up the Jira user {name!r}"):
            users = self._jira._session.get(url, params=params).json()
        wanted = name.casefold()
        exact = [
            user
            for user in users
            if wanted
            in {str(user.get(k) or "").casefold() for k in ("displayName", "emailAddress", "name")}
        ]
        found = exact or (users if len(users) == 1 else [])
        if len(found) != 1:
            return None
        user = found[0]
        if user.get("accountId"):
            return {"accountId": str(user["accountId"])}
        return {"name": str(user["name"])} if user.get("name") else None

    def create_link(self, link_type: str, blocker_key: str, blocked_key: str) -> None:
        # Posted directly: the library's create_issue_link re-reads all link types per call.
        body = {
            "type": {"name": link_type},
            "inwardIssue": {"key": blocker_key},
            "outwardIssue": {"key": blocked_key},
        }
        what = f"linking {blocker_key} {link_type.lower()} {blocked_key}"
        with self._errors(what, ambiguous=True):
            self._jira._session.post(self._jira._get_url("issueLink"), data=json.dumps(body))

    def close(self) -> None:
        """Close the HTTP session."""
        # jira.JIRA.close() has no annotations (the package is otherwise typed)
        self._jira.close()  # type: ignore[no-untyped-call]

    def upsert_remote_link(self, key: str, url: str, title: str) -> None:
        """Link ``key`` to a web page (its GitHub issue); the ``globalId`` makes a repeat an
        update, so this is safe to send again."""
        body = {
            "globalId": url,
            "relationship": "GitHub issue",
            "object": {"url": url, "title": title},
        }
        with self._errors(f"linking {key} to {url}", project=self.project_key):
            self._jira._session.post(
                self._jira._get_url(f"issue/{key}/remotelink"), data=json.dumps(body)
            )

    def delete_link(self, link_id: str) -> None:
        with self._errors(f"deleting issue link {link_id}"):
            self._jira.delete_issue_link(link_id)

    def close_issue(self, key: str) -> None:
        with self._errors(f"closing {key}", project=self.project_key):
            transitions = self._jira.transitions(key)
            done = next(
                (
                    t
                    for t in transitions
                    if (t.get("to") or {}).get("statusCategory", {}).get("key") == "done"
                ),
                None,
            )
            if done is None:
                raise RemoteError(f"{key} has no transition to a done status", service=SERVICE)
            # Posted directly: the library's transition_issue sends the id as a number,
            # Jira's description types it as a string.
            body = {"transition": {"id": str(done["id"])}}
            url = self._jira._get_url(f"issue/{key}/transitions")
            self._jira._session.post(url, data=json.dumps(body))

    def create_sprint(
        self, board_id: int, name: str, goal: str, start: str | None, end: str | None
    ) -> RemoteSprint:
        with self._errors(f"creating sprint '{name}'", ambiguous=True):
            sprint = self._jira.create_sprint(
                name, board_id, startDate=start, endDate=end, goal=goal
            )
        return remote_sprint(sprint.raw)

    def update_sprint(
        self, sprint_id: int, name: str, goal: str, start: str | None, end: str | None
    ) -> None:
        with self._errors(f"updating sprint '{name}'"):
            self._jira.update_sprint(sprint_id, name=name, startDate=start, endDate=end, goal=goal)

    def move_to_sprint(self, sprint_id: int, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), BULK_LIMIT):
            chunk = list(keys[start : start + BULK_LIMIT])
            with self._errors(f"moving {', '.join(chunk)} into sprint {sprint_id}"):
                self._jira.add_issues_to_sprint(sprint_id, chunk)

    # --- errors -------------------------------------------------------------------------

    @contextmanager
    def _errors(
        self, what: str, *, project: str | None = None, ambiguous: bool = False
    ) -> Iterator[None]:
        try:
            yield
        except JIRAError as exc:
            if ambiguous and exc.status_code is not None and exc.status_code >= 500:
                raise AmbiguousWriteError(
                    f"{what}: answered {exc.status_code}; it may have happened", service=SERVICE
                ) from exc
            raise self._translate(exc, what, project) from exc
        except TRANSPORT_ERRORS as exc:
            error = AmbiguousWriteError if ambiguous else TransientError
            raise error(
                f"{what}: no answer from {self.url} ({type(exc).__name__}: {exc})", service=SERVICE
            ) from exc

    def _translate(self, exc: JIRAError, what: str, project: str | None = None) -> RemoteError:
        status = exc.status_code
        said = (exc.text or "").strip() or "no message"
        if status == 401:
            return AuthenticationError(
                f"401 Unauthorized while {what} at {self.url}: the credentials were refused. "
                + (
                    "Check JIRA_API_TOKEN: a personal access token of a Data Center / Server "
                    "user (Profile > Personal Access Tokens); leave JIRA_EMAIL unset"
                    if self.flavour == "datacenter"
                    else "Check JIRA_EMAIL and JIRA_API_TOKEN (create a token at "
                    "https://id.atlassian.com/manage-profile/security/api-tokens)"
                ),
                service=SERVICE,
                status=401,
            )
        if status == 403:
            return PermissionDeniedError(
                f"403 Forbidden while {what} at {self.url}: the account JIRA_EMAIL lacks "
                "permission"
                + (f" in project {project}" if project else "")
                + f" (Jira said: {said}). Ask a Jira admin for Browse and Create permissions",
                service=SERVICE,
                status=403,
            )
        if status == 404:
            if project and what.startswith("reading project"):
                return NotFoundError(
                    f"unknown project '{project}' (JIRA_PROJECT): no project with this key is "
                    f"visible at {self.url}. Check the key, or that JIRA_EMAIL may browse it",
                    service=SERVICE,
                    status=404,
                )
            return NotFoundError(f"404 Not Found while {what}: {said}", service=SERVICE, status=404)
        if status == 429:
            retry_after = retry_after_seconds(exc.response) if exc.response is not None else None
            return RateLimitedError(
                f"rate limited while {what}; try again later"
                + (f" (Jira asks to wait {retry_after:.0f} s)" if retry_after is not None else ""),
                service=SERVICE,
                retry_after=retry_after,
            )
        if status is not None and status >= 500:
            return TransientError(f"{status} while {what}: {said}", service=SERVICE, status=status)
        return RemoteError(f"{status} while {what}: {said}", service=SERVICE, status=status)


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
