"""Webhook deliveries of the Jira sandbox: ``jira:issue_created`` / ``jira:issue_updated``.

Payloads follow Atlassian's documented example (``webhook-examples/`` in the oracles): the
issue as the REST API returns it with no expand, the acting user, ``changelog.items`` for
updates, ``timestamp`` in milliseconds. Each delivery is signed like Jira Cloud's secret-
protected webhooks: ``X-Hub-Signature: sha256=<HMAC-SHA256 of the raw body>``, and carries a
unique ``X-Atlassian-Webhook-Identifier``. Deliveries run on a background thread in order;
``flush()`` waits for the queue to drain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Delivery:
    event: str
    identifier: str
    status: int | None
    error: str | None = None


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def changelog_items(
    before: dict[str, str | None], after: dict[str, str | None]
) -> list[dict[str, Any]]:
    """``changelog.items`` for the fields whose display value changed."""
    items = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old != new:
            items.append(
                {
                    "field": name,
                    "fieldtype": "custom" if name.startswith("customfield_") else "jira",
                    "from": None,
                    "fromString": old,
                    "to": None,
                    "toString": new,
                }
            )
    return items


class WebhookEmitter:
    def __init__(self, url: str | None = None, secret: str | None = None) -> None:
        self.url = url
        self.secret = secret
        self.deliveries: list[Delivery] = []
        self._queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._changelog_id = 10000

    def configure(self, url: str | None, secret: str | None) -> None:
        self.url, self.secret = url, secret

    def emit(
        self,
        event: str,
        issue: dict[str, Any],
        user: dict[str, Any],
        changes: list[dict[str, Any]] | None = None,
    ) -> None:
        if not self.url:
            return
        payload: dict[str, Any] = {
            "timestamp": int(time.time() * 1000),
            "webhookEvent": event,
            "issue_event_type_name": "issue_created"
            if event.endswith("created")
            else "issue_generic",
            "user": user,
            "issue": issue,
        }
        if changes is not None:
            self._changelog_id += 1
            payload["changelog"] = {"id": self._changelog_id, "items": changes}
        self._ensure_thread()
        self._queue.put((event, json.dumps(payload).encode("utf-8")))

    def flush(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)
            self._thread = None

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="jira-sandbox-webhooks")
            self._thread.daemon = True
            self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            while True:
                item = self._queue.get()
                if item is None:
                    self._queue.task_done()
                    return
                event, body = item
                identifier = str(uuid.uuid4())
                headers = {
                    "Content-Type": "application/json",
                    "X-Atlassian-Webhook-Identifier": identifier,
                    "User-Agent": "Atlassian Webhook HTTP Client",
                }
                if self.secret:
                    headers["X-Hub-Signature"] = sign(self.secret, body)
                try:
                    response = client.post(self.url or "", content=body, headers=headers)
                    self.deliveries.append(Delivery(event, identifier, response.status_code))
                except httpx.HTTPError as exc:
                    self.deliveries.append(Delivery(event, identifier, None, str(exc)))
                finally:
                    self._queue.task_done()
