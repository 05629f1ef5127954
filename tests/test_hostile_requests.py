"""Hostile requests get a 4xx, never a 500 nor a traceback, and cost no memory: malformed Slack
headers and bodies, deeply nested JSON on every route, a 200 MB unauthenticated Slack POST,
clients that hang up mid-upload or trickle their body (issue: reliability under hostile input)."""

from __future__ import annotations

import json
import logging
import re
import select
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
from bot.service.slow_clients import head_deadline_protocol
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


def test_slow_clients_are_cut_off_by_the_read_timeout_of_serve(
    sqlite_url: str, tmp_path: Path
) -> None:
    """The real ``serve`` (its protocol keeps the head deadline): a connection that sends
    nothing, one that trickles its headers and one that trickles its body are each closed
    within the read timeout (2 s here), the last two with a 408; other requests are answered
    meanwhile; each cut-off is an info line, and none is a 5xx in ``/metrics``."""
    db.upgrade(sqlite_url)
    log = tmp_path / "serve.log"
    env = {
        "DATABASE_URL": sqlite_url,
        "GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
        "HTTP_READ_TIMEOUT_SECONDS": "2",
    }
    webhook = (
        b"POST /webhooks/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: issues\r\n"
        b"X-GitHub-Delivery: slow-1\r\nX-Hub-Signature-256: sha256=00\r\n"
    )
    with serve(env, log=log) as (url, _):
        clients = {
            "silent": (raw_request(url, b""), b""),
            "head": (raw_request(url, webhook), b"X-Slow: 1\r\n"),
            "body": (raw_request(url, webhook + b"Content-Length: 1000\r\n\r\n{"), b" "),
        }
        started = time.monotonic()
        closed: dict[str, float] = {}
        answers = dict.fromkeys(clients, b"")
        while len(closed) < len(clients) and time.monotonic() - started < 12:
            for name, (sock, trickle) in clients.items():
                if name in closed:
                    continue
                try:
                    if trickle:
                        sock.sendall(trickle)
                    ready, _, _ = select.select([sock], [], [], 0)
                    chunk = sock.recv(4096) if ready else None
                except OSError:  # reset: closed by the server
                    chunk = b""
                if chunk == b"":
                    closed[name] = time.monotonic() - started
                elif chunk:
                    answers[name] += chunk
            assert httpx.get(url + "/healthz", timeout=2).status_code == 200  # unaffected
            time.sleep(0.4)
        for sock, _ in clients.values():
            sock.close()
        counted = statuses(url)
    assert set(closed) == set(clients), f"still open after 12 s: {set(clients) - set(closed)}"
    assert all(1.5 < seconds < 5 for seconds in closed.values()), closed
    assert answers["silent"] == b""
    assert answers["head"].startswith(b"HTTP/1.1 408 ")
    assert answers["body"].startswith(b"HTTP/1.1 408 ")
    assert counted.get("408") == 1  # the body's; a head never reached the app
    assert not any(status.startswith("5") for status in counted)
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    cut = [r for r in records if "request head" in r["msg"] or "request body" in r["msg"]]
    assert sorted((r["level"], re.sub(r" (with)?in 2s.*", "", r["msg"])) for r in cut) == [
        ("INFO", "client did not send its request body"),
        ("INFO", "client sent no complete request head"),
        ("INFO", "client sent no complete request head"),
    ]
    assert not [r for r in records if r["level"] in ("ERROR", "CRITICAL")]


@pytest.mark.parametrize("protocol", ["h11", "httptools"])
def test_the_head_deadline_holds_on_both_of_uvicorns_protocols(service, protocol: str) -> None:
    """h11 or httptools (whichever the image has): an idle connection and a trickled head are
    closed at the deadline; a request sent in time, and one on a kept-alive connection after
    a first answer, are served."""
    from uvicorn.protocols.http.h11_impl import H11Protocol
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    base = {"h11": H11Protocol, "httptools": HttpToolsProtocol}[protocol]
    _, _, app = service
    with LiveApp(app, http=head_deadline_protocol(1.0, base)) as live:
        idle = raw_request(live.url, b"")
        trickled = raw_request(live.url, b"GET /healthz HTTP/1.1\r\n")
        kept = raw_request(live.url, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        for sock in (idle, trickled, kept):
            sock.settimeout(5)
        assert b" 200 OK" in kept.recv(4096)
        time.sleep(0.5)  # within the deadline of the next head
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b" 200 OK" in kept.recv(4096)
        started = time.monotonic()
        for _ in range(3):
            trickled.sendall(b"X-Slow: 1\r\n")
            time.sleep(0.3)
        assert trickled.recv(4096).startswith(b"HTTP/1.1 408 ")
        assert idle.recv(4096) == b""
        assert time.monotonic() - started < 3
        for sock in (idle, trickled, kept):
            sock.close()
