"""Pull requests, reviews, check runs and pushes in the sandbox repository.

Enough of GitHub's development flow for Definition-of-Done checks: a pull request that closes
an issue, its reviews, the check runs on its head commit, and the merge (which closes the
issue it names with "Closes #n", as GitHub does).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sandbox.github import shapes
from sandbox.github.state import RepoState, SandboxError

CLOSES_RE = re.compile(r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s+#(\d+)", re.IGNORECASE)


def _sha(*parts: object) -> str:
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()


class DevFlow:
    """Pull requests, reviews and checks on top of a ``RepoState``."""

    def __init__(self, repo: RepoState) -> None:
        self.repo = repo
        self.pulls: dict[int, dict[str, Any]] = {}
        # File contents per commit sha, and branch heads: enough for the contents API.
        self.trees: dict[str, dict[str, str]] = {}
        self.heads: dict[str, str] = {}

    def pull(self, number: int) -> dict[str, Any]:
        record = self.pulls.get(number)
        if record is None:
            raise SandboxError(404, "Not Found")
        return record

    def pull_shape(self, number: int) -> dict[str, Any]:
        repo = self.repo
        with repo.lock:
            record = {**self.pull(number), **repo.issue(number)}
            record.update(self.pulls[number])
            return shapes.pull_request(
                repo.api,
                repo.html,
                record,
                author=repo.user_shape(record["user"]),
                repo_shape=repo.repo_shape(),
                labels=[repo.label_shape(n) for n in repo.issue(number)["labels"]],
            )

    def commit(self, branch: str, files: dict[str, str], *, pusher: str) -> str:
        """Commit ``files`` (path -> text) on ``branch`` and send the ``push`` webhook."""
        with self.repo.lock:
            base = self.trees.get(self.heads.get(branch) or self.heads.get("main", ""), {})
            sha = _sha(branch, len(self.trees), *sorted(files))
            self.trees[sha] = {**base, **files}
            self.heads[branch] = sha
        payload = self.push_payload(branch, sha, pusher)
        for entry in (payload["commits"][0], payload["head_commit"]):
            entry["added"] = sorted(p for p in files if p not in base)
            entry["modified"] = sorted(p for p in files if p in base)
            entry["removed"] = []
        self.repo.emit("push", payload)
        return sha

    def file_text(self, path: str, ref: str | None) -> str:
        with self.repo.lock:
            sha = self.heads.get(ref or "main", ref or "")
            tree = self.trees.get(sha)
            if tree is None or path not in tree:
                raise SandboxError(404, "Not Found")
            return tree[path]

    def pull_files(self, number: int) -> list[dict[str, Any]]:
        with self.repo.lock:
            record = self.pull(number)
            base = self.trees.get(self.heads.get("main", ""), {})
            head = self.trees.get(record["head_sha"], {})
        return [
            {
                "sha": _sha(path, record["head_sha"]),
                "filename": path,
                "status": "modified" if path in base else "added",
                "additions": text.count("\n") + 1,
                "deletions": 0,
                "changes": text.count("\n") + 1,
                "blob_url": f"{self.repo.html}/blob/{record['head_sha']}/{path}",
                "raw_url": f"{self.repo.html}/raw/{record['head_sha']}/{path}",
                "contents_url": f"{self.repo.api}/contents/{path}?ref={record['head_sha']}",
            }
            for path, text in sorted(head.items())
            if base.get(path) != text
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
        repo = self.repo
        with repo.lock:
            issue = repo.create_issue({"title": title, "body": body}, author=author, is_pull=True)
            number = issue["number"]
            pr_id = repo.next_id()
            self.pulls[number] = {
                "pr_id": pr_id,
                "pr_node_id": shapes.node_id("PR", pr_id),
                "head_ref": branch,
                "head_sha": _sha(branch, number, "head"),
                "base_sha": _sha("main", number),
                "merged_at": None,
                "merge_commit_sha": None,
            }
            if files:
                base = self.trees.get(self.heads.get("main", ""), {})
                self.trees[self.pulls[number]["head_sha"]] = {**base, **files}
            shape = self.pull_shape(number)
        repo.emit("push", self.push_payload(branch, self.pulls[number]["head_sha"], author))
        repo.emit("pull_request", {"action": "opened", "number": number, "pull_request": shape})
        return shape

    def list_pulls(self, state: str) -> list[dict[str, Any]]:
        with self.repo.lock:
            numbers = sorted(self.pulls, reverse=True)
            return [
                self.pull_shape(n)
                for n in numbers
                if state == "all" or self.repo.issues[n]["state"] == state
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
                "commit_id": record["head_sha"],
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
                    sha = record["head_sha"]
            runs = [
                shapes.check_run(repo.api, repo.html, run)
                for run in repo.check_runs.values()
                if run["head_sha"] == sha
            ]
            return {"total_count": len(runs), "check_runs": runs}

    def merge(self, number: int, *, merged_by: str) -> dict[str, Any]:
        repo = self.repo
        with repo.lock:
            record = self.pull(number)
            issue = repo.issue(number)
            if issue["state"] != "open":
                raise SandboxError(405, "Pull Request is not mergeable")
            now = shapes.now_iso()
            record["merged_at"] = now
            record["merge_commit_sha"] = _sha("merge", number)
            issue.update(state="closed", closed_at=now, updated_at=now)
            shape = self.pull_shape(number)
            closes = [int(n) for n in CLOSES_RE.findall(issue.get("body") or "")]
        repo.emit("pull_request", {"action": "closed", "number": number, "pull_request": shape})
        repo.emit("push", self.push_payload("main", record["merge_commit_sha"], merged_by))
        for closed in closes:
            if closed in repo.issues and repo.issues[closed]["state"] == "open":
                repo.update_issue(closed, {"state": "closed", "state_reason": "completed"})
        return shape

    def push_payload(self, branch: str, sha: str, pusher: str) -> dict[str, Any]:
        return {
            "ref": f"refs/heads/{branch}",
            "base_ref": None,
            "before": "0" * 40,
            "after": sha,
            "created": True,
            "deleted": False,
            "forced": False,
            "compare": f"{self.repo.html}/compare/{sha[:12]}",
            "commits": [{"id": sha, "message": f"Work on {branch}", "distinct": True}],
            "head_commit": {"id": sha, "message": f"Work on {branch}"},
            "pusher": {"name": pusher, "email": f"{pusher}@users.noreply.sandbox"},
        }
