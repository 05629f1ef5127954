"""Webhook deliveries from the sandbox GitHub, signed as GitHub signs them.

Each event is POSTed to the configured URL with ``X-GitHub-Event``, ``X-GitHub-Delivery`` (a
UUID), ``X-GitHub-Hook-ID`` and ``X-Hub-Signature-256: sha256=HMAC-SHA256(secret, raw body)``.
Payloads follow ``@octokit/webhooks-examples``: the event's own object plus ``repository`` and
``sender``. Deliveries run on a background thread so API answers are never delayed; every
attempt is recorded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
import uuid
from dataclasses import dataclass
from typing import Any

import httpx


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Delivery:
    event: str
    delivery_id: str
    action: str | None
    status: int | None
    error: str | None = None


class WebhookSender:
    """Queues events and delivers them, in order, to one URL."""

    def __init__(self, repository: Any, sender: Any) -> None:
        self._repository = repository
        self._sender = sender
        self.url: str | None = None
        self.secret = ""
        self.hook_id = 424242
        self.deliveries: list[Delivery] = []
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def configure(self, url: str | None, secret: str = "") -> None:
        self.url = url
        self.secret = secret

    def __call__(self, event: str, payload: dict[str, Any]) -> None:
        """The state's event sink: queue the event if a URL is configured."""
        if not self.url:
            return
        body = dict(payload)
        if event != "projects_v2_item":
            body.setdefault("repository", self._repository())
        body.setdefault("sender", self._sender())
        self._ensure_thread()
        self._queue.put((event, body))

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sandbox-webhooks")
                self._thread.daemon = True
                self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=10.0) as client:
            while True:
                item = self._queue.get()
                if item is None:
                    self._queue.task_done()
                    return
                try:
                    self._deliver(client, *item)
                finally:
                    self._queue.task_done()

    def _deliver(self, client: httpx.Client, event: str, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode()
        delivery_id = str(uuid.uuid4())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/sandbox",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery_id,
            "X-GitHub-Hook-ID": str(self.hook_id),
            "X-Hub-Signature-256": signature(self.secret, raw),
        }
        record = Delivery(event, delivery_id, payload.get("action"), None)
        try:
            response = client.post(str(self.url), content=raw, headers=headers)
            record.status = response.status_code
        except httpx.HTTPError as exc:
            record.error = f"{type(exc).__name__}: {exc}"
        self.deliveries.append(record)

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every queued event was delivered (or failed)."""
        done = threading.Event()

        def waiter() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=waiter, daemon=True).start()
        done.wait(timeout)

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=5)
