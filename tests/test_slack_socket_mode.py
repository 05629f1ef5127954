"""Slack Socket Mode: the service, given SLACK_APP_TOKEN and no signing secret, opens a socket to
the Slack sandbox (apps.connections.open, then a WebSocket) and answers ``/backlog`` envelopes:
the ack carries the immediate reply, the lazy work replies through the response_url.
Also ``backlog-bot slack manifest`` for both modes."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import yaml
from sqlalchemy.engine import Engine

from bot.cli.app import main
from bot.service.app import create_app
from bot.wiring.container import build_service
from sandbox.runner import ServedApp
from sandbox.slack import SlackSandbox
from sync.state import db
from tests.slack_support import MEMBER, pulled_state, slack_settings, store_links


@pytest.fixture
def socket_service(sqlite_url: str) -> Iterator[SlackSandbox]:
    db.upgrade(sqlite_url)
    engine: Engine = db.make_engine(sqlite_url)
    store_links(engine, pulled_state())
    with SlackSandbox() as slack:
        settings = slack_settings(sqlite_url, slack, slack_app_token=slack.app_token)
        settings.slack_signing_secret = None  # Socket Mode only: no HTTP endpoint
        parts = build_service(settings, engine=engine, scheduler=False)
        assert parts.slack_handler is None  # no signing secret: no HTTP endpoint
        service = create_app(parts, start_worker=False)
        with ServedApp(service, lifespan="on"):  # start-up hooks open the socket
            slack.sockets.wait_for_connection()
            yield slack
    engine.dispose()


def test_slash_command_round_trip_over_the_socket(socket_service: SlackSandbox) -> None:
    slack = socket_service
    assert [c.error for c in slack.state.calls_to("apps.connections.open")] == [None]
    envelope, token = slack.send_socket_command("ready US-002", user_id=MEMBER)
    ack = slack.sockets.wait_for_ack(envelope)
    assert ack["envelope_id"] == envelope
    first = ack["payload"]
    assert first["response_type"] == "ephemeral"
    assert first["text"] == "Working on /backlog ready…"
    assert first["blocks"][0]["elements"][0]["text"] == ":hourglass_flowing_sand: /backlog ready…"
    (reply,) = slack.wait_for_replies(token)
    texts = [block["text"]["text"] for block in reply.body["blocks"] if "text" in block]
    assert texts == [
        "US-002 · Refunds <!channel>",
        ":white_check_mark: *Ready*: meets the Definition of Ready and INVEST.\n"
        "*<https://jira.example.test/browse/PAY-2|US-002>* 8 pts · priority High · "
        "planned in sprint 1",
    ]


def test_help_is_answered_in_the_ack_and_a_redelivery_runs_once(
    socket_service: SlackSandbox,
) -> None:
    slack = socket_service
    envelope, _ = slack.send_socket_command("help", user_id=MEMBER)
    ack = slack.sockets.wait_for_ack(envelope)
    assert "`/backlog ready US-001`" in str(ack["payload"]["blocks"])
    command, _ = slack.command("status", user_id=MEMBER, trigger_id="1.2.redelivered")
    payload = {k: v for k, v in command.form().items() if k != "token"}
    first = slack.sockets.deliver("slash_commands", payload)
    again = slack.sockets.deliver("slash_commands", payload)
    acks = [slack.sockets.wait_for_ack(first), slack.sockets.wait_for_ack(again)]
    # Both are acknowledged; whichever claimed the trigger_id first runs, the other is empty.
    texts = sorted(str((ack.get("payload") or {}).get("text", "")) for ack in acks)
    assert texts == ["", "Working on /backlog status…"]
    response_token = payload["response_url"].rsplit("/", 1)[1]
    slack.wait_for_replies(response_token)
    time.sleep(0.5)
    assert len(slack.state.replies_for(response_token)) == 1


def test_a_bot_token_cannot_open_a_socket(socket_service: SlackSandbox) -> None:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(token=socket_service.token, base_url=socket_service.api_url)
    with pytest.raises(SlackApiError) as caught:
        client.apps_connections_open(app_token=socket_service.token)
    assert caught.value.response["error"] == "not_allowed_token_type"


def test_shutdown_closes_the_socket_without_waiting_out_the_read_timeout(sqlite_url: str) -> None:
    """slack_sdk's threads wait up to 3 s (a recv) and 1 s (a queue); stopping used to wait
    for them."""
    db.upgrade(sqlite_url)
    engine: Engine = db.make_engine(sqlite_url)
    with SlackSandbox() as slack:
        settings = slack_settings(sqlite_url, slack, slack_app_token=slack.app_token)
        settings.slack_signing_secret = None
        service = create_app(build_service(settings, engine=engine, scheduler=False))
        served = ServedApp(service, lifespan="on").start()
        slack.sockets.wait_for_connection()
        assert slack.sockets.connected() == 1
        envelope, _ = slack.send_socket_command("help", user_id=MEMBER)
        slack.sockets.wait_for_ack(envelope)  # the reader is back in its 3 s recv()
        started = time.monotonic()
        served.stop()
        took = time.monotonic() - started
        deadline = time.monotonic() + 5
        while slack.sockets.connected() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert slack.sockets.connected() == 0
    engine.dispose()
    assert took < 2, f"the service took {took:.1f} s to stop"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_manifest_for_http_and_for_socket_mode(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "slack", "manifest", "--url", "https://bot.example.com")
    assert code == 0, err
    manifest = yaml.safe_load(out)
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/backlog"
    assert command["url"] == "https://bot.example.com/slack/events"
    assert manifest["settings"]["socket_mode_enabled"] is False
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "files:write", "users:read", "channels:read"} <= scopes
    code, out, _ = run(capsys, "slack", "manifest", "--socket-mode")
    socket = yaml.safe_load(out)
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "url" not in socket["features"]["slash_commands"][0]
    code, _, err = run(capsys, "slack", "manifest")
    assert code == 2 and "--url" in err and "--socket-mode" in err
