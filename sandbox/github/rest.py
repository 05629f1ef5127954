"""The REST endpoints of the sandbox GitHub: a route table of ``(method, path pattern)`` to
handlers. Paths follow GitHub's OpenAPI description exactly (the contract tests check it).

A handler gets the path parameters, the query parameters and the JSON body and returns
``(status, json)``; the app adds headers (rate limits, ETag, Link) around it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from sandbox.github import shapes
from sandbox.github.git import decode_blob
from sandbox.github.pulls import DevFlow
from sandbox.github.state import RepoState, SandboxError

Result = tuple[int, Any]
Handler = Callable[[dict[str, str], dict[str, str], Any], Result]
REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"


class RestApi:
    """Routes REST requests to the repository state."""

    def __init__(self, repo: RepoState, flow: DevFlow) -> None:
        self.repo = repo
        self.flow = flow
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/rate_limit", self._unrouted),
            ("GET", REPO, self.get_repo),
            ("GET", REPO + "/issues", self.list_issues),
            ("POST", REPO + "/issues", self.create_issue),
            ("GET", REPO + "/issues/events", self.list_events),
            ("GET", REPO + r"/issues/(?P<number>\d+)", self.get_issue),
            ("GET", REPO + r"/issues/(?P<number>\d+)/events", self.issue_events),
            ("PATCH", REPO + r"/issues/(?P<number>\d+)", self.edit_issue),
            ("GET", REPO + r"/issues/(?P<number>\d+)/labels", self.issue_labels),
            ("POST", REPO + r"/issues/(?P<number>\d+)/labels", self.add_labels),
            ("PUT", REPO + r"/issues/(?P<number>\d+)/labels", self.set_labels),
            ("POST", REPO + r"/issues/(?P<number>\d+)/assignees", self.add_assignees),
            ("GET", REPO + r"/issues/(?P<number>\d+)/sub_issues", self.list_sub_issues),
            ("POST", REPO + r"/issues/(?P<number>\d+)/sub_issues", self.add_sub_issue),
            ("DELETE", REPO + r"/issues/(?P<number>\d+)/sub_issue", self.remove_sub_issue),
            ("GET", REPO + r"/issues/(?P<number>\d+)/parent", self.parent),
            ("GET", REPO + r"/issues/(?P<number>\d+)/dependencies/blocked_by", self.blockers),
            ("POST", REPO + r"/issues/(?P<number>\d+)/dependencies/blocked_by", self.block),
            (
                "DELETE",
                REPO + r"/issues/(?P<number>\d+)/dependencies/blocked_by/(?P<issue_id>\d+)",
                self.unblock,
            ),
            ("GET", REPO + r"/issues/(?P<number>\d+)/comments", self.list_comments),
            ("POST", REPO + r"/issues/(?P<number>\d+)/comments", self.create_comment),
            ("PATCH", REPO + r"/issues/comments/(?P<comment_id>\d+)", self.edit_comment),
            ("GET", REPO + "/labels", self.list_labels),
            ("POST", REPO + "/labels", self.create_label),
            ("PATCH", REPO + r"/labels/(?P<name>[^/]+)", self.update_label),
            ("GET", REPO + "/milestones", self.list_milestones),
            ("POST", REPO + "/milestones", self.create_milestone),
            ("PATCH", REPO + r"/milestones/(?P<milestone>\d+)", self.update_milestone),
            ("GET", REPO + "/pulls", self.list_pulls),
            ("POST", REPO + "/pulls", self.create_pull),
            ("GET", REPO + r"/pulls/(?P<number>\d+)", self.get_pull),
            ("PATCH", REPO + r"/pulls/(?P<number>\d+)", self.update_pull),
            ("PUT", REPO + r"/pulls/(?P<number>\d+)/merge", self.merge_pull),
            ("GET", REPO + r"/pulls/(?P<number>\d+)/reviews", self.list_reviews),
            ("GET", REPO + r"/pulls/(?P<number>\d+)/files", self.pull_files),
            ("GET", REPO + r"/contents/(?P<path>.+)", self.contents),
            ("GET", REPO + r"/git/ref/(?P<ref>.+)", self.get_ref),
            ("POST", REPO + "/git/refs", self.create_ref),
            ("PATCH", REPO + r"/git/refs/(?P<ref>.+)", self.update_ref),
            ("POST", REPO + "/git/blobs", self.create_blob),
            ("POST", REPO + "/git/trees", self.create_tree),
            ("GET", REPO + r"/git/trees/(?P<sha>[0-9a-f]{40})", self.get_tree),
            ("POST", REPO + "/git/commits", self.create_commit),
            ("GET", REPO + r"/git/commits/(?P<sha>[0-9a-f]{40})", self.get_commit),
            ("GET", REPO + r"/compare/(?P<basehead>.+)", self.compare),
            ("POST", REPO + "/check-runs", self.create_check_run),
            ("GET", REPO + r"/commits/(?P<ref>[^/]+)/check-runs", self.check_runs),
        ]
        for method, pattern, handler in table:
            self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    def route(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        known_path = False
        for route_method, pattern, handler in self.routes:
            found = pattern.match(path)
            if found:
                known_path = True
                if route_method == method:
                    params = {k: v for k, v in found.groupdict().items() if v is not None}
                    self._check_repo(params)
                    return handler, params
        if known_path:
            raise SandboxError(405, "Method Not Allowed")
        return None

    def _check_repo(self, params: dict[str, str]) -> None:
        if "owner" in params and (params["owner"], params["repo"]) != (
            self.repo.owner,
            self.repo.name,
        ):
            raise SandboxError(404, "Not Found")

    @staticmethod
    def _unrouted(params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        raise SandboxError(500, "handled by the app")

    # --- handlers ----------------------------------------------------------------------------

    def get_repo(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        return 200, self.repo.repo_shape()

    def list_issues(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        numbers = self.repo.list_issues(query)
        return 200, [self.repo.issue_shape(n) for n in numbers]

    def list_events(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        """The repository's issue events, newest first, each with its issue."""
        with self.repo.lock:
            events = list(reversed(self.repo.issue_events))
            return 200, [
                shapes.issue_event(
                    self.repo.api,
                    self._users(event),
                    self.repo.user_shape(event["actor"]),
                    self.repo.issue_shape(event["number"]),
                )
                for event in events
            ]

    def issue_events(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        """One issue's events, oldest first."""
        number = int(params["number"])
        with self.repo.lock:
            self.repo.issue(number)  # 404 for an unknown issue
            return 200, [
                shapes.issue_event(
                    self.repo.api, self._users(event), self.repo.user_shape(event["actor"]), None
                )
                for event in self.repo.issue_events
                if event["number"] == number
            ]

    def _users(self, event: dict[str, Any]) -> dict[str, Any]:
        """An (un)assigned event with its assignee and assigner as users, as GitHub shows
        them."""
        if "assignee" not in event:
            return event
        return {
            **event,
            "assignee": self.repo.user_shape(event["assignee"]),
            "assigner": self.repo.user_shape(event["actor"]),
        }

    def create_issue(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        return 201, self.repo.create_issue(_object(body))

    def get_issue(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        return 200, self.repo.issue_shape(int(params["number"]))

    def edit_issue(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        return 200, self.repo.update_issue(int(params["number"]), _object(body))

    def issue_labels(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        record = self.repo.issue(int(params["number"]))
        return 200, [self.repo.label_shape(name) for name in record["labels"]]

    def add_labels(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        names = _label_names(body)
        return 200, self.repo.add_labels(int(params["number"]), names, replace=False)

    def set_labels(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        names = _label_names(body)
        return 200, self.repo.add_labels(int(params["number"]), names, replace=True)

    def add_assignees(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        logins = list(_object(body).get("assignees") or [])
        return 201, self.repo.set_assignees(int(params["number"]), logins, [])

    def list_sub_issues(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        number = int(params["number"])
        self.repo.issue(number)
        children = self.repo.sub_issues.get(number, [])
        return 200, [self.repo.issue_shape(child) for child in children]

    def add_sub_issue(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        fields = _object(body)
        child = _int(fields, "sub_issue_id")
        replace = bool(fields.get("replace_parent"))
        return 201, self.repo.add_sub_issue(int(params["number"]), child, replace_parent=replace)

    def remove_sub_issue(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        child = _int(_object(body), "sub_issue_id")
        return 200, self.repo.remove_sub_issue(int(params["number"]), child)

    def parent(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        number = int(params["number"])
        self.repo.issue(number)
        for parent, kids in self.repo.sub_issues.items():
            if number in kids:
                return 200, self.repo.issue_shape(parent)
        raise SandboxError(404, "Not Found")

    def blockers(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        number = int(params["number"])
        self.repo.issue(number)
        return 200, [self.repo.issue_shape(n) for n in self.repo.blocked_by.get(number, [])]

    def block(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        blocker = _int(_object(body), "issue_id")
        self.repo.add_blocked_by(int(params["number"]), blocker)
        return 201, self.repo.issue_shape(self.repo.issue_by_id(blocker)["number"])

    def unblock(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        return 200, self.repo.remove_blocked_by(int(params["number"]), int(params["issue_id"]))

    def list_comments(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        number = int(params["number"])
        self.repo.issue(number)
        ids = [c for c, record in self.repo.comments.items() if record["issue"] == number]
        return 200, [self.repo.comment_shape(c) for c in ids]

    def create_comment(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        text = _object(body).get("body")
        if not isinstance(text, str) or not text:
            raise SandboxError(422, "Validation Failed")
        return 201, self.repo.create_comment(int(params["number"]), text)

    def edit_comment(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        text = _object(body).get("body")
        if not isinstance(text, str):
            raise SandboxError(422, "Validation Failed")
        return 200, self.repo.update_comment(int(params["comment_id"]), text)

    def list_labels(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        return 200, [self.repo.label_shape(name) for name in sorted(self.repo.labels)]

    def create_label(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        fields = _object(body)
        if not fields.get("name"):
            raise SandboxError(422, "Validation Failed")
        color = fields.get("color") or "ededed"
        return 201, self.repo.create_label(fields["name"], color, fields.get("description"))

    def update_label(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        return 200, self.repo.update_label(params["name"], _object(body))

    def list_milestones(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        state = query.get("state", "open")
        records = [
            m for m in self.repo.milestones.values() if state == "all" or m["state"] == state
        ]
        return 200, [self.repo.milestone_shape(m) for m in records]

    def create_milestone(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        return 201, self.repo.create_milestone(_object(body))

    def update_milestone(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        return 200, self.repo.update_milestone(int(params["milestone"]), _object(body))

    def list_pulls(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        return 200, self.flow.list_pulls(
            query.get("state", "open"), head=query.get("head"), base=query.get("base")
        )

    def create_pull(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        return 201, self.flow.create_pull(_object(body), author=self.repo.owner)

    def update_pull(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        return 200, self.flow.update_pull(int(params["number"]), _object(body))

    def merge_pull(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        fields = body if isinstance(body, dict) else {}
        method = fields.get("merge_method", "merge")
        if method != "merge":
            raise SandboxError(422, f"Merge method {method} is not supported by the sandbox")
        number = int(params["number"])
        expected = fields.get("sha")
        if expected and expected != self.flow.pull_shape(number)["head"]["sha"]:
            raise SandboxError(409, "Head branch was modified. Review and try the merge again.")
        shape = self.flow.merge(number, merged_by=self.repo.owner,
                                commit_title=fields.get("commit_title"))  # fmt: skip
        return 200, {
            "sha": shape["merge_commit_sha"],
            "merged": True,
            "message": "Pull Request successfully merged",
        }

    # --- the Git data API (refs, blobs, trees, commits) ----------------------------------------

    def get_ref(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        git = self.flow.git
        with self.repo.lock:
            git.get_ref(params["ref"])
            return 200, git.shape_ref(self.repo.api, params["ref"])

    def create_ref(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        fields = _object(body)
        git = self.flow.git
        with self.repo.lock:
            name = git.create_ref(str(fields.get("ref") or ""), str(fields.get("sha") or ""))
            return 201, git.shape_ref(self.repo.api, name)

    def update_ref(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        fields = _object(body)
        git = self.flow.git
        name = params["ref"]
        with self.repo.lock:
            before = git.refs.get(name)
            git.update_ref(name, str(fields.get("sha") or ""), force=bool(fields.get("force")))
            shape = git.shape_ref(self.repo.api, name)
            new = git.refs[name]
            pushed = [new] if new != before else []
        if pushed and name.startswith("heads/"):
            self.flow.emit_push(name.removeprefix("heads/"), before, pushed, self.repo.owner)
            self.flow.synchronize(name.removeprefix("heads/"), before)
        return 200, shape

    def create_blob(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        raw = decode_blob(_object(body))
        with self.repo.lock:
            sha = self.flow.git.add_blob(raw)
            return 201, self.flow.git.shape_blob(self.repo.api, sha)

    def create_tree(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        fields = _object(body)
        items = fields.get("tree")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise SandboxError(422, "Invalid tree info")
        with self.repo.lock:
            sha = self.flow.git.create_tree(fields.get("base_tree"), items)
            return 201, self.flow.git.shape_tree(self.repo.api, sha)

    def get_tree(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        with self.repo.lock:
            if params["sha"] not in self.flow.git.trees:
                raise SandboxError(404, "Not Found")
            return 200, self.flow.git.shape_tree(self.repo.api, params["sha"])

    def create_commit(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        fields = _object(body)
        message, tree, parents = fields.get("message"), fields.get("tree"), fields.get("parents")
        if not isinstance(message, str) or not isinstance(tree, str):
            raise SandboxError(422, 'Invalid request.\n\n"message" and "tree" are required.')
        if parents is not None and not (
            isinstance(parents, list) and all(isinstance(p, str) for p in parents)
        ):
            raise SandboxError(422, 'Invalid request.\n\n"parents" must be a list of shas.')
        author = fields.get("author") or {
            "name": self.repo.owner,
            "email": f"{self.repo.owner}@users.noreply.sandbox",
        }
        author = {**author, "date": author.get("date") or shapes.now_iso()}
        committer = fields.get("committer") or author
        committer = {**committer, "date": committer.get("date") or author["date"]}
        git = self.flow.git
        with self.repo.lock:
            sha = git.add_commit(
                message, tree, list(parents or []), author=author, committer=committer
            )
            return 201, git.shape_commit(self.repo.api, self.repo.html, sha)

    def get_commit(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        git = self.flow.git
        with self.repo.lock:
            if params["sha"] not in git.commits:
                raise SandboxError(404, "Not Found")
            return 200, git.shape_commit(self.repo.api, self.repo.html, params["sha"])

    def compare(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        """``GET /compare/{base}...{head}``: the merge base, the commits ``head`` has that
        ``base`` lacks (paged by ``page``/``per_page``, default 250) and the counts."""
        base_name, dots, head_name = params["basehead"].partition("...")
        if not dots:
            raise SandboxError(404, "Not Found")
        git = self.flow.git
        api, html = self.repo.api, self.repo.html
        per_page = min(max(int(query.get("per_page") or 250), 1), 1000)
        page = max(int(query.get("page") or 1), 1)
        with self.repo.lock:
            base, head = git.resolve(unquote(base_name)), git.resolve(unquote(head_name))
            if base is None or head is None:
                raise SandboxError(404, "Not Found")
            merge_base, ahead, behind_by = git.compare(base, head)
            if merge_base is None:
                raise SandboxError(404, f"No common ancestor between {base_name} and {head_name}.")
            status = (
                "diverged" if ahead and behind_by else "ahead" if ahead
                else "behind" if behind_by else "identical"
            )  # fmt: skip
            listed = ahead[(page - 1) * per_page : page * per_page]
            return 200, {
                "url": f"{api}/compare/{params['basehead']}",
                "html_url": f"{html}/compare/{params['basehead']}",
                "permalink_url": f"{html}/compare/{base}...{head}",
                "diff_url": f"{html}/compare/{params['basehead']}.diff",
                "patch_url": f"{html}/compare/{params['basehead']}.patch",
                "base_commit": git.shape_rest_commit(api, html, base),
                "merge_base_commit": git.shape_rest_commit(api, html, merge_base),
                "status": status,
                "ahead_by": len(ahead),
                "behind_by": behind_by,
                "total_commits": len(ahead),
                "commits": [git.shape_rest_commit(api, html, sha) for sha in listed],
                "files": [],
            }

    def get_pull(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        return 200, self.flow.pull_shape(int(params["number"]))

    def list_reviews(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        return 200, self.flow.reviews(int(params["number"]))

    def pull_files(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        return 200, self.flow.pull_files(int(params["number"]))

    def contents(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        """A file's content object (base64), as ``GET /repos/{o}/{r}/contents/{path}``."""
        import base64

        path = params["path"]
        text = self.flow.file_text(path, query.get("ref"))
        raw = text.encode()
        return 200, {
            "type": "file",
            "encoding": "base64",
            "size": len(raw),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": base64.b64encode(raw).decode(),
            "sha": _blob_sha(raw),
            "url": f"{self.repo.api}/contents/{path}",
            "git_url": f"{self.repo.api}/git/blobs/{_blob_sha(raw)}",
            "html_url": f"{self.repo.html}/blob/main/{path}",
            "download_url": f"{self.repo.html}/raw/main/{path}",
            "_links": {
                "self": f"{self.repo.api}/contents/{path}",
                "git": f"{self.repo.api}/git/blobs/{_blob_sha(raw)}",
                "html": f"{self.repo.html}/blob/main/{path}",
            },
        }

    def create_check_run(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        return 201, self.flow.create_check_run(_object(body))

    def check_runs(self, params: dict[str, Any], query: dict[str, Any], body: Any) -> Result:
        return 200, self.flow.check_runs_for(params["ref"])


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise SandboxError(400, "Problems parsing JSON")
    return body


def _int(fields: dict[str, Any], name: str) -> int:
    value = fields.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise SandboxError(422, "Invalid request.\n\n" + f'"{name}" is not an integer.')
    return value


def _label_names(body: Any) -> list[str]:
    if isinstance(body, list):
        return [str(name) for name in body]
    labels = _object(body).get("labels") or []
    return [n if isinstance(n, str) else str(n.get("name")) for n in labels]


def _blob_sha(raw: bytes) -> str:
    import hashlib

    return hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest()
