"""Structured logs: JSON lines with correlation ids, and secrets never written (canaries)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.service.app import create_app
from bot.service.inbox import Delivery
from bot.service.logging import REDACTED, Redactor, configure_logging, correlation_scope
from bot.service.worker import HandlerRegistry
from bot.settings import load_settings
from bot.wiring.container import service_parts
from sandbox.runner import serve
from sync.state import db
from tests.service_support import LiveApp, github_delivery, wait_until

CANARIES = {
    "github_token": "ghp_CANARYgithubTOKEN0000000000000000001",
    "jira_api_token": "CANARY-jira-api-token-8d1f",
    "slack_bot_token": "xoxb-CANARY-slack-bot-token",
    "slack_signing_secret": "CANARY-slack-signing-secret-77",
    "github_webhook_secret": "CANARY-gh-webhook-secret-42",
    "jira_webhook_secret": "CANARY-jira-webhook-secret-43",
}
HEADER_CANARY = "CANARYheaderBearerValue123456789"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield stream
    finally:
        for added in set(root.handlers) - set(handlers):
            root.removeHandler(added)
        root.setLevel(level)


def fake_remote() -> Starlette:
    """Jira and GitHub answering the readiness calls, GitHub refusing the token."""

    async def server_info(request: Request) -> JSONResponse:
        return JSONResponse({"baseUrl": "x", "version": "1001.0.0"})

    async def rate_limit(request: Request) -> JSONResponse:
        auth = request.headers.get("authorization", "")
        return JSONResponse({"message": f"Bad credentials for {auth}"}, status_code=401)

    return Starlette(
        routes=[Route("/rest/api/2/serverInfo", server_info), Route("/rate_limit", rate_limit)]
    )


def test_canary_secrets_never_reach_the_logs(tmp_path: Path, log_stream: io.StringIO) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db.upgrade(url)
    with serve(fake_remote()) as remote:
        settings = load_settings(
            database_url=url,
            jira_url=remote.url,
            jira_email="bot@example.com",
            github_api_url=remote.url,
            github_repository="acme/bss",
            **CANARIES,
            webhook_max_attempts=1,
            log_level="DEBUG",
        )
        configure_logging(settings, stream=log_stream)
        registry = HandlerRegistry()

        def leaky(delivery: Delivery) -> None:
            token = settings.github_token.get_secret_value()  # type: ignore[union-attr]
            logging.getLogger("tests.leaky").info("calling GitHub with token %s", token)
            raise RuntimeError(f"GitHub said 401 to Authorization: token {token}")

        registry.add("github", "issues", leaky)
        app = create_app(service_parts(settings, registry=registry))
        with LiveApp(app) as live:
            payload = {"action": "opened", "note": CANARIES["jira_api_token"]}
            body, headers = github_delivery(
                payload, "issues", secret=CANARIES["github_webhook_secret"]
            )
            headers["Authorization"] = f"Bearer {HEADER_CANARY}"
            headers["X-Request-Id"] = "req-canary-test"
            response = httpx.post(live.url + "/webhooks/github", content=body, headers=headers)
            assert response.status_code == 202
            assert response.headers["x-request-id"] == "req-canary-test"
            inbox = app.state.service.inbox
            wait_until(lambda: inbox.counts()["parked"] == 1, what="parked")
            # A forged delivery whose body carries the secret, and an unsigned one.
            forged, fheaders = github_delivery(
                {"secret": CANARIES["github_webhook_secret"]}, "issues", secret="wrong"
            )
            assert (
                httpx.post(
                    live.url + "/webhooks/github", content=forged, headers=fheaders
                ).status_code
                == 401
            )
            ready = httpx.get(live.url + "/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["jira"] == "ok"
            assert "401" in ready.json()["checks"]["github"]
            parked = inbox.list(status="parked")[0]
    logs = log_stream.getvalue()
    assert logs, "nothing was logged"
    for canary in (*CANARIES.values(), HEADER_CANARY):
        assert canary not in logs
        assert canary not in json.dumps(ready.json())
    assert CANARIES["github_token"] not in parked["last_error"]
    assert REDACTED in parked["last_error"]
    records = [json.loads(line) for line in logs.splitlines()]
    assert {"ts", "level", "logger", "msg"} <= set(records[0])
    by_message = {r["msg"]: r for r in records}
    assert by_message["webhook received"]["correlation_id"] == "req-canary-test"
    delivery = headers["X-GitHub-Delivery"]
    assert by_message["delivery failed"]["correlation_id"] == f"github-{delivery}"
    leaked = next(r for r in records if r["logger"] == "tests.leaky")
    assert leaked["msg"] == f"calling GitHub with token {REDACTED}"


def test_redactor_patterns_and_correlation_scope() -> None:
    redact = Redactor(["s3cr3t-value"])
    text = (
        "s3cr3t-value Authorization: Bearer abcdefghijkl token ghp_0123456789abcdefABCDEF "
        "xoxb-1234-5678-abcdef sha256=" + "ab" * 32 + " postgresql://u:pw@db/x password=hunter2"
    )
    out = redact(text)
    for secret in (
        "s3cr3t-value",
        "abcdefghijkl",
        "ghp_0123",
        "xoxb-1234",
        "ab" * 32,
        ":pw@",
        "hunter2",
    ):
        assert secret not in out, secret
    assert "password=[REDACTED]" in out and "postgresql://u:[REDACTED]@db/x" in out
    with correlation_scope(prefix="job") as cid:
        assert cid.startswith("job-")
