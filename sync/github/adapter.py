"""GitHub REST through PyGithub: the only module that imports ``github``.

``GitHubRestAdapter`` implements ``sync.github.port.GitHubRestPort`` against
``GITHUB_API_URL`` (github.com, GitHub Enterprise or the sandbox) with a token.

Safety of writes: PyGithub's default ``GithubRetry`` re-sends failed POSTs, which can create
duplicate issues. Here urllib3 retries are off (``total=0``) and the adapters' one
``RetryPolicy`` (``sync.retry``, applied by ``RateGovernor.run``) retries only rate-limited
requests (never executed) and idempotent ones. A create whose outcome is unknown
(5xx, dropped connection) is followed by a lookup of the hidden body marker before any new
attempt. Endpoints PyGithub lacks (issue dependencies, sub-issue ``replace_parent``) go
through ``Requester.requestJsonAndCheck``, so one HTTP stack carries every call.

Every request passes ``RateGovernor.before``/``after`` and is counted in the ``CallCounter``
at the transport (``github GET``, ``github POST`` ...), retries and pages included.

Exceptions are translated at this boundary::

    GithubException 401              -> AuthenticationError   (names GITHUB_TOKEN and the URL)
    RateLimitExceededException, 403/429 with retry-after -> RateLimitedError
    GithubException 403              -> PermissionDeniedError (names the scopes and the URL)
    GithubException 404/410          -> NotFoundError
    GithubException 5xx, requests.RequestException -> TransientError
    other GithubException (422 ...)  -> RemoteError
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterator
from datetime import date
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from github import Auth, Github, GithubException, InputGitAuthor, InputGitTreeElement
from github.Requester import HTTPRequestsConnectionClass, HTTPSRequestsConnectionClass, Requester
from urllib3.util.retry import Retry

from backlog.errors import (
    NotFoundError,
    RateLimitedError,
    RemoteError,
    TransientError,
)
from sync.calls import CallCounter
from sync.github.auth import Credential, TokenSource
from sync.github.limits import PacingPolicy, RateGovernor
from sync.github.port import (
    BranchCommit,
    CommitIdentity,
    Comparison,
    GitHubIssue,
    OpenPull,
    RemoteMilestone,
)
from sync.github.refusals import credential_refused

T = TypeVar("T")
SERVICE = "github"
# issue events that change a two-way field: the event -> the field
EVENT_FIELDS = {
    "renamed": "title",
    "milestoned": "milestone",
    "demilestoned": "milestone",
    "labeled": "labels",
    "unlabeled": "labels",
    "assigned": "assignee",
    "unassigned": "assignee",
}


# --- the transport boundary -----------------------------------------------------------------


class _ObservedRetry(Retry):
    """urllib3 retries off; carries the observer to the connection PyGithub builds."""

    observer: _Observer | None = None

    def new(self, **kwargs: Any) -> _ObservedRetry:
        created = super().new(**kwargs)
        created.observer = self.observer
        return created


class _Observer:
    def __init__(self, counter: CallCounter, governor: RateGovernor) -> None:
        self.counter = counter
        self.governor = governor

    def around(self, verb: str, send: Callable[[], Any]) -> Any:
        self.governor.before(is_write=verb not in ("GET", "HEAD"))
        self.counter.record(SERVICE, verb)
        response = send()
        self.governor.after(response.status, dict(response.getheaders()))
        return response


class _ObservedMixin:
    verb: str
    retry: Any

    def getresponse(self) -> Any:
        observer = getattr(self.retry, "observer", None)
        parent = super().getresponse  # type: ignore[misc]
        return observer.around(self.verb, parent) if observer else parent()


class _HTTPConnection(_ObservedMixin, HTTPRequestsConnectionClass):
    pass


class _HTTPSConnection(_ObservedMixin, HTTPSRequestsConnectionClass):
    pass


class _SourceAuth(Auth.Auth):
    """PyGithub auth asking the source on every request (it refreshes when due)."""

    def __init__(self, source: TokenSource) -> None:
        self.source = source

    @property
    def token_type(self) -> str:
        return "token"

    @property
    def token(self) -> str:
        return self.source.token()


def pygithub_auth(credential: Credential) -> Auth.Auth:
    """The PyGithub ``auth=`` for a token string or a token source."""
    if isinstance(credential, str):
        return Auth.Token(credential)
    return _SourceAuth(credential)


def translate(exc: Exception, url: str = "") -> RemoteError:
    """A PyGithub or requests exception as one of ours; ``url`` is what was asked."""
    if isinstance(exc, requests.RequestException):
        return TransientError(f"connection failed: {type(exc).__name__}", service=SERVICE)
    if not isinstance(exc, GithubException):
        return RemoteError(str(exc), service=SERVICE)
    status = exc.status
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or exc.message or exc)
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    retry_after = headers.get("retry-after")
    if status == 401:
        return credential_refused(401, url, message)
    if status in (403, 429) and (retry_after or "rate limit" in message.lower()):
        wait = float(retry_after) if retry_after else None
        return RateLimitedError(message, service=SERVICE, retry_after=wait)
    if status == 403:
        return credential_refused(403, url, message)
    if status in (404, 410):
        return NotFoundError(message, service=SERVICE, status=status)
    if status >= 500:
        return TransientError(f"{status} {message}", service=SERVICE, status=status)
    errors = data.get("errors")
    detail = f": {errors}" if errors else ""
    return RemoteError(f"{status} {message}{detail}", service=SERVICE, status=status)


# --- the adapter ----------------------------------------------------------------------------


class GitHubRestAdapter:
    """Issues, labels, milestones, sub-issues, dependencies and comments of one repository."""

    def __init__(
        self,
        *,
        api_url: str,
        token: Credential,
        repository: str,
        counter: CallCounter | None = None,
        governor: RateGovernor | None = None,
        pacing: PacingPolicy | None = None,
        timeout: int = 30,
    ) -> None:
        self.calls = counter or CallCounter()
        self.governor = governor or RateGovernor(pacing)
        # class-wide in PyGithub; ours behave exactly like the originals unless the retry
        # object carries an observer, so other Github instances are unaffected
        Requester.injectConnectionClasses(_HTTPConnection, _HTTPSConnection)
        transport_retry = _ObservedRetry(total=0, raise_on_status=False)
        transport_retry.observer = _Observer(self.calls, self.governor)
        self._github = Github(
            base_url=api_url.rstrip("/"),
            auth=pygithub_auth(token),  # a token, or an App's refreshing source
            retry=transport_retry,
            timeout=timeout,
            per_page=100,
            seconds_between_requests=None,
            seconds_between_writes=None,
            lazy=True,
        )
        self.repository = repository
        self.api_url = api_url.rstrip("/")
        self._full_name: str | None = None
        self._repo = self._github.get_repo(repository)
        self._requester = self._github.requester

    def close(self) -> None:
        """Close the HTTP connections."""
        self._github.close()

    # --- plumbing ----------------------------------------------------------------------------

    def _call(self, call: Callable[[], T], *, idempotent: bool) -> T:
        def attempt() -> T:
            try:
                return call()
            except (GithubException, requests.RequestException) as exc:
                raise translate(exc, self.api_url) from exc

        return self.governor.run(attempt, idempotent=idempotent)

    def _json(
        self,
        verb: str,
        path: str,
        body: Any = None,
        *,
        idempotent: bool,
        params: dict[str, Any] | None = None,
    ) -> Any:
        url = f"{self._repo.url}{path}"
        return self._call(
            lambda: self._requester.requestJsonAndCheck(verb, url, params, input=body)[1],
            idempotent=idempotent,
        )

    def _verified_write(self, write: Callable[[], T], done: Callable[[], bool]) -> T | None:
        """A non-idempotent write: after an unknown outcome, check before sending it again."""
        for _ in range(self.governor.policy.max_attempts):
            try:
                return self._call(write, idempotent=False)
            except TransientError:
                if self._call(done, idempotent=True):
                    return None
        return self._call(write, idempotent=False)

    # --- repository, labels, milestones ------------------------------------------------------

    def ensure_access(self) -> str:
        """``check_access`` once per adapter: a command verifies its token before anything."""
        if self._full_name is None:
            self._full_name = self.check_access()
        return self._full_name

    def check_access(self) -> str:
        """One GET of the repository: fails early with a clear error on bad settings."""
        try:
            return str(self._json("GET", "", idempotent=True)["full_name"])
        except NotFoundError as exc:
            raise NotFoundError(
                f"repository {self.repository} not found: check GITHUB_REPOSITORY and that "
                "the token can see it",
                service=SERVICE,
                status=404,
            ) from exc

    def list_labels(self) -> dict[str, dict[str, str]]:
        labels = self._call(lambda: list(self._repo.get_labels()), idempotent=True)
        return {
            label.name: {"color": label.color, "description": label.description or ""}
            for label in labels
        }

    def create_label(self, name: str, color: str, description: str) -> None:
        self._verified_write(
            lambda: self._repo.create_label(name, color, description),
            lambda: name in self.list_labels(),
        )

    def update_label(self, name: str, color: str, description: str) -> None:
        self._json(
            "PATCH",
            f"/labels/{name}",
            {"color": color, "description": description},
            idempotent=True,
        )

    def list_milestones(self) -> dict[str, RemoteMilestone]:
        milestones = self._call(
            lambda: list(self._repo.get_milestones(state="all")), idempotent=True
        )
        return {
            m.title: RemoteMilestone(
                m.number,
                m.title,
                m.description or "",
                m.due_on.date().isoformat() if m.due_on else None,
                m.state,
            )
            for m in milestones
        }

    def create_milestone(self, title: str, description: str, due_on: date | None) -> int:
        def write() -> int:
            if due_on is None:
                return int(self._repo.create_milestone(title, description=description).number)
            created = self._repo.create_milestone(title, description=description, due_on=due_on)
            return int(created.number)

        number = self._verified_write(write, lambda: title in self.list_milestones())
        return number if number is not None else self.list_milestones()[title].number

    def update_milestone(
        self, number: int, title: str, description: str, due_on: date | None
    ) -> None:
        body = {
            "title": title,
            "description": description,
            "due_on": due_on.strftime("%Y-%m-%dT%H:%M:%SZ") if due_on else None,
        }
        self._json("PATCH", f"/milestones/{number}", body, idempotent=True)

    # --- issues ------------------------------------------------------------------------------

    def iter_issues(self) -> Iterator[GitHubIssue]:
        """Every issue (open and closed, no pull requests), newest first.

        Pages are read raw: PyGithub's ``Issue`` would fetch each issue again to learn that
        it is not a pull request.
        """
        page = 1
        while True:
            params = {"state": "all", "sort": "created", "direction": "desc", "per_page": 100}
            batch = self._json(
                "GET", "/issues", None, idempotent=True, params={**params, "page": page}
            )
            for data in batch:
                if "pull_request" not in data:
                    yield _remote(data)
            if len(batch) < 100:
                return
            page += 1

    def issue_event_actors(self, numbers: Collection[int]) -> dict[int, dict[str, str]]:
        """Who last renamed (``title``), (de)milestoned (``milestone``), (un)labelled
        (``labels``) or (un)assigned (``assignee``) each issue of ``numbers``: one page of
        the repository's issue events, the newest 100. Older changes are not looked for (who
        changed it is then not known)."""
        wanted = set(numbers)
        params = {"per_page": 100}
        events = self._json("GET", "/issues/events", None, idempotent=True, params=params)
        found: dict[int, dict[str, str]] = {}
        for event in events:  # newest first
            number = (event.get("issue") or {}).get("number")
            kind = EVENT_FIELDS.get(str(event.get("event")))
            login = (event.get("actor") or {}).get("login")
            if number in wanted and kind and login:
                found.setdefault(int(number), {}).setdefault(kind, str(login))
        return found

    def issues_by_marker(self) -> dict[str, GitHubIssue]:
        """Backlog id -> issue, from the hidden markers (the oldest wins if duplicated)."""
        found: dict[str, GitHubIssue] = {}
        for issue in self.iter_issues():
            if issue.backlog_id:
                found[issue.backlog_id] = issue
        return found

    def create_issue(
        self,
        backlog_id: str,
        *,
        title: str,
        body: str,
        labels: list[str],
        milestone: int | None,
        assignees: list[str] | None = None,
    ) -> GitHubIssue:
        """Create once: after an unknown outcome, look for the marker before trying again."""
        fields: dict[str, Any] = {"title": title, "body": body, "labels": labels}
        if milestone is not None:
            fields["milestone"] = milestone
        if assignees:
            fields["assignees"] = assignees

        def write() -> GitHubIssue:
            return _remote(self._json("POST", "/issues", fields, idempotent=False))

        for _ in range(self.governor.policy.max_attempts):
            try:
                return self._call(write, idempotent=False)
            except TransientError:
                existing = self._call(self.issues_by_marker, idempotent=True).get(backlog_id)
                if existing is not None:
                    return existing
        return self._call(write, idempotent=False)

    def update_issue(self, number: int, fields: dict[str, Any]) -> GitHubIssue:
        return _remote(self._json("PATCH", f"/issues/{number}", fields, idempotent=True))

    def get_issue(self, number: int, etag: str | None = None) -> GitHubIssue | None:
        """The issue, or None when it did not change since ``etag`` (a free 304)."""
        url = f"{self._repo.url}/issues/{number}"
        headers = {"If-None-Match": etag} if etag else None

        def read() -> GitHubIssue | None:
            answer, data = self._requester.requestJsonAndCheck("GET", url, headers=headers)
            if not data:
                return None
            return _remote(data, answer.get("etag"))

        return self._call(read, idempotent=True)

    # --- sub-issues and dependencies ----------------------------------------------------------

    def sub_issue_ids(self, parent: int) -> set[int]:
        issues = self._call(
            lambda: list(self._repo.get_issue(parent).get_sub_issues()), idempotent=True
        )
        return {issue.id for issue in issues}

    def sub_issue_list(self, parent: int) -> list[GitHubIssue]:
        """The sub-issues of ``parent`` as issues (100 per page)."""
        found: list[GitHubIssue] = []
        page = 1
        while True:
            params = {"per_page": 100, "page": page}
            batch = self._json(
                "GET", f"/issues/{parent}/sub_issues", idempotent=True, params=params
            )
            found += [_remote(data) for data in batch if "pull_request" not in data]
            if len(batch) < 100:
                return found
            page += 1

    def add_sub_issue(self, parent: int, child_id: int, *, replace_parent: bool = False) -> None:
        body = {"sub_issue_id": child_id, "replace_parent": replace_parent}
        if replace_parent:
            write: Callable[[], Any] = lambda: self._requester.requestJsonAndCheck(  # noqa: E731
                "POST", f"{self._repo.url}/issues/{parent}/sub_issues", input=body
            )
        else:
            write = lambda: self._repo.get_issue(parent).add_sub_issue(child_id)  # noqa: E731
        self._verified_write(write, lambda: child_id in self.sub_issue_ids(parent))

    def blocked_by_ids(self, number: int) -> set[int]:
        data = self._json("GET", f"/issues/{number}/dependencies/blocked_by", idempotent=True)
        return {int(issue["id"]) for issue in data}

    def blocked_by_list(self, number: int) -> list[GitHubIssue]:
        """The issues blocking ``number`` (the two-way read of a story's dependencies)."""
        data = self._json(
            "GET",
            f"/issues/{number}/dependencies/blocked_by",
            idempotent=True,
            params={"per_page": 100},
        )
        return [_remote(issue) for issue in data]

    def add_blocked_by(self, number: int, blocker_id: int) -> None:
        path = f"{self._repo.url}/issues/{number}/dependencies/blocked_by"
        self._verified_write(
            lambda: self._requester.requestJsonAndCheck(
                "POST", path, input={"issue_id": blocker_id}
            ),
            lambda: blocker_id in self.blocked_by_ids(number),
        )

    def remove_blocked_by(self, number: int, blocker_id: int) -> None:
        path = f"/issues/{number}/dependencies/blocked_by/{blocker_id}"
        with contextlib.suppress(NotFoundError):  # already gone: the goal is reached
            self._json("DELETE", path, idempotent=True)

    # --- comments and the development flow ---------------------------------------------------

    def create_comment(self, number: int, body: str) -> int:
        data = self._json("POST", f"/issues/{number}/comments", {"body": body}, idempotent=False)
        return int(data["id"])

    def list_comments(self, number: int) -> list[dict[str, Any]]:
        comments = self._call(
            lambda: list(self._repo.get_issue(number).get_comments()), idempotent=True
        )
        return [{"id": c.id, "body": c.body, "user": c.user.login} for c in comments]

    def edit_comment(self, comment_id: int, body: str) -> None:
        self._json("PATCH", f"/issues/comments/{comment_id}", {"body": body}, idempotent=True)

    def pull_request_checks(self, number: int) -> dict[str, Any]:
        """What a Definition-of-Done check reads: merged?, review states, check conclusions."""
        pull = self._call(lambda: self._repo.get_pull(number), idempotent=True)
        reviews = self._call(lambda: [r.state for r in pull.get_reviews()], idempotent=True)
        head = pull.head.sha
        runs = self._json("GET", f"/commits/{head}/check-runs", idempotent=True)["check_runs"]
        return {
            "merged": bool(pull.merged),
            "state": pull.state,
            "reviews": reviews,
            "checks": {run["name"]: run["conclusion"] for run in runs},
        }

    # --- branches, commits and pull requests (the Git data API) --------------------------------

    def default_branch(self) -> str:
        """The repository's default branch (``main``)."""
        return str(self._json("GET", "", idempotent=True).get("default_branch") or "main")

    def branch_head(self, branch: str) -> str | None:
        """The commit sha ``branch`` points at, or None when there is no such branch (or no
        commit at all: GitHub answers 409 for an empty repository)."""
        ref = self._repo.get_git_ref(f"heads/{branch}")  # lazy: read on first attribute
        try:
            return self._call(lambda: str(ref.object.sha), idempotent=True)
        except NotFoundError:
            return None
        except RemoteError as exc:
            if exc.status == 409:
                return None
            raise

    def commit_file(
        self, branch: str, path: str, text: str, *, parent: str, message: str,
        identity: CommitIdentity, replace: str | None = None,
    ) -> str:  # fmt: skip
        """One commit on top of ``parent`` whose tree is ``parent``'s with ``path`` set to
        ``text``, authored and committed by ``identity``; ``branch`` is created there or moved
        there. The move is a fast-forward (GitHub answers 422 to one that is not: a commit
        pushed meanwhile is never lost) unless ``replace`` names the branch's head to replace:
        then it is forced, and only while the branch is still at that commit. Returns the
        commit sha."""
        base = self._call(lambda: self._repo.get_git_commit(parent), idempotent=True)
        blob = self._call(lambda: self._repo.create_git_blob(text, "utf-8"), idempotent=True)
        element = InputGitTreeElement(path, "100644", "blob", sha=blob.sha)
        tree = self._call(lambda: self._repo.create_git_tree([element], base.tree), idempotent=True)
        who = InputGitAuthor(identity.name, identity.email)
        commit = self._call(
            lambda: self._repo.create_git_commit(message, tree, [base], who, who),
            idempotent=True,
        )
        sha = str(commit.sha)
        ref = self._repo.get_git_ref(f"heads/{branch}")  # completed by the read: its own URL
        try:
            self._call(lambda: ref.object.sha, idempotent=True)
        except NotFoundError:
            self._call(
                lambda: self._repo.create_git_ref(f"refs/heads/{branch}", sha), idempotent=False
            )
            return sha
        if replace is not None and ref.object.sha != replace:
            raise RemoteError(
                f"{branch} moved to {ref.object.sha[:12]} meanwhile: not replaced",
                service=SERVICE,
                status=409,
            )
        self._call(lambda: ref.edit(sha, force=replace is not None), idempotent=True)
        return sha

    def compare(self, base: str, head: str) -> Comparison:
        """``head`` against ``base`` (``GET /compare/{base}...{head}``, first 100 commits)."""
        path = f"/compare/{quote(base, safe='/')}...{quote(head, safe='/')}"
        data = self._json("GET", path, idempotent=True, params={"per_page": 100})
        ahead = tuple(
            BranchCommit(
                str(item["sha"]),
                str(item["commit"]["message"]),
                CommitIdentity(
                    str((item["commit"].get("committer") or {}).get("name") or ""),
                    str((item["commit"].get("committer") or {}).get("email") or ""),
                ),
            )
            for item in data.get("commits") or []
        )
        return Comparison(
            merge_base=str(data["merge_base_commit"]["sha"]),
            ahead=ahead,
            behind_by=int(data.get("behind_by") or 0),
            complete=len(ahead) >= int(data.get("ahead_by") or 0),
        )

    def open_pull(self, branch: str, base: str) -> OpenPull | None:
        """The open pull request from ``branch`` (of this repository) into ``base``, if any."""
        owner = self.repository.split("/")[0]
        pulls = self._call(
            lambda: list(self._repo.get_pulls(state="open", head=f"{owner}:{branch}", base=base)),
            idempotent=True,
        )
        if not pulls:
            return None
        pull = pulls[0]
        return OpenPull(int(pull.number), str(pull.title), str(pull.body or ""),
                        str(pull.head.sha), str(pull.html_url))  # fmt: skip

    def create_pull(self, branch: str, base: str, *, title: str, body: str) -> OpenPull:
        pull = self._call(
            lambda: self._repo.create_pull(base, branch, title=title, body=body),
            idempotent=False,
        )
        return OpenPull(int(pull.number), title, body, str(pull.head.sha), str(pull.html_url))

    def pull_comments(self, number: int) -> list[str]:
        """The bodies of a pull request's conversation comments (first 100, oldest first)."""
        data = self._json(
            "GET", f"/issues/{number}/comments", idempotent=True, params={"per_page": 100}
        )
        return [str(item.get("body") or "") for item in data or []]

    def comment_pull(self, number: int, body: str) -> None:
        self._json("POST", f"/issues/{number}/comments", {"body": body}, idempotent=False)

    def edit_pull(
        self, number: int, *, title: str | None = None, body: str | None = None,
        state: str | None = None,
    ) -> None:  # fmt: skip
        fields = {k: v for k, v in (("title", title), ("body", body), ("state", state)) if v}
        self._json("PATCH", f"/pulls/{number}", fields, idempotent=True)

    def contents_text(self, path: str, ref: str) -> str | None:
        """A file's text at ``ref`` (commit sha or branch); ``None`` when it does not exist."""
        try:
            found = self._call(lambda: self._repo.get_contents(path, ref=ref), idempotent=True)
        except NotFoundError:
            return None
        if isinstance(found, list) or found.type != "file":
            return None
        return found.decoded_content.decode("utf-8")


def _remote(data: dict[str, Any], etag: str | None = None) -> GitHubIssue:
    milestone = data.get("milestone") or None
    return GitHubIssue(
        number=int(data["number"]),
        id=int(data["id"]),
        node_id=str(data["node_id"]),
        url=str(data.get("html_url") or data.get("url")),
        state=str(data["state"]),
        title=str(data["title"]),
        body=str(data.get("body") or ""),
        labels=tuple(label["name"] for label in data.get("labels") or []),
        milestone=int(milestone["number"]) if milestone else None,
        assignees=tuple(user["login"] for user in data.get("assignees") or []),
        etag=etag,
        closed_at=data.get("closed_at"),
        milestone_title=str(milestone["title"]) if milestone else None,
        parent_number=_number_of(data.get("parent_issue_url")),
        blocked_by_count=(data.get("issue_dependencies_summary") or {}).get("total_blocked_by"),
        blocking_count=(data.get("issue_dependencies_summary") or {}).get("total_blocking"),
        updated_at=data.get("updated_at"),
    )


def _number_of(url: Any) -> int | None:
    """``https://api.github.com/repos/o/r/issues/12`` -> 12."""
    tail = str(url or "").rstrip("/").rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None
