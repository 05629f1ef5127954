"""Pull requests, reviews, check runs and pushes in the sandbox repository.

Enough of GitHub's development flow for Definition-of-Done checks and for a bot that proposes
changes: a pull request that closes an issue, its reviews, the check runs on its head commit,
pull requests opened and edited through the API from a branch (``sandbox.github.git`` holds
the commits), and the merge: a merge commit on main, the ``push`` webhook listing the files
it changed, and the issues it names with "Closes #n" closed, as GitHub does.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sandbox.github import shapes
from sandbox.github.git import GitStore
from sandbox.github.state import RepoState, SandboxError

CLOSES_RE = re.compile(r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s+#(\d+)", re.IGNORECASE)


def _sha(*parts: object) -> str:
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()


class DevFlow:
    """Pull requests, reviews, checks and the repository's Git objects on a ``RepoState``."""

    def __init__(self, repo: RepoState) -> None:
        self.repo = repo
        self.pulls: dict[int, dict[str, Any]] = {}
        self.git = GitStore()

    def pull(self, number: int) -> dict[str, Any]:
        record = self.pulls.get(number)
        if record is None:
            raise SandboxError(404, "Not Found")
        return record

    def _head_sha(self, record: dict[str, Any]) -> str:
        """An open pull request follows its branch; a closed one keeps its last head."""
        state = self.repo.issues[record["number"]]["state"]
        if record.get("merged_at") is None and state == "open":
            sha = self.git.refs.get(f"heads/{record['head_ref']}")
            if sha is not None and record.get("tracks_branch"):
                record["head_sha"] = sha
        return str(record["head_sha"])

    def pull_shape(self, number: int) -> dict[str, Any]:
        repo = self.repo
        with repo.lock:
            record = {**self.pull(number), **repo.issue(number)}
            record.update(self.pulls[number])
            record["head_sha"] = self._head_sha(self.pulls[number])
            return shapes.pull_request(
                repo.api,
                repo.html,
                record,
                author=repo.user_shape(record["user"]),
                repo_shape=repo.repo_shape(),
                labels=[repo.label_shape(n) for n in repo.issue(number)["labels"]],
            )

    # --- commits and pushes ----------------------------------------------------------------------

    def _author(self, login: str) -> dict[str, str]:
        return {"name": login, "email": f"{login}@users.noreply.sandbox", "date": shapes.now_iso()}

    def commit(self, branch: str, files: dict[str, str], *, pusher: str) -> str:
        """Commit ``files`` (path -> text) on ``branch`` and send the ``push`` webhook."""
        with self.repo.lock:
            git = self.git
            before = git.refs.get(f"heads/{branch}")
            parent = before or git.refs.get("heads/main")
            base = {p: raw.decode() for p, raw in git.files(parent).items()} if parent else {}
            sha = git.commit_files(parent, files, message=f"Work on {branch}",
                                   author=self._author(pusher))  # fmt: skip
            git.refs[f"heads/{branch}"] = sha
        self.emit_push(branch, before, [sha], pusher, base)
        return sha

    def emit_push(
        self,
        branch: str,
        before: str | None,
        commits: list[str],
        pusher: str,
        base: dict[str, str] | None = None,
    ) -> None:
        """The ``push`` webhook for ``commits`` (oldest first) now on ``branch``: each commit
        lists the paths it added, modified and removed against its first parent."""
        git = self.git
        entries = []
        with self.repo.lock:
            for sha in commits:
                record = git.commits[sha]
                parent = record["parents"][0] if record["parents"] else None
                old = git.files(parent) if parent else {}
                if base is not None and parent is None:
                    old = {p: t.encode() for p, t in base.items()}
                new = git.files(sha)
                entries.append(
                    {
                        "id": sha,
                        "message": record["message"],
                        "distinct": True,
                        "added": sorted(p for p in new if p not in old),
                        "modified": sorted(p for p in new if p in old and old[p] != new[p]),
                        "removed": sorted(p for p in old if p not in new),
                    }
                )
        payload = self.push_payload(branch, commits[-1], pusher, before=before)
        payload["commits"] = entries
        payload["head_commit"] = entries[-1]
        self.repo.emit("push", payload)

    def synchronize(self, branch: str, before: str | None) -> None:
        """``pull_request synchronize`` for each open pull request whose branch moved."""
        with self.repo.lock:
            numbers = [
                n
                for n, record in self.pulls.items()
                if record["head_ref"] == branch
                and record.get("tracks_branch")
                and self.repo.issues[n]["state"] == "open"
            ]
            shapes_ = [self.pull_shape(n) for n in numbers]
        for number, shape in zip(numbers, shapes_, strict=True):
            payload = {"action": "synchronize", "number": number, "before": before,
                       "after": shape["head"]["sha"], "pull_request": shape}  # fmt: skip
            self.repo.emit("pull_request", payload)

    def file_text(self, path: str, ref: str | None) -> str:
        with self.repo.lock:
            sha = self.git.resolve(ref)
            files = self.git.files(sha) if sha else {}
            if path not in files:
                raise SandboxError(404, "Not Found")
            return files[path].decode()

    def pull_files(self, number: int) -> list[dict[str, Any]]:
        with self.repo.lock:
            record = self.pull(number)
            head_sha = self._head_sha(record)
            base = self.git.files(record.get("base_commit") or self.git.refs.get("heads/main", ""))
            head = self.git.files(head_sha)
        return [
            {
                "sha": _sha(path, head_sha),
                "filename": path,
                "status": "modified" if path in base else "added",
                "additions": raw.count(b"\n") + 1,
                "deletions": 0,
                "changes": raw.count(b"\n") + 1,
                "blob_url": f"{self.repo.html}/blob/{head_sha}/{path}",
                "raw_url": f"{self.repo.html}/raw/{head_sha}/{path}",
                "contents_url": f"{self.repo.api}/contents/{path}?ref={head_sha}",
            }
            for path, raw in sorted(head.items())
            if base.get(path) != raw
        ]

    def open_pull(
        self,
        title: str,
        body: str,
        *,
        branch: str,
        author: str,
        files: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """What a person does on github.com: push ``files`` to ``branch`` (from main) and open
        a pull request from it (without files, a branch that only the pull request knows)."""
        if files:
            self.commit(branch, files, pusher=author)
        repo = self.repo
        with repo.lock:
            head = self.git.refs.get(f"heads/{branch}")
            number = self._new_pull(title, body, branch=branch, author=author, head=head)
            shape = self.pull_shape(number)
        if not files:
            repo.emit("push", self.push_payload(branch, self.pulls[number]["head_sha"], author))
        repo.emit("pull_request", {"action": "opened", "number": number, "pull_request": shape})
        return shape

    def _new_pull(
        self, title: str, body: str | None, *, branch: str, author: str, head: str | None
    ) -> int:
        repo = self.repo
        issue = repo.create_issue({"title": title, "body": body}, author=author, is_pull=True)
        number = int(issue["number"])
        pr_id = repo.next_id()
        main = self.git.refs.get("heads/main")
        self.pulls[number] = {
            "number": number,
            "pr_id": pr_id,
            "pr_node_id": shapes.node_id("PR", pr_id),
            "head_ref": branch,
            "head_sha": head or _sha(branch, number, "head"),
            "tracks_branch": head is not None,
            "base_sha": main or _sha("main", number),
            "base_commit": main,
            "merged_at": None,
            "merge_commit_sha": None,
            "merged_by": None,
        }
        return number

    def create_pull(self, fields: dict[str, Any], *, author: str) -> dict[str, Any]:
        """``POST /pulls``: from an existing branch of this repository into main."""
        title, head, base = fields.get("title"), fields.get("head"), fields.get("base")
        if not isinstance(head, str) or not isinstance(base, str) or not title:
            raise SandboxError(422, "Validation Failed")
        branch = head.split(":", 1)[-1]
        repo = self.repo
        with repo.lock:
            head_sha = self.git.refs.get(f"heads/{branch}")
            base_sha = self.git.refs.get(f"heads/{base}")
            if head_sha is None or base_sha is None:
                raise SandboxError(422, "Validation Failed: head or base is not a branch")
            if base != "main":
                raise SandboxError(422, "Validation Failed: the sandbox merges into main only")
            if self.git.is_ancestor(head_sha, base_sha):
                message = f"Validation Failed: No commits between {base} and {branch}"
                raise SandboxError(422, message)
            for record in self.pulls.values():
                is_open = repo.issues[record["number"]]["state"] == "open"
                if record["head_ref"] == branch and is_open:
                    raise SandboxError(
                        422, f"Validation Failed: A pull request already exists for {head}."
                    )
            number = self._new_pull(str(title), fields.get("body"), branch=branch,
                                    author=author, head=head_sha)  # fmt: skip
            shape = self.pull_shape(number)
        repo.emit("pull_request", {"action": "opened", "number": number, "pull_request": shape})
        return shape

    def update_pull(self, number: int, fields: dict[str, Any]) -> dict[str, Any]:
        """``PATCH /pulls/{n}``: title, body, state (open/closed)."""
        repo = self.repo
        with repo.lock:
            self.pull(number)
            issue = repo.issue(number)
            if fields.get("state") not in (None, "open", "closed"):
                raise SandboxError(422, "Validation Failed")
            changes = {
                key: {"from": issue.get(key)}
                for key in ("title", "body")
                if key in fields and fields[key] != issue.get(key)
            }
            for key in ("title", "body"):
                if key in fields:
                    issue[key] = fields[key]
            action = "edited"
            if fields.get("state") and fields["state"] != issue["state"]:
                action = "closed" if fields["state"] == "closed" else "reopened"
                issue["state"] = fields["state"]
                issue["closed_at"] = shapes.now_iso() if fields["state"] == "closed" else None
            issue["updated_at"] = shapes.now_iso()
            shape = self.pull_shape(number)
        payload = {"action": action, "number": number, "pull_request": shape}
        if action == "edited":
            payload["changes"] = changes
        repo.emit("pull_request", payload)
        return shape

    def list_pulls(
        self, state: str, head: str | None = None, base: str | None = None
    ) -> list[dict[str, Any]]:
        """Newest first; ``head`` is ``owner:branch`` (as on GitHub), ``base`` a branch."""
        owner, _, branch = (head or "").rpartition(":")
        wanted = (owner, branch)
        with self.repo.lock:
            numbers = sorted(self.pulls, reverse=True)
            return [
                self.pull_shape(n)
                for n in numbers
                if (state == "all" or self.repo.issues[n]["state"] == state)
                and (head is None or (self.repo.owner, self.pulls[n]["head_ref"]) == wanted)
                and (base is None or base == "main")
            ]

    def submit_review(
        self, number: int, *, reviewer: str, state: str, body: str = ""
    ) -> dict[str, Any]:
        repo = self.repo
        with repo.lock:
            record = self.pull(number)
            review_id = repo.next_id()
            review = {
                "id": review_id,
                "node_id": shapes.node_id("PRR", review_id),
                "pull": number,
                "user": reviewer,
                "state": state,
                "body": body,
                "commit_id": self._head_sha(record),
                "submitted_at": shapes.now_iso(),
            }
            repo.reviews.setdefault(number, []).append(review)
            shape = shapes.review(repo.api, repo.html, review, repo.user_shape(reviewer))
            pr_shape = self.pull_shape(number)
        payload = {"action": "submitted", "review": shape, "pull_request": pr_shape}
        repo.emit("pull_request_review", payload)
        return shape

    def reviews(self, number: int) -> list[dict[str, Any]]:
        repo = self.repo
        with repo.lock:
            self.pull(number)
            return [
                shapes.review(repo.api, repo.html, r, repo.user_shape(r["user"]))
                for r in repo.reviews.get(number, [])
            ]

    def create_check_run(self, fields: dict[str, Any]) -> dict[str, Any]:
        repo = self.repo
        if not fields.get("name") or not fields.get("head_sha"):
            raise SandboxError(422, "Validation Failed")
        with repo.lock:
            run_id = repo.next_id()
            status = fields.get("status") or ("completed" if fields.get("conclusion") else "queued")
            now = shapes.now_iso()
            output = fields.get("output") or {}
            record = {
                "id": run_id,
                "node_id": shapes.node_id("CR", run_id),
                "suite_id": repo.next_id(),
                "name": fields["name"],
                "head_sha": fields["head_sha"],
                "status": status,
                "conclusion": fields.get("conclusion"),
                "details_url": fields.get("details_url"),
                "external_id": fields.get("external_id"),
                "started_at": fields.get("started_at") or now,
                "completed_at": fields.get("completed_at")
                or (now if status == "completed" else None),
                "title": output.get("title"),
                "summary": output.get("summary"),
            }
            repo.check_runs[run_id] = record
            shape = shapes.check_run(repo.api, repo.html, record)
        repo.emit("check_run", {"action": "created", "check_run": shape})
        if status == "completed":
            repo.emit("check_run", {"action": "completed", "check_run": shape})
            suite = {
                "id": record["suite_id"],
                "head_sha": record["head_sha"],
                "status": "completed",
                "conclusion": record["conclusion"],
            }
            repo.emit("check_suite", {"action": "completed", "check_suite": suite})
        return shape

    def check_runs_for(self, ref: str) -> dict[str, Any]:
        repo = self.repo
        with repo.lock:
            sha = ref
            for number, record in self.pulls.items():
                if ref in (record["head_ref"], str(number)):
                    sha = self._head_sha(record)
            runs = [
                shapes.check_run(repo.api, repo.html, run)
                for run in repo.check_runs.values()
                if run["head_sha"] == sha
            ]
            return {"total_count": len(runs), "check_runs": runs}

    def merge(
        self, number: int, *, merged_by: str, commit_title: str | None = None
    ) -> dict[str, Any]:
        """Merge into main: a merge commit whose tree is main's with the files the pull request
        changed (405 when main changed one of them too), the ``pull_request`` closed and
        ``push`` webhooks; a pull request closing issues closes them."""
        repo = self.repo
        with repo.lock:
            record = self.pull(number)
            issue = repo.issue(number)
            if issue["state"] != "open":
                raise SandboxError(405, "Pull Request is not mergeable")
            head = self._head_sha(record)
            before = self.git.refs.get("heads/main")
            merge_sha = self._merge_commit(record, head, before, merged_by, commit_title)
            now = shapes.now_iso()
            record["merged_at"] = now
            record["merged_by"] = merged_by
            record["merge_commit_sha"] = merge_sha or _sha("merge", number)
            issue.update(state="closed", closed_at=now, updated_at=now)
            shape = self.pull_shape(number)
            closes = [int(n) for n in CLOSES_RE.findall(issue.get("body") or "")]
        repo.emit("pull_request", {"action": "closed", "number": number, "pull_request": shape})
        if merge_sha is not None:
            self.emit_push("main", before, [merge_sha], merged_by)
        else:  # a pull request without Git objects (opened by hand, without files)
            repo.emit("push", self.push_payload("main", record["merge_commit_sha"], merged_by))
        for closed in closes:
            if closed in repo.issues and repo.issues[closed]["state"] == "open":
                repo.update_issue(closed, {"state": "closed", "state_reason": "completed"})
        return shape

    def _merge_commit(
        self,
        record: dict[str, Any],
        head: str,
        main: str | None,
        merged_by: str,
        title: str | None,
    ) -> str | None:
        git = self.git
        if head not in git.commits:
            return None
        base = git.files(record.get("base_commit") or "")
        theirs = git.files(head)
        ours = git.files(main) if main else {}
        changed = {p for p in set(base) | set(theirs) if base.get(p) != theirs.get(p)}
        if any(ours.get(p) not in (base.get(p), theirs.get(p)) for p in changed):
            raise SandboxError(405, "Pull Request is not mergeable")
        entries = dict(git.trees[git.commits[main]["tree"]]) if main else {}
        for path in changed:
            if path in theirs:
                entries[path] = git.add_blob(theirs[path])
            else:
                entries.pop(path, None)
        message = title or f"Merge pull request #{record['number']} from {record['head_ref']}"
        parents = [main, head] if main else [head]
        sha = git.add_commit(message, git.add_tree(entries), parents,
                             author=self._author(merged_by))  # fmt: skip
        git.refs["heads/main"] = sha
        return sha

    def push_payload(
        self, branch: str, sha: str, pusher: str, *, before: str | None = None
    ) -> dict[str, Any]:
        return {
            "ref": f"refs/heads/{branch}",
            "base_ref": None,
            "before": before or "0" * 40,
            "after": sha,
            "created": before is None,
            "deleted": False,
            "forced": False,
            "compare": f"{self.repo.html}/compare/{sha[:12]}",
            "commits": [{"id": sha, "message": f"Work on {branch}", "distinct": True}],
            "head_commit": {"id": sha, "message": f"Work on {branch}"},
            "pusher": {"name": pusher, "email": f"{pusher}@users.noreply.sandbox"},
        }
