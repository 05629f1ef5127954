"""Webhook authenticity, size cap and parsing, over real HTTP against a served app."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.service.app import create_app
from bot.service.inbox import Inbox
from bot.service.worker import HandlerRegistry
from bot.settings import load_settings
from bot.wiring.container import service_parts
from sync.state import db
from tests.service_support import (
    GITHUB_SECRET,
    JIRA_SECRET,
    LiveApp,
    github_delivery,
    jira_delivery,
    wait_until,
)

CAP = 4096
ISSUE = {"action": "opened", "issue": {"number": 7, "title": "x"}, "repository": {"id": 1}}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Inbox, list[str]]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('auth') / 'bot.db'}"
    db.upgrade(url)
    settings = load_settings(
        database_url=url,
        github_webhook_secret=GITHUB_SECRET,
        jira_webhook_secret=JIRA_SECRET,
        webhook_max_body_bytes=CAP,
    )
    registry = HandlerRegistry()
    seen: list[str] = []
    registry.add("github", "issues", lambda d: seen.append(d.delivery_id))
    registry.add("jira", None, lambda d: seen.append(d.delivery_id))
    app = create_app(service_parts(settings, registry=registry))
    with LiveApp(app) as live:
        yield live.url, app.state.service.inbox, seen


def post(url: str, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(url + path, content=body, headers=headers, timeout=10)


def test_signed_delivery_is_accepted_stored_and_processed(service) -> None:  # type: ignore[no-untyped-def]
    url, inbox, seen = service
    body, headers = github_delivery(ISSUE, "issues")
    response = post(url, "/webhooks/github", body, headers)
    assert response.status_code == 202
    assert response.json() == {"status": "queued", "delivery_id": headers["X-GitHub-Delivery"]}
    wait_until(lambda: headers["X-GitHub-Delivery"] in seen, what="processing")
    row = inbox.list(limit=1)[0]
    assert (row["source"], row["event"], row["action"]) == ("github", "issues", "opened")


@pytest.mark.parametrize(
    "case",
    ["unsigned", "sha1", "wrong-secret", "tampered", "garbage-signature", "jira-header-on-github"],
)
def test_unauthentic_delivery_is_refused_401_and_not_stored(service, case: str) -> None:  # type: ignore[no-untyped-def]
    url, inbox, _ = service
    before = sum(inbox.counts().values())
    body, headers = github_delivery(ISSUE, "issues")
    if case == "unsigned":
        del headers["X-Hub-Signature-256"]
    elif case == "sha1":
        del headers["X-Hub-Signature-256"]
        digest = hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha1).hexdigest()
        headers["X-Hub-Signature-256"] = f"sha1={digest}"
    elif case == "wrong-secret":
        _, headers = github_delivery(ISSUE, "issues", secret="not-the-secret")
    elif case == "tampered":
        body = body.replace(b'"opened"', b'"closed"')
    elif case == "garbage-signature":
        headers["X-Hub-Signature-256"] = b"sha256=\xc3\xa9\xff"  # type: ignore[assignment]
    elif case == "jira-header-on-github":
        headers["X-Hub-Signature"] = headers.pop("X-Hub-Signature-256")
    response = post(url, "/webhooks/github", body, headers)
    assert response.status_code == 401, response.text
    assert sum(inbox.counts().values()) == before


def test_malformed_json_is_400_after_the_signature_check(service) -> None:  # type: ignore[no-untyped-def]
    url, _, _ = service
    for raw in (b"{not json", b'["an", "array"]', b"\xff\xfe"):
        body, headers = github_delivery(raw, "issues")
        response = post(url, "/webhooks/github", body, headers)
        assert response.status_code == 400, raw
    # A malformed body with a bad signature is an authentication failure, not a parse error.
    body, headers = github_delivery(b"{not json", "issues", secret="wrong")
    assert post(url, "/webhooks/github", body, headers).status_code == 401


def test_oversized_body_is_413_declared_or_streamed(service) -> None:  # type: ignore[no-untyped-def]
    url, inbox, _ = service
    before = sum(inbox.counts().values())
    big = {"action": "opened", "pad": "x" * (CAP + 10)}
    body, headers = github_delivery(big, "issues")
    assert post(url, "/webhooks/github", body, headers).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    response = httpx.post(url + "/webhooks/github", content=chunks(), headers=headers)
    assert response.status_code == 413
    assert sum(inbox.counts().values()) == before


def test_duplicate_delivery_is_stored_and_processed_once(service) -> None:  # type: ignore[no-untyped-def]
    url, inbox, seen = service
    body, headers = github_delivery(ISSUE, "issues")
    first = post(url, "/webhooks/github", body, headers)
    second = post(url, "/webhooks/github", body, headers)
    assert (first.status_code, second.status_code) == (202, 202)
    assert second.json()["status"] == "duplicate"
    delivery_id = headers["X-GitHub-Delivery"]
    wait_until(lambda: delivery_id in seen)
    third = post(url, "/webhooks/github", body, headers)
    assert third.json()["status"] == "duplicate"
    assert seen.count(delivery_id) == 1
    assert [r["delivery_id"] for r in inbox.list(limit=500)].count(delivery_id) == 1


def test_event_without_handler_is_stored_as_ignored(service) -> None:  # type: ignore[no-untyped-def]
    url, inbox, _ = service
    body, headers = github_delivery({"zen": "Keep it logically awesome."}, "ping")
    response = post(url, "/webhooks/github", body, headers)
    assert response.status_code == 202 and response.json()["status"] == "ignored"
    assert inbox.list(limit=1)[0]["status"] == "ignored"


def test_jira_delivery_signed_with_x_hub_signature(service) -> None:  # type: ignore[no-untyped-def]
    url, _, seen = service
    payload = {
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "issue": {"key": "BSS-1"},
    }
    body, headers = jira_delivery(payload)
    response = post(url, "/webhooks/jira", body, headers)
    assert response.status_code == 202
    wait_until(lambda: headers["X-Atlassian-Webhook-Identifier"] in seen)
    # Jira's retry carries the same identifier: deduplicated.
    assert post(url, "/webhooks/jira", body, headers).json()["status"] == "duplicate"
    # GitHub's secret does not open the Jira route, and sha1 is refused.
    _, wrong = jira_delivery(payload, secret=GITHUB_SECRET)
    assert post(url, "/webhooks/jira", body, wrong).status_code == 401
    headers["X-Hub-Signature"] = "sha1=" + hmac.new(JIRA_SECRET.encode(), body, "sha1").hexdigest()
    assert post(url, "/webhooks/jira", body, headers).status_code == 401


def test_without_delivery_id_the_body_hash_deduplicates(service) -> None:  # type: ignore[no-untyped-def]
    url, _, _ = service
    payload = {"webhookEvent": "jira:issue_created", "issue": {"key": "BSS-99"}}
    body, headers = jira_delivery(payload)
    del headers["X-Atlassian-Webhook-Identifier"]
    first = post(url, "/webhooks/jira", body, headers).json()
    assert first["delivery_id"] == "sha256:" + hashlib.sha256(body).hexdigest()
    assert post(url, "/webhooks/jira", body, headers).json()["status"] == "duplicate"


def test_unconfigured_secret_refuses_with_the_setting_name(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db.upgrade(url)
    app = create_app(service_parts(load_settings(database_url=url)), start_worker=False)
    with LiveApp(app) as live:
        body, headers = github_delivery(ISSUE, "issues")
        response = post(live.url, "/webhooks/github", body, headers)
        assert response.status_code == 503
        assert "GITHUB_WEBHOOK_SECRET" in response.json()["error"]
        response = post(live.url, "/webhooks/jira", *jira_delivery({"webhookEvent": "x"}))
        assert "JIRA_WEBHOOK_SECRET" in response.json()["error"]


def test_get_on_webhook_route_is_405(service) -> None:  # type: ignore[no-untyped-def]
    url, _, _ = service
    assert httpx.get(url + "/webhooks/github").status_code == 405
    assert json.loads(httpx.get(url + "/healthz").text) == {"status": "ok"}
