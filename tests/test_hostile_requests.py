"""Hostile requests get a 4xx, never a 500 nor a traceback, and cost no memory: malformed Slack
headers and bodies, deeply nested JSON on every route, a 200 MB unauthenticated Slack POST,
clients that hang up mid-upload or trickle their body (issue: reliability under hostile input)."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from bot.digests.context import SlackContext
from bot.service.app import create_app
from bot.service.webhooks import sign
from bot.slack.app import build_slack
from bot.wiring.container import service_parts
from sandbox.slack import SlackSandbox
from sandbox.slack.signing import signed_headers
from sync.state import db
from tests.serve_support import rss_mb, serve
from tests.service_support import GITHUB_SECRET, JIRA_SECRET, LiveApp
from tests.slack_support import slack_settings

DEEP_BODIES = {
    "brackets": b"[" * 100_000,
    "objects": b'{"a":' * 50_000,
    "depth 70": b'{"a":' * 70 + b"1" + b"}" * 70,
}


@pytest.fixture
def service(sqlite_url: str) -> Iterator[tuple[str, SlackSandbox, object]]:
    """The service app with webhooks and /slack/events, served on loopback."""
    db.upgrade(sqlite_url)
    engine: Engine = db.make_engine(sqlite_url)
    with SlackSandbox() as slack:
        settings = slack_settings(
            sqlite_url, slack, github_webhook_secret=GITHUB_SECRET,
            jira_webhook_secret=JIRA_SECRET, http_read_timeout_seconds=1.0,
        )  # fmt: skip
        _, endpoint = build_slack(settings, SlackContext(settings, engine))
        parts = service_parts(settings, engine=engine, slack_handler=endpoint)
        app = create_app(parts, start_worker=False)
        with LiveApp(app) as live:
            yield live.url, slack, app
    engine.dispose()


def statuses(url: str) -> dict[str, float]:
    """``/metrics`` HTTP request counts by status."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(httpx.get(url + "/metrics").text):
        for sample in family.samples:
            if sample.name == "backlog_bot_http_requests_total":
                status = sample.labels["status"]
                found[status] = found.get(status, 0) + sample.value
    return found


@pytest.mark.parametrize("stamp", ["abc", "1e3", "9" * 400, "-5", "１２".encode()])
def test_slack_timestamp_that_is_not_a_unix_time_is_401(service, stamp: str | bytes) -> None:
    url, slack, _ = service
    headers = {**signed_headers(slack.signing_secret, b"command=/backlog"),
               "X-Slack-Request-Timestamp": stamp}  # fmt: skip
    response = httpx.post(url + "/slack/events", content=b"command=/backlog", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "X-Slack-Request-Timestamp is not a Unix time"}


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"payload=" + quote("{not json").encode(), "application/x-www-form-urlencoded"),
        (b"payload=" + quote("[" * 100_000).encode(), "application/x-www-form-urlencoded"),
        (b"[" * 100_000, "application/json"),
        (b'{"a":' * 70 + b"1" + b"}" * 70, "application/json"),
    ],
    ids=["invalid-json", "json-list", "invalid-payload", "deep-payload", "deep-json", "depth-70"],
)
def test_validly_signed_slack_body_that_is_not_a_slack_request_is_400(
    service, body: bytes, content_type: str
) -> None:
    url, slack, _ = service
    headers = {**signed_headers(slack.signing_secret, body), "Content-Type": content_type}
    response = httpx.post(url + "/slack/events", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert "error" in response.json()
    assert "500" not in statuses(url)


@pytest.mark.parametrize("name", sorted(DEEP_BODIES))
@pytest.mark.parametrize("source", ["github", "jira"])
def test_deeply_nested_json_webhook_is_400(service, source: str, name: str) -> None:
    url, _, _ = service
    body = DEEP_BODIES[name]
    if source == "github":
        headers = {"X-GitHub-Event": "issues", "X-Hub-Signature-256": sign(GITHUB_SECRET, body)}
    else:
        headers = {"X-Hub-Signature": sign(JIRA_SECRET, body)}
    response = httpx.post(f"{url}/webhooks/{source}", content=body, headers=headers)
    assert response.status_code == 400
    assert "nests more than 64 levels" in response.json()["error"]


def test_oversized_slack_body_is_413_while_streaming(service) -> None:
    url, _, _ = service

    def chunks() -> Iterator[bytes]:
        yield from (b"x" * 65536 for _ in range(100))  # 6.5 MB, no Content-Length

    response = httpx.post(url + "/slack/events", content=chunks())
    assert response.status_code == 413


def raw_request(url: str, head: bytes) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.sendall(head)
    return sock


def test_client_hanging_up_mid_upload_is_an_info_line_not_a_5xx(
    service, caplog: pytest.LogCaptureFixture
) -> None:
    url, _, _ = service
    caplog.set_level(logging.INFO)
    for path in ("/webhooks/github", "/slack/events"):
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
            "X-Hub-Signature-256: sha256=00\r\n\r\n"
        )
        sock = raw_request(url, head.encode() + b"x" * 1000)
        time.sleep(0.2)
        sock.close()
    deadline = time.monotonic() + 5
    while statuses(url).get("499", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    counted = statuses(url)
    assert counted.get("499") == 2 and not any(s.startswith("5") for s in counted)
    gone = [r for r in caplog.records if "client disconnected" in r.getMessage()]
    assert len(gone) == 2 and all(r.levelno == logging.INFO for r in gone)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_stalled_body_is_cut_off_by_the_read_timeout(service) -> None:
    url, _, _ = service
    sock = raw_request(
        url, b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\nab"
    )
    sock.settimeout(10)
    started = time.monotonic()
    answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - started < 5  # the read timeout is 1 s here
    sock.close()


@pytest.mark.slow  # a real `serve` process and 1 GB of uploads
def test_200_mb_unauthenticated_slack_post_leaves_memory_flat(tmp_path: Path) -> None:
    """Also checks the streaming cap of the webhooks: the real ``serve``, memory from /proc."""
    url_db = f"sqlite:///{tmp_path / 'bot.db'}"
    db.upgrade(url_db)

    def body() -> Iterator[bytes]:
        for _ in range(200 * 16):
            yield b"x" * 65536  # 200 MB in total

    def post(url: str, headers: dict[str, str]) -> int:
        try:
            return httpx.post(url, content=body(), headers=headers, timeout=60).status_code
        except httpx.HTTPError:
            return 413  # refused before the upload finished: the connection was closed

    github = {"X-Hub-Signature-256": "sha256=" + "0" * 64}
    declared = {"Content-Length": str(200 * 2**20)}
    with SlackSandbox() as slack:
        env = {**slack.env(), "DATABASE_URL": url_db, "GITHUB_WEBHOOK_SECRET": GITHUB_SECRET}
        with serve(env) as (url, process):
            httpx.post(url + "/slack/events", content=b"warm-up")
            httpx.post(
                url + "/webhooks/github", content=b"{}", headers={"X-Hub-Signature-256": "0"}
            )
            start = rss_mb(process.pid)
            statuses = [post(url + "/slack/events", {})]  # streamed, no Content-Length
            first = rss_mb(process.pid)
            statuses += [post(url + "/slack/events", declared), post(url + "/slack/events", {})]
            statuses += [post(url + "/webhooks/github", github)]
            statuses += [post(url + "/webhooks/github", {**github, **declared})]
            last = rss_mb(process.pid)
    assert statuses == [413] * 5
    # Buffering one body would add 200 MB. The first large upload leaves socket and allocator
    # slack (10-60 MB under load); after it, memory stays where it is.
    assert first - start < 100, f"serve grew from {start:.0f} MB to {first:.0f} MB"
    assert last - first < 25, f"serve kept growing: {first:.0f} MB -> {last:.0f} MB"


def test_deep_json_in_the_inbox_cannot_hurt_the_worker() -> None:
    # what reaches the inbox was checked: nothing deeper than the limit is ever stored
    from bot.service.bodies import BadBody, json_object

    assert json_object(json.dumps({"a": [[[1]]]}).encode()) == {"a": [[[1]]]}
    with pytest.raises(BadBody):
        json_object(b'{"a":' * 65 + b"1" + b"}" * 65)
