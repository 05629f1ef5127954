"""The sandbox GitHub's state: one repository with issues, labels, milestones, comments,
sub-issues, issue dependencies, pull requests, reviews and check runs (Projects v2 live in
``projects.py``). Thread-safe; the REST and GraphQL layers and the control class share it.

Records are plain dicts; ``shapes`` renders them as GitHub's JSON.
"""

from __future__ import annotations

import contextvars
import itertools
import threading
from collections.abc import Callable
from typing import Any

from sandbox.github import shapes

EventSink = Callable[[str, dict[str, Any]], None]
# the login a request authenticated as (None: the token of the sandbox's own account)
ACTING_LOGIN: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "github_sandbox_acting_login", default=None
)


class SandboxError(Exception):
    """A request the real GitHub would refuse: ``status`` and GitHub's message."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


class RepoState:
    """One repository's issues and everything hanging off them."""

    def __init__(self, owner: str, name: str, *, base_url: str = "") -> None:
        self.lock = threading.RLock()
        self.base_url = base_url
        self.owner = owner
        self.name = name
        self._ids = itertools.count(1001)
        self.users: dict[str, int] = {}
        self.owner_user = self.ensure_user(owner)
        self.repo: dict[str, Any] = {
            "id": next(self._ids),
            "name": name,
            "full_name": f"{owner}/{name}",
            "created_at": shapes.now_iso(),
        }
        self.repo["node_id"] = shapes.node_id("R", self.repo["id"])
        self.issues: dict[int, dict[str, Any]] = {}
        self.labels: dict[str, dict[str, Any]] = {}
        self.milestones: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, dict[str, Any]] = {}
        self.sub_issues: dict[int, list[int]] = {}
        self.blocked_by: dict[int, list[int]] = {}
        self.reviews: dict[int, list[dict[str, Any]]] = {}
        self.check_runs: dict[int, dict[str, Any]] = {}
        self.events: list[EventSink] = []
        self.issue_events: list[dict[str, Any]] = []  # renamed, milestoned ..., oldest first

    # --- helpers -----------------------------------------------------------------------------

    def next_id(self) -> int:
        return next(self._ids)

    def acting(self) -> str:
        """Who sends the request being served: a teammate's login, else the owner's."""
        return ACTING_LOGIN.get() or self.owner

    def record_event(self, number: int, event: str, **details: Any) -> None:
        """An issue event (``GET .../issues/events``) by the acting user, now."""
        with self.lock:
            event_id = self.next_id()
            self.issue_events.append(
                {
                    "id": event_id,
                    "node_id": shapes.node_id("E", event_id),
                    "number": number,
                    "actor": self.acting(),
                    "event": event,
                    "created_at": shapes.now_iso(),
                    **details,
                }
            )

    def ensure_user(self, login: str) -> int:
        with self.lock:
            if login not in self.users:
                self.users[login] = 5000 + len(self.users)
            return self.users[login]

    @property
    def api(self) -> str:
        return f"{self.base_url}/repos/{self.owner}/{self.name}"

    @property
    def html(self) -> str:
        return f"{self.base_url}/{self.owner}/{self.name}"

    def user_shape(self, login: str) -> dict[str, Any]:
        return shapes.user(self.base_url, login, self.ensure_user(login))

    def emit(self, event: str, payload: dict[str, Any]) -> None:
        for sink in list(self.events):
            sink(event, payload)

    def repo_shape(self) -> dict[str, Any]:
        with self.lock:
            record = dict(self.repo)
            record["open_issues"] = sum(1 for i in self.issues.values() if i["state"] == "open")
            return shapes.repository(self.base_url, record, self.user_shape(self.owner))

    def issue(self, number: int) -> dict[str, Any]:
        record = self.issues.get(number)
        if record is None:
            raise SandboxError(404, "Not Found")
        return record

    def issue_by_id(self, issue_id: int) -> dict[str, Any]:
        for record in self.issues.values():
            if record["id"] == issue_id:
                return record
        raise SandboxError(404, "Not Found")

    def issue_shape(self, number: int) -> dict[str, Any]:
        with self.lock:
            record = self.issue(number)
            children = self.sub_issues.get(number, [])
            done = sum(1 for c in children if self.issues[c]["state"] == "closed")
            blocking = sum(1 for blockers in self.blocked_by.values() if number in blockers)
            milestone = self.milestones.get(record["milestone"]) if record["milestone"] else None
            return shapes.issue(
                self.api,
                self.html,
                record,
                author=self.user_shape(record["user"]),
                assignees=[self.user_shape(login) for login in record["assignees"]],
                labels=[self.label_shape(name) for name in record["labels"]],
                milestone_shape=self.milestone_shape(milestone) if milestone else None,
                sub_issues=(len(children), done),
                dependencies=(len(self.blocked_by.get(number, [])), blocking),
            )

    def label_shape(self, name: str) -> dict[str, Any]:
        return shapes.label(self.api, self.labels[name])

    def milestone_shape(self, record: dict[str, Any]) -> dict[str, Any]:
        issues = [i for i in self.issues.values() if i["milestone"] == record["number"]]
        record = dict(record)
        record["open_issues"] = sum(1 for i in issues if i["state"] == "open")
        record["closed_issues"] = len(issues) - record["open_issues"]
        return shapes.milestone(self.api, self.html, record, self.user_shape(self.owner))

    # --- labels and milestones ----------------------------------------------------------------

    def create_label(self, name: str, color: str, description: str | None) -> dict[str, Any]:
        with self.lock:
            if name in self.labels:
                raise SandboxError(422, "Validation Failed")
            label_id = self.next_id()
            self.labels[name] = {
                "id": label_id,
                "node_id": shapes.node_id("LA", label_id),
                "name": name,
                "color": color.lstrip("#"),
                "description": description,
            }
            return self.label_shape(name)

    def update_label(self, name: str, changes: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if name not in self.labels:
                raise SandboxError(404, "Not Found")
            record = self.labels[name]
            for key in ("color", "description"):
                if key in changes:
                    record[key] = changes[key]
            new_name = changes.get("new_name")
            if new_name and new_name != name:
                self.labels[new_name] = {**self.labels.pop(name), "name": new_name}
                for issue in self.issues.values():
                    issue["labels"] = [new_name if n == name else n for n in issue["labels"]]
                name = new_name
            return self.label_shape(name)

    def _relabel(
        self, number: int, record: dict[str, Any], names: list[str]
    ) -> list[dict[str, Any]]:
        """The issue's labels set to ``names``, with a ``labeled`` / ``unlabeled`` issue event
        per label added or taken away, as GitHub records them; returns the ``issues``
        webhooks' parts to send once the lock is released."""
        hooks = []
        for name in names:
            if name not in record["labels"]:
                self.record_event(number, "labeled", label=self._event_label(name))
                hooks.append({"action": "labeled", "label": self.label_shape(name)})
        for name in record["labels"]:
            if name not in names:
                self.record_event(number, "unlabeled", label=self._event_label(name))
                hooks.append({"action": "unlabeled", "label": self.label_shape(name)})
        record["labels"] = names
        return hooks

    def _reassign(
        self, number: int, record: dict[str, Any], logins: list[str]
    ) -> list[dict[str, Any]]:
        """The issue's assignees set to ``logins``, with an ``assigned`` / ``unassigned``
        issue event per assignee added or taken away, as GitHub records them; returns the
        ``issues`` webhooks' parts to send once the lock is released."""
        hooks = []
        for login in logins:
            self.ensure_user(login)
            if login not in record["assignees"]:
                self.record_event(number, "assigned", assignee=login)
                hooks.append({"action": "assigned", "assignee": self.user_shape(login)})
        for login in record["assignees"]:
            if login not in logins:
                self.record_event(number, "unassigned", assignee=login)
                hooks.append({"action": "unassigned", "assignee": self.user_shape(login)})
        record["assignees"] = logins
        return hooks

    def _event_label(self, name: str) -> dict[str, Any]:
        return {"name": name, "color": (self.labels.get(name) or {}).get("color", "ededed")}

    def ensure_labels(self, names: list[str]) -> list[str]:
        """Issue create/edit with unknown label names creates them, as GitHub does."""
        for name in names:
            if name not in self.labels:
                self.create_label(name, "ededed", None)
        return list(dict.fromkeys(names))

    def create_milestone(self, fields: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            title = fields.get("title")
            if not title or any(m["title"] == title for m in self.milestones.values()):
                raise SandboxError(422, "Validation Failed")
            number = max(self.milestones, default=0) + 1
            milestone_id = self.next_id()
            now = shapes.now_iso()
            self.milestones[number] = {
                "id": milestone_id,
                "node_id": shapes.node_id("MI", milestone_id),
                "number": number,
                "title": title,
                "state": fields.get("state", "open"),
                "description": fields.get("description"),
                "due_on": fields.get("due_on"),
                "created_at": now,
                "updated_at": now,
                "closed_at": None,
            }
            return self.milestone_shape(self.milestones[number])

    def update_milestone(self, number: int, fields: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            record = self.milestones.get(number)
            if record is None:
                raise SandboxError(404, "Not Found")
            for key in ("title", "state", "description", "due_on"):
                if key in fields:
                    record[key] = fields[key]
            record["updated_at"] = shapes.now_iso()
            return self.milestone_shape(record)

    # --- issues -------------------------------------------------------------------------------

    def create_issue(
        self, fields: dict[str, Any], *, author: str | None = None, is_pull: bool = False
    ) -> dict[str, Any]:
        with self.lock:
            if not fields.get("title"):
                raise SandboxError(422, "Validation Failed")
            milestone = fields.get("milestone")
            if milestone is not None and milestone not in self.milestones:
                raise SandboxError(422, "Validation Failed")
            number = max(self.issues, default=0) + 1
            issue_id = self.next_id()
            now = shapes.now_iso()
            assignees = list(fields.get("assignees") or [])
            if fields.get("assignee"):
                assignees.append(fields["assignee"])
            for login in assignees:
                self.ensure_user(login)
            self.issues[number] = {
                "id": issue_id,
                "node_id": shapes.node_id("PR" if is_pull else "I", issue_id),
                "number": number,
                "title": str(fields["title"]),
                "body": fields.get("body"),
                "state": "open",
                "state_reason": None,
                "labels": self.ensure_labels([str(n) for n in fields.get("labels") or []]),
                "assignees": list(dict.fromkeys(assignees)),
                "milestone": milestone,
                "user": author or self.owner,
                "created_at": now,
                "updated_at": now,
                "closed_at": None,
                "comments": 0,
                "is_pull": is_pull,
            }
            shape = self.issue_shape(number)
        if not is_pull:
            self.emit("issues", {"action": "opened", "issue": shape})
        return shape

    def update_issue(self, number: int, fields: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            record = self.issue(number)
            before = {key: record.get(key) for key in ("title", "body", "state")}
            milestone_before = record.get("milestone")
            hooks: list[dict[str, Any]] = []
            milestone = fields.get("milestone")
            if milestone is not None and milestone not in self.milestones:
                raise SandboxError(422, "Validation Failed")
            if "title" in fields and fields["title"] != record["title"]:
                rename = {"from": record["title"], "to": fields["title"]}
                self.record_event(number, "renamed", rename=rename)
            if "milestone" in fields and fields["milestone"] != milestone_before:
                for event, ms in (("demilestoned", milestone_before), ("milestoned", milestone)):
                    if ms is not None and ms in self.milestones:
                        title = self.milestones[ms]["title"]
                        self.record_event(number, event, milestone={"title": title})
            if "body" in fields and fields["body"] != record.get("body"):
                record["editor"] = self.acting()
                record["last_edited_at"] = shapes.now_iso()
            for key in ("title", "body", "milestone"):
                if key in fields:
                    record[key] = fields[key]
            if "labels" in fields:
                names = [n if isinstance(n, str) else n["name"] for n in fields["labels"] or []]
                hooks += self._relabel(number, record, self.ensure_labels(names))
            if "assignees" in fields:
                logins = list(dict.fromkeys(fields["assignees"] or []))
                hooks += self._reassign(number, record, logins)
            state = fields.get("state")
            if state in ("open", "closed") and state != record["state"]:
                record["state"] = state
                record["closed_at"] = shapes.now_iso() if state == "closed" else None
                record["state_reason"] = (
                    fields.get("state_reason") or "completed" if state == "closed" else "reopened"
                )
            record["updated_at"] = shapes.now_iso()
            shape = self.issue_shape(number)
        action = "edited"
        if before["state"] != record["state"]:
            action = "closed" if record["state"] == "closed" else "reopened"
        changes = {k: {"from": v} for k, v in before.items() if v != record.get(k) and k != "state"}
        if action != "edited" or changes:
            payload: dict[str, Any] = {"action": action, "issue": shape}
            if action == "edited":
                payload["changes"] = changes
            self.emit("issues", payload)
        self._emit_milestone_change(milestone_before, shape)
        for hook in hooks:  # labeled, assigned ...: one delivery each, as GitHub sends them
            self.emit("issues", {**hook, "issue": shape})
        return shape

    def _emit_milestone_change(self, before: int | None, shape: dict[str, Any]) -> None:
        """``issues`` ``demilestoned`` for the milestone taken away, ``milestoned`` for the new
        one (as GitHub sends them: the issue after the change plus the milestone concerned)."""
        after = (shape.get("milestone") or {}).get("number")
        if before == after:
            return
        for action, number in (("demilestoned", before), ("milestoned", after)):
            record = self.milestones.get(number) if number else None
            if record is not None:
                with self.lock:
                    milestone = self.milestone_shape(record)
                self.emit("issues", {"action": action, "issue": shape, "milestone": milestone})

    def list_issues(self, params: dict[str, str]) -> list[int]:
        with self.lock:
            state = params.get("state", "open")
            labels = [n for n in params.get("labels", "").split(",") if n]
            numbers = [
                n
                for n, record in self.issues.items()
                if (state == "all" or record["state"] == state)
                and all(name in record["labels"] for name in labels)
            ]
            key = params.get("sort", "created")
            field = "updated_at" if key == "updated" else "created_at"
            reverse = params.get("direction", "desc") == "desc"
            numbers.sort(key=lambda n: (self.issues[n][field], n), reverse=reverse)
            return numbers

    def set_assignees(self, number: int, add: list[str], remove: list[str]) -> dict[str, Any]:
        with self.lock:
            record = self.issue(number)
            current = [login for login in record["assignees"] if login not in remove]
            self._reassign(number, record, list(dict.fromkeys(current + add)))
            record["updated_at"] = shapes.now_iso()
            shape = self.issue_shape(number)
        action = "assigned" if add else "unassigned"
        who = next(iter(add or remove), None)
        self.emit(
            "issues",
            {"action": action, "issue": shape, "assignee": self.user_shape(who) if who else None},
        )
        return shape

    def add_labels(self, number: int, names: list[str], *, replace: bool) -> list[dict[str, Any]]:
        with self.lock:
            record = self.issue(number)
            names = self.ensure_labels(names)
            new = names if replace else list(dict.fromkeys(record["labels"] + names))
            hooks = self._relabel(number, record, new)
            record["updated_at"] = shapes.now_iso()
            labels = [self.label_shape(name) for name in record["labels"]]
            shape = self.issue_shape(number)
        for hook in hooks:
            self.emit("issues", {**hook, "issue": shape})
        return labels

    # --- sub-issues and dependencies ------------------------------------------------------------

    def add_sub_issue(self, parent: int, child_id: int, *, replace_parent: bool) -> dict[str, Any]:
        with self.lock:
            self.issue(parent)
            child = self.issue_by_id(child_id)
            current = next((p for p, kids in self.sub_issues.items() if child["number"] in kids), 0)
            if current == parent or child["number"] == parent:
                raise SandboxError(422, "Validation Failed")
            if current:
                if not replace_parent:
                    raise SandboxError(422, "Validation Failed")
                self.sub_issues[current].remove(child["number"])
            self.sub_issues.setdefault(parent, []).append(child["number"])
            child["parent_url"] = f"{self.api}/issues/{parent}"
            shape = self.issue_shape(parent)
        self._emit_sub_issue("sub_issue_added", parent, child["number"])
        return shape

    def remove_sub_issue(self, parent: int, child_id: int) -> dict[str, Any]:
        with self.lock:
            child = self.issue_by_id(child_id)
            kids = self.sub_issues.get(parent, [])
            if child["number"] not in kids:
                raise SandboxError(404, "Not Found")
            kids.remove(child["number"])
            child.pop("parent_url", None)
            shape = self.issue_shape(child["number"])
        self._emit_sub_issue("sub_issue_removed", parent, child["number"])
        return shape

    def _emit_sub_issue(self, action: str, parent: int, child: int) -> None:
        """GitHub's ``sub_issues`` event, as the parent's repository receives it."""
        with self.lock:
            payload = {
                "action": action,
                "parent_issue_id": self.issue(parent)["id"],
                "parent_issue": self.issue_shape(parent),
                "sub_issue_id": self.issue(child)["id"],
                "sub_issue": self.issue_shape(child),
            }
        self.emit("sub_issues", payload)

    def add_blocked_by(self, number: int, blocker_id: int) -> dict[str, Any]:
        with self.lock:
            self.issue(number)
            blocker = self.issue_by_id(blocker_id)
            blockers = self.blocked_by.setdefault(number, [])
            if blocker["number"] == number or blocker["number"] in blockers:
                raise SandboxError(422, "Validation Failed")
            blockers.append(blocker["number"])
            return self.issue_shape(number)

    def remove_blocked_by(self, number: int, blocker_id: int) -> dict[str, Any]:
        with self.lock:
            blocker = self.issue_by_id(blocker_id)
            blockers = self.blocked_by.get(number, [])
            if blocker["number"] not in blockers:
                raise SandboxError(404, "Not Found")
            blockers.remove(blocker["number"])
            return self.issue_shape(blocker["number"])

    # --- comments ----------------------------------------------------------------------------

    def create_comment(self, number: int, body: str, author: str | None = None) -> dict[str, Any]:
        with self.lock:
            issue = self.issue(number)
            comment_id = self.next_id()
            now = shapes.now_iso()
            self.comments[comment_id] = {
                "id": comment_id,
                "node_id": shapes.node_id("IC", comment_id),
                "issue": number,
                "body": body,
                "user": author or self.owner,
                "created_at": now,
                "updated_at": now,
            }
            issue["comments"] = issue.get("comments", 0) + 1
            shape = self.comment_shape(comment_id)
            issue_shape = self.issue_shape(number)
        self.emit("issue_comment", {"action": "created", "issue": issue_shape, "comment": shape})
        return shape

    def update_comment(self, comment_id: int, body: str) -> dict[str, Any]:
        with self.lock:
            record = self.comments.get(comment_id)
            if record is None:
                raise SandboxError(404, "Not Found")
            before = record["body"]
            record["body"] = body
            record["updated_at"] = shapes.now_iso()
            shape = self.comment_shape(comment_id)
            issue_shape = self.issue_shape(record["issue"])
        payload = {"action": "edited", "issue": issue_shape, "comment": shape}
        self.emit("issue_comment", {**payload, "changes": {"body": {"from": before}}})
        return shape

    def comment_shape(self, comment_id: int) -> dict[str, Any]:
        record = self.comments[comment_id]
        return shapes.comment(self.api, self.html, record, self.user_shape(record["user"]))
