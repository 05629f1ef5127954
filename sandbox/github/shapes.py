"""JSON shapes of the GitHub REST resources the sandbox serves.

Each function turns a sandbox record into the representation GitHub's OpenAPI description
gives for it (``components/schemas/issue``, ``label``, ``milestone`` ...): every required
property present, URLs pointing back at the sandbox. The contract tests validate them.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def node_id(prefix: str, number: int) -> str:
    """A GitHub-like global node id such as ``I_kwDOAAAAAQ``; stable per object."""
    raw = base64.urlsafe_b64encode(number.to_bytes(8, "big")).decode().rstrip("=")
    return f"{prefix}_kwDO{raw}"


def user(base: str, login: str, user_id: int) -> dict[str, Any]:
    api = f"{base}/users/{login}"
    return {
        "login": login,
        "id": user_id,
        "node_id": node_id("U", user_id),
        "avatar_url": f"{base}/avatars/{login}",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{base}/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": "User",
        "site_admin": False,
    }


def repository(base: str, record: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    full = record["full_name"]
    api = f"{base}/repos/{full}"
    created = record["created_at"]
    templates = {
        "archive_url": "/{archive_format}{/ref}",
        "assignees_url": "/assignees{/user}",
        "blobs_url": "/git/blobs{/sha}",
        "branches_url": "/branches{/branch}",
        "collaborators_url": "/collaborators{/collaborator}",
        "comments_url": "/comments{/number}",
        "commits_url": "/commits{/sha}",
        "compare_url": "/compare/{base}...{head}",
        "contents_url": "/contents/{+path}",
        "contributors_url": "/contributors",
        "deployments_url": "/deployments",
        "downloads_url": "/downloads",
        "events_url": "/events",
        "forks_url": "/forks",
        "git_commits_url": "/git/commits{/sha}",
        "git_refs_url": "/git/refs{/sha}",
        "git_tags_url": "/git/tags{/sha}",
        "hooks_url": "/hooks",
        "issue_comment_url": "/issues/comments{/number}",
        "issue_events_url": "/issues/events{/number}",
        "issues_url": "/issues{/number}",
        "keys_url": "/keys{/key_id}",
        "labels_url": "/labels{/name}",
        "languages_url": "/languages",
        "merges_url": "/merges",
        "milestones_url": "/milestones{/number}",
        "notifications_url": "/notifications{?since,all,participating}",
        "pulls_url": "/pulls{/number}",
        "releases_url": "/releases{/id}",
        "stargazers_url": "/stargazers",
        "statuses_url": "/statuses/{sha}",
        "subscribers_url": "/subscribers",
        "subscription_url": "/subscription",
        "tags_url": "/tags",
        "teams_url": "/teams",
        "trees_url": "/git/trees{/sha}",
    }
    shape: dict[str, Any] = {name: api + suffix for name, suffix in templates.items()}
    shape.update(
        {
            "id": record["id"],
            "node_id": record["node_id"],
            "name": record["name"],
            "full_name": full,
            "owner": owner,
            "private": False,
            "html_url": f"{base}/{full}",
            "description": record.get("description"),
            "fork": False,
            "url": api,
            "clone_url": f"{base}/{full}.git",
            "git_url": f"git://sandbox/{full}.git",
            "ssh_url": f"git@sandbox:{full}.git",
            "svn_url": f"{base}/{full}",
            "mirror_url": None,
            "homepage": None,
            "language": None,
            "default_branch": "main",
            "forks": 0,
            "forks_count": 0,
            "stargazers_count": 0,
            "watchers": 0,
            "watchers_count": 0,
            "size": 0,
            "open_issues": record["open_issues"],
            "open_issues_count": record["open_issues"],
            "has_issues": True,
            "has_projects": True,
            "has_wiki": False,
            "has_pages": False,
            "has_downloads": False,
            "has_discussions": False,
            "archived": False,
            "disabled": False,
            "license": None,
            "pushed_at": created,
            "created_at": created,
            "updated_at": created,
            "network_count": 0,
            "subscribers_count": 0,
            "visibility": "public",
        }
    )
    return shape


def label(repo_api: str, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record["id"],
        "node_id": record["node_id"],
        "url": f"{repo_api}/labels/{record['name']}",
        "name": record["name"],
        "description": record.get("description"),
        "color": record["color"],
        "default": False,
    }


def milestone(
    repo_api: str, html: str, record: dict[str, Any], creator: dict[str, Any]
) -> dict[str, Any]:
    number = record["number"]
    return {
        "url": f"{repo_api}/milestones/{number}",
        "html_url": f"{html}/milestone/{number}",
        "labels_url": f"{repo_api}/milestones/{number}/labels",
        "id": record["id"],
        "node_id": record["node_id"],
        "number": number,
        "state": record["state"],
        "title": record["title"],
        "description": record.get("description"),
        "creator": creator,
        "open_issues": record.get("open_issues", 0),
        "closed_issues": record.get("closed_issues", 0),
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
        "closed_at": record.get("closed_at"),
        "due_on": record.get("due_on"),
    }


def issue(
    repo_api: str,
    html: str,
    record: dict[str, Any],
    *,
    author: dict[str, Any],
    assignees: list[dict[str, Any]],
    labels: list[dict[str, Any]],
    milestone_shape: dict[str, Any] | None,
    sub_issues: tuple[int, int],
    dependencies: tuple[int, int],
) -> dict[str, Any]:
    number = record["number"]
    api = f"{repo_api}/issues/{number}"
    total, completed = sub_issues
    blocked_by, blocking = dependencies
    shape: dict[str, Any] = {
        "id": record["id"],
        "node_id": record["node_id"],
        "url": api,
        "repository_url": repo_api,
        "labels_url": f"{api}/labels{{/name}}",
        "comments_url": f"{api}/comments",
        "events_url": f"{api}/events",
        "timeline_url": f"{api}/timeline",
        "html_url": f"{html}/issues/{number}",
        "number": number,
        "state": record["state"],
        "title": record["title"],
        "body": record.get("body"),
        "user": author,
        "labels": labels,
        "assignee": assignees[0] if assignees else None,
        "assignees": assignees,
        "milestone": milestone_shape,
        "locked": False,
        "active_lock_reason": None,
        "comments": record.get("comments", 0),
        "closed_at": record.get("closed_at"),
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
        "author_association": "OWNER",
        "sub_issues_summary": {
            "total": total,
            "completed": completed,
            "percent_completed": int(100 * completed / total) if total else 0,
        },
        "issue_dependencies_summary": {
            "blocked_by": blocked_by,
            "blocking": blocking,
            "total_blocked_by": blocked_by,
            "total_blocking": blocking,
        },
    }
    if record.get("state_reason"):  # nullable enum without null: absent rather than null
        shape["state_reason"] = record["state_reason"]
    if record.get("parent_url"):
        shape["parent_issue_url"] = record["parent_url"]
    if record.get("is_pull"):
        shape["pull_request"] = {
            "url": f"{repo_api}/pulls/{number}",
            "html_url": f"{html}/pull/{number}",
            "diff_url": f"{html}/pull/{number}.diff",
            "patch_url": f"{html}/pull/{number}.patch",
            "merged_at": record.get("merged_at"),
        }
    return shape


def comment(
    repo_api: str, html: str, record: dict[str, Any], author: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": record["id"],
        "node_id": record["node_id"],
        "url": f"{repo_api}/issues/comments/{record['id']}",
        "html_url": f"{html}/issues/{record['issue']}#issuecomment-{record['id']}",
        "issue_url": f"{repo_api}/issues/{record['issue']}",
        "body": record["body"],
        "user": author,
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
        "author_association": "OWNER",
    }


def check_run(repo_api: str, html: str, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record["id"],
        "node_id": record["node_id"],
        "head_sha": record["head_sha"],
        "external_id": record.get("external_id") or "",
        "url": f"{repo_api}/check-runs/{record['id']}",
        "html_url": f"{html}/runs/{record['id']}",
        "details_url": record.get("details_url"),
        "status": record["status"],
        "conclusion": record.get("conclusion"),
        "started_at": record.get("started_at"),
        "completed_at": record.get("completed_at"),
        "output": {
            "title": record.get("title"),
            "summary": record.get("summary"),
            "text": None,
            "annotations_count": 0,
            "annotations_url": f"{repo_api}/check-runs/{record['id']}/annotations",
        },
        "name": record["name"],
        "check_suite": {"id": record["suite_id"]},
        "app": None,
        "pull_requests": [],
    }


def pull_request(
    repo_api: str,
    html: str,
    record: dict[str, Any],
    *,
    author: dict[str, Any],
    repo_shape: dict[str, Any],
    labels: list[dict[str, Any]],
) -> dict[str, Any]:
    number = record["number"]
    api = f"{repo_api}/pulls/{number}"
    issue_api = f"{repo_api}/issues/{number}"

    def ref(name: str, sha: str) -> dict[str, Any]:
        return {
            "label": f"{repo_shape['owner']['login']}:{name}",
            "ref": name,
            "sha": sha,
            "user": author,
            "repo": repo_shape,
        }

    links = {
        "self": api,
        "html": f"{html}/pull/{number}",
        "issue": issue_api,
        "comments": f"{issue_api}/comments",
        "review_comments": f"{api}/comments",
        "review_comment": f"{repo_api}/pulls/comments{{/number}}",
        "commits": f"{api}/commits",
        "statuses": f"{repo_api}/statuses/{record['head_sha']}",
    }
    merged = record.get("merged_at") is not None
    return {
        "url": api,
        "id": record["pr_id"],
        "node_id": record["pr_node_id"],
        "html_url": links["html"],
        "diff_url": f"{html}/pull/{number}.diff",
        "patch_url": f"{html}/pull/{number}.patch",
        "issue_url": issue_api,
        "commits_url": links["commits"],
        "review_comments_url": links["review_comments"],
        "review_comment_url": links["review_comment"],
        "comments_url": links["comments"],
        "statuses_url": links["statuses"],
        "number": number,
        "state": record["state"],
        "locked": False,
        "title": record["title"],
        "user": author,
        "body": record.get("body"),
        "labels": labels,
        "milestone": None,
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
        "closed_at": record.get("closed_at"),
        "merged_at": record.get("merged_at"),
        "merge_commit_sha": record.get("merge_commit_sha"),
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": ref(record["head_ref"], record["head_sha"]),
        "base": ref("main", record["base_sha"]),
        "_links": {name: {"href": href} for name, href in links.items()},
        "author_association": "OWNER",
        "auto_merge": None,
        "draft": False,
        "merged": merged,
        "mergeable": not merged,
        "mergeable_state": "clean",
        "merged_by": author if merged else None,
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": 1,
        "additions": record.get("additions", 1),
        "deletions": record.get("deletions", 0),
        "changed_files": record.get("changed_files", 1),
    }


def review(
    repo_api: str, html: str, record: dict[str, Any], author: dict[str, Any]
) -> dict[str, Any]:
    number = record["pull"]
    return {
        "id": record["id"],
        "node_id": record["node_id"],
        "user": author,
        "body": record.get("body") or "",
        "state": record["state"],
        "commit_id": record["commit_id"],
        "html_url": f"{html}/pull/{number}#pullrequestreview-{record['id']}",
        "pull_request_url": f"{repo_api}/pulls/{number}",
        "_links": {
            "html": {"href": f"{html}/pull/{number}#pullrequestreview-{record['id']}"},
            "pull_request": {"href": f"{repo_api}/pulls/{number}"},
        },
        "submitted_at": record["submitted_at"],
        "author_association": "OWNER",
    }


def rate_limit(resources: dict[str, dict[str, int]]) -> dict[str, Any]:
    return {"resources": resources, "rate": resources["core"]}


def issue_event(
    repo_api: str, record: dict[str, Any], actor: dict[str, Any], issue: dict[str, Any] | None
) -> dict[str, Any]:
    """An issue event (``issue-event``; with ``issue`` for the repository-wide list)."""
    shape: dict[str, Any] = {
        "id": record["id"],
        "node_id": record["node_id"],
        "url": f"{repo_api}/issues/events/{record['id']}",
        "actor": actor,
        "event": record["event"],
        "commit_id": None,
        "commit_url": None,
        "created_at": record["created_at"],
        "performed_via_github_app": None,
    }
    for key in ("rename", "milestone", "label", "assignee", "assigner"):
        if key in record:
            shape[key] = record[key]
    if issue is not None:
        shape["issue"] = issue
    return shape
