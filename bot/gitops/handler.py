"""The GitOps webhook handler: a tracker change, or a push of the backlog to the default
branch, runs ``GitOps.run`` under the repository's lock."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from bot.gitops.debounce import Debouncer
from bot.gitops.run import GitOps
from bot.service.inbox import Delivery
from sync.state.inbox import IGNORED

log = logging.getLogger(__name__)

# GitHub events that may carry a tracker-side change of a linked story (``sub_issues``: a
# story made a sub-issue of a linked epic's issue, a new story for the file)
GITHUB_EVENTS = ("issues", "sub_issues", "projects_v2_item")
JIRA_EVENTS = ("jira:issue_updated", "jira:issue_created")


def gitops_key(repository: str) -> str:
    """The lock (and due row) of the repository's GitOps runs."""
    return f"gitops:{repository.lower()}"


class GitOpsHandler:
    """The webhook handler: a tracker change (or a push of the backlog to the default branch)
    runs ``GitOps.run`` under the ``gitops:<repository>`` lock; a delivery that finds the lock
    taken is deferred and runs again a moment later, on the fresh state. With a ``debounce``
    (``[sync] gitops-debounce-seconds`` above zero) the delivery only marks the run as due:
    the burst it belongs to makes one run once it is quiet (``bot.gitops.debounce``)."""

    def __init__(
        self,
        gitops: GitOps,
        *,
        repository: str,
        hold: Callable[[str], AbstractContextManager[None]],
        bot_logins: tuple[str, ...] = (),
        debounce: Debouncer | None = None,
    ) -> None:
        self.gitops = gitops
        self.repository = repository
        self.hold = hold
        self.bot_logins = {login.casefold() for login in bot_logins}
        self.debounce = debounce

    def __call__(self, delivery: Delivery) -> str | None:
        payload = delivery.payload
        if delivery.source == "github":
            sender = str((payload.get("sender") or {}).get("login") or "").casefold()
            if sender and sender in self.bot_logins:
                return IGNORED  # the bot's own writes: nothing changed on the tracker's side
            full_name = str((payload.get("repository") or {}).get("full_name") or "")
            if full_name and full_name.lower() != self.repository.lower():
                return IGNORED
            if delivery.event == "push" and not self._pushes_backlog(payload):
                return IGNORED
        if self.debounce is not None:
            when = self.debounce.mark(delivery.received_at)
            due = when.isoformat() if when is not None else "read by the run under way"
            log.info("gitops run due", extra={"event": delivery.event, "due": due})
            return None
        with self.hold(gitops_key(self.repository)):
            outcome = self.gitops.run()
        log.info("gitops run", extra={"event": delivery.event, "outcome": outcome.line()})
        return None

    def _pushes_backlog(self, payload: dict[str, Any]) -> bool:
        default = (payload.get("repository") or {}).get("default_branch") or "main"
        if payload.get("ref") != f"refs/heads/{default}":
            return False
        path = self.gitops.config.path
        return any(
            path in (commit.get(key) or ())
            for commit in payload.get("commits") or []
            for key in ("added", "modified", "removed")
        )
