"""Jira reads and writes of webhook-triggered validation, on top of the Jira adapter.

``JiraLiveAdapter`` adds to ``JiraAdapter`` what reporting on a live issue needs: one issue's
current state, its sub-tasks, comments (list, add, edit in place), labels, a transition back
out of a done status or to a named status, and a move out of a sprint to the backlog. Same
session, counting, pacing and error translation; the project discovery is done once per
adapter and reused.
"""

from __future__ import annotations

import json
from typing import Any

from backlog.errors import RemoteError
from sync.jira.adapter import SERVICE, JiraAdapter
from sync.jira.port import JiraIssue, JiraProjectConfig


class JiraLiveAdapter(JiraAdapter):
    """The Jira adapter plus comment, label and reopen calls."""

    _config: JiraProjectConfig | None = None

    def config(self) -> JiraProjectConfig:
        if self._config is None:
            self._config = self.discover()
        return self._config

    def issue(self, key: str) -> JiraIssue | None:
        """The issue as it is now (``None`` if it does not exist any more)."""
        found = self.search(self.config(), f'key = "{key}"')
        return found[0] if found else None

    def subtasks(self, key: str) -> list[JiraIssue]:
        return self.search(self.config(), f'parent = "{key}"')

    def comments(self, key: str) -> list[dict[str, Any]]:
        with self._errors(f"reading the comments of {key}", project=self.project_key):
            data = self._jira._get_json(f"issue/{key}/comment", params={"maxResults": 5000})
        return list(data.get("comments") or [])

    def add_comment(self, key: str, body: str) -> str:
        url = self._jira._get_url(f"issue/{key}/comment")
        with self._errors(f"commenting on {key}", project=self.project_key):
            response = self._jira._session.post(url, data=json.dumps({"body": body}))
        return str(response.json().get("id", ""))

    def update_comment(self, key: str, comment_id: str, body: str) -> None:
        url = self._jira._get_url(f"issue/{key}/comment/{comment_id}")
        with self._errors(f"editing comment {comment_id} of {key}", project=self.project_key):
            self._jira._session.put(url, data=json.dumps({"body": body}))

    def set_labels(self, key: str, labels: list[str]) -> None:
        url = self._jira._get_url(f"issue/{key}")
        body = {"fields": {"labels": labels}}
        with self._errors(f"setting the labels of {key}", project=self.project_key):
            self._jira._session.put(url, data=json.dumps(body))

    def reopen_issue(self, key: str) -> str:
        """Move a done issue back to an open status; returns the status name."""
        with self._errors(f"reopening {key}", project=self.project_key):
            transitions = self._jira.transitions(key)
            ranked = sorted(
                (t for t in transitions if _category(t) != "done"),
                key=lambda t: 0 if _category(t) == "indeterminate" else 1,
            )
            if not ranked:
                raise RemoteError(
                    f"{key} has no transition out of its done status", service=SERVICE
                )
            body = {"transition": {"id": str(ranked[0]["id"])}}
            url = self._jira._get_url(f"issue/{key}/transitions")
            self._jira._session.post(url, data=json.dumps(body))
        return str((ranked[0].get("to") or {}).get("name") or ranked[0].get("name") or "")

    def transition_to(self, key: str, status: str) -> bool:
        """Move ``key`` to the status named ``status``; ``False`` if no transition leads there."""
        with self._errors(f"moving {key} back to {status}", project=self.project_key):
            transitions = self._jira.transitions(key)
            found = next(
                (
                    t for t in transitions
                    if str((t.get("to") or {}).get("name") or t.get("name") or "").casefold()
                    == status.casefold()
                ),
                None,
            )  # fmt: skip
            if found is None:
                return False
            body = {"transition": {"id": str(found["id"])}}
            url = self._jira._get_url(f"issue/{key}/transitions")
            self._jira._session.post(url, data=json.dumps(body))
        return True

    def move_to_backlog(self, key: str) -> None:
        """Take ``key`` out of its sprint (Agile API ``POST /backlog/issue``)."""
        with self._errors(f"moving {key} to the backlog", project=self.project_key):
            self._jira.move_to_backlog([key])


def _category(transition: dict[str, Any]) -> str:
    return str(((transition.get("to") or {}).get("statusCategory") or {}).get("key") or "")
