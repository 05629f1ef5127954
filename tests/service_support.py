"""Helpers for the service tests: serve an app (with its lifespan) and sign deliveries."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import uvicorn

from bot.service.webhooks import sign
from sandbox.runner import LOOPBACK, free_port

T = TypeVar("T")

GITHUB_SECRET = "gh-webhook-secret-for-tests"
JIRA_SECRET = "jira-webhook-secret-for-tests"


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on a thread of its own: the main thread may already run an event loop
    (Playwright's sync API keeps one for the whole session), whatever order the tests run in."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class LiveApp:
    """Our ASGI app under uvicorn in a thread, lifespan on (so the worker runs)."""

    def __init__(self, app: Any, **config: Any) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        config = uvicorn.Config(
            app,
            host=LOOPBACK,
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="on",
            **config,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveApp:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("service did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def github_delivery(
    payload: dict[str, Any] | bytes,
    event: str,
    *,
    secret: str = GITHUB_SECRET,
    delivery_id: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """Body and headers exactly as GitHub sends them."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/abc123",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "123456",
        "X-Hub-Signature-256": sign(secret, body),
    }
    return body, headers


def jira_delivery(
    payload: dict[str, Any] | bytes,
    *,
    secret: str = JIRA_SECRET,
    delivery_id: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """Body and headers as Jira Cloud sends them for a webhook with a secret."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Atlassian-Webhook-Identifier": delivery_id or str(uuid.uuid4().int)[:18],
        "X-Hub-Signature": sign(secret, body),
    }
    return body, headers


def wait_until(predicate: Callable[[], Any], *, timeout: float = 10.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.02)
