"""GitHub reads and writes of webhook-triggered validation, on top of the REST adapter.

``GitHubLiveAdapter`` adds what reporting on a live issue needs to ``GitHubRestAdapter``:
the pull requests that close an issue, a pull request's reviews/checks/changed files, and
check runs with annotations. Same transport, counting, pacing and error translation.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from sync.github.adapter import GitHubRestAdapter

CLOSING_RE = re.compile(r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s+#(\d+)\b", re.I)
MAX_ANNOTATIONS = 50  # GitHub accepts at most 50 annotations per request
Q_CLOSING_PULLS = """
query ClosingPulls($owner: String!, $name: String!, $number: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    issue(number: $number) {
      closedByPullRequestsReferences(first: 100, after: $after, includeClosedPrs: true) {
        nodes { number }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}
"""


class GitHubLiveAdapter(GitHubRestAdapter):
    """The REST adapter plus pull-request and check-run calls."""

    def linked_pull_numbers(self, issue_number: int) -> list[int]:
        """Pull requests linked to close the issue (``Closes #12`` or linked by hand), open or
        closed: asked of the issue itself (GraphQL ``closedByPullRequestsReferences``), one
        request per 100 linked pull requests whatever the size of the repository."""
        owner, name = self.repository.split("/")
        numbers: list[int] = []
        after: str | None = None
        while True:
            variables = {"owner": owner, "name": name, "number": issue_number, "after": after}
            data = self._call(partial(self._graphql, Q_CLOSING_PULLS, variables), idempotent=True)
            issue = ((data.get("data") or {}).get("repository") or {}).get("issue") or {}
            refs = issue.get("closedByPullRequestsReferences") or {}
            numbers.extend(int(node["number"]) for node in refs.get("nodes") or [] if node)
            page = refs.get("pageInfo") or {}
            if not page.get("hasNextPage"):
                return sorted(numbers)
            after = page.get("endCursor")

    def _graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """One GraphQL request on the REST adapter's connection (counted as ``github POST``)."""
        return self._requester.graphql_query(query, variables)[1]

    def sub_issues(self, number: int) -> list[dict[str, Any]]:
        """The sub-issues of an issue: ``number``, ``title``, ``state``."""
        data = self._json("GET", f"/issues/{number}/sub_issues", idempotent=True)
        return [
            {"number": int(i["number"]), "title": str(i.get("title") or ""), "state": i["state"]}
            for i in data
        ]

    def file_text(self, path: str, ref: str) -> str | None:
        """A file's text at ``ref`` (commit sha or branch); ``None`` when it does not exist."""
        import base64

        from backlog.errors import NotFoundError

        try:
            data = self._json("GET", f"/contents/{path}", idempotent=True, params={"ref": ref})
        except NotFoundError:
            return None
        if not isinstance(data, dict) or data.get("type") != "file":
            return None
        return base64.b64decode(data.get("content") or "").decode("utf-8")

    def pull_files(self, number: int) -> list[str]:
        """Paths a pull request changes (first 3,000, as GitHub lists them)."""
        paths: list[str] = []
        page = 1
        while True:
            files = self._json(
                "GET", f"/pulls/{number}/files", idempotent=True,
                params={"per_page": 100, "page": page},
            )  # fmt: skip
            paths.extend(str(f["filename"]) for f in files)
            if len(files) < 100 or page >= 30:
                return paths
            page += 1

    def pull_request(self, number: int) -> dict[str, Any]:
        """The pull request object (``merged``, ``state``, ``head.sha``, ``html_url``)."""
        return dict(self._json("GET", f"/pulls/{number}", idempotent=True))

    def pull_reviews(self, number: int) -> list[dict[str, Any]]:
        return list(self._json("GET", f"/pulls/{number}/reviews", idempotent=True))

    def check_runs(self, ref: str) -> list[dict[str, Any]]:
        data = self._json("GET", f"/commits/{ref}/check-runs", idempotent=True)
        return list(data.get("check_runs") or [])

    def create_check_run(
        self,
        *,
        name: str,
        head_sha: str,
        conclusion: str,
        title: str,
        summary: str,
        annotations: list[dict[str, Any]],
    ) -> int:
        """A completed check run on ``head_sha`` with up to 50 line annotations."""
        body = {
            "name": name,
            "head_sha": head_sha,
            "status": "completed",
            "conclusion": conclusion,
            "output": {
                "title": title,
                "summary": summary,
                "annotations": annotations[:MAX_ANNOTATIONS],
            },
        }
        data = self._json("POST", "/check-runs", body, idempotent=False)
        return int(data["id"])
