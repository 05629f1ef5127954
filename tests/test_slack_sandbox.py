"""Contract tests of the Slack sandbox against Slack's own descriptions.

The real ``slack_sdk.WebClient`` talks to the emulator over loopback HTTP; every answer is
validated against the response schemas of Slack's Web API OpenAPI 2.0 file, missing required
arguments must produce an error the spec lists, and the signing helper reproduces Slack's
documented worked example.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from sandbox.slack import SlackSandbox, SlashCommand, signature, signed_headers
from tests.oracle_files import load_oracle_json

SPEC_FILE = "slack/web-api/slack_web_openapi_v2_without_examples.json.gz"


def _spec() -> dict[str, Any]:
    return load_oracle_json(SPEC_FILE)  # type: ignore[no-any-return]


def _operation(method: str) -> dict[str, Any]:
    path = _spec()["paths"]["/" + method]
    return next(iter(path.values()))


def _validate(method: str, answer: dict[str, Any], status: str) -> None:
    schema = dict(_operation(method)["responses"][status]["schema"])
    schema["definitions"] = _spec()["definitions"]
    jsonschema.Draft4Validator(schema).validate(answer)


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackSandbox]:
    with SlackSandbox() as sandbox:
        sandbox.state.add_user("U0ALICE001", "alice", "Alice Example", is_admin=True)
        yield sandbox


@pytest.fixture
def client(slack: SlackSandbox) -> WebClient:
    return WebClient(token=slack.token, base_url=slack.api_url)


def test_signature_reproduces_slack_worked_example() -> None:
    vector = load_oracle_json("slack/signing-test-vector.json")
    timestamp = vector["headers"]["X-Slack-Request-Timestamp"]
    body = vector["body"].encode()
    expected = vector["headers"]["X-Slack-Signature"]
    assert signature(vector["signing_secret"], timestamp, body) == expected
    headers = signed_headers(vector["signing_secret"], body, timestamp=int(timestamp))
    assert headers["X-Slack-Signature"] == expected
    verifier = SignatureVerifier(vector["signing_secret"], clock=_FixedClock(int(timestamp)))
    assert verifier.is_valid_request(body, headers)


class _FixedClock:
    def __init__(self, now: int) -> None:
        self._now = now

    def now(self) -> float:
        return float(self._now)


def test_slash_command_form_has_slack_fields() -> None:
    command = SlashCommand(text="help", user_id="U0ALICE001", response_url="http://x/response/1")
    form = command.form()
    for field in (
        "token",
        "command",
        "text",
        "response_url",
        "trigger_id",
        "user_id",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "api_app_id",
    ):
        assert field in form
    assert form["command"] == "/backlog"


@pytest.mark.parametrize(
    "method",
    [
        "auth.test",
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "conversations.info",
        "users.info",
    ],
)
def test_methods_exist_in_slack_spec(method: str) -> None:
    assert "/" + method in _spec()["paths"]


def test_auth_test_shape(client: WebClient) -> None:
    answer = client.auth_test().data
    _validate("auth.test", answer, "200")


def test_missing_and_wrong_token_are_refused_like_slack(slack: SlackSandbox) -> None:
    for token, error in ((None, "not_authed"), ("xoxb-wrong", "invalid_auth")):
        with pytest.raises(SlackApiError) as raised:
            WebClient(token=token, base_url=slack.api_url).auth_test()
        answer = raised.value.response.data
        assert answer["error"] == error
        _validate("auth.test", answer, "default")


def test_post_update_ephemeral_shapes(client: WebClient, slack: SlackSandbox) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}]
    posted = client.chat_postMessage(channel=slack.channel_id, text="hello", blocks=blocks).data
    _validate("chat.postMessage", posted, "200")
    by_name = client.chat_postMessage(channel="#backlog", text="by name").data
    assert by_name["channel"] == slack.channel_id
    updated = client.chat_update(channel=slack.channel_id, ts=posted["ts"], text="edited").data
    _validate("chat.update", updated, "200")
    message = slack.state.find_message(slack.channel_id, posted["ts"])
    assert message is not None and message.text == "edited" and message.edited == 1
    ephemeral = client.chat_postEphemeral(
        channel=slack.channel_id, user="U0ALICE001", text="only you"
    ).data
    _validate("chat.postEphemeral", ephemeral, "200")
    assert slack.state.ephemerals[-1].ephemeral_user == "U0ALICE001"


def test_conversation_and_user_shapes(client: WebClient, slack: SlackSandbox) -> None:
    channel = client.conversations_info(channel=slack.channel_id).data
    _validate("conversations.info", channel, "200")
    required = _spec()["definitions"]["objs_conversation"]["items"][0]["required"]
    assert set(required) <= set(channel["channel"])
    user = client.users_info(user="U0ALICE001").data
    _validate("users.info", user, "200")
    user_required = _spec()["definitions"]["objs_user"]["items"][0]["required"]
    assert set(user_required) <= set(user["user"])


@pytest.mark.parametrize(
    ("method", "args", "error"),
    [
        ("chat.postMessage", {"text": "no channel"}, "channel_not_found"),
        ("chat.postMessage", {"channel": "C0BACKLOG1"}, "no_text"),
        ("chat.postMessage", {"channel": "C0NOSUCH01", "text": "x"}, "channel_not_found"),
        ("chat.update", {"channel": "C0BACKLOG1", "text": "x"}, "message_not_found"),
        (
            "chat.update",
            {"channel": "C0BACKLOG1", "ts": "1.000001", "text": "x"},
            "message_not_found",
        ),
        ("chat.postEphemeral", {"channel": "C0BACKLOG1", "text": "x"}, "user_not_in_channel"),
        ("conversations.info", {"channel": "C0NOSUCH01"}, "channel_not_found"),
        ("users.info", {"user": "U0NOSUCH01"}, "user_not_found"),
    ],
)
def test_missing_required_arguments_give_spec_errors(
    client: WebClient, method: str, args: dict[str, Any], error: str
) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.api_call(method, json=args)
    answer = raised.value.response.data
    assert answer == {"ok": False, "error": error}
    _validate(method, answer, "default")


VALID_ARGS: dict[str, dict[str, Any]] = {
    "chat.postMessage": {"channel": "C0BACKLOG1", "text": "x"},
    "chat.update": {"channel": "C0BACKLOG1", "ts": "", "text": "x"},
    "chat.postEphemeral": {"channel": "C0BACKLOG1", "user": "U0ALICE001", "text": "x"},
}


@pytest.mark.parametrize("method", sorted(VALID_ARGS))
def test_each_required_spec_argument_is_required(
    client: WebClient, slack: SlackSandbox, method: str
) -> None:
    args = dict(VALID_ARGS[method])
    if "ts" in args:
        args["ts"] = client.chat_postMessage(channel=slack.channel_id, text="to edit")["ts"]
    assert client.api_call(method, json=args)["ok"]
    required = [
        p["name"]
        for p in _operation(method).get("parameters", [])
        if p.get("required") and p["in"] == "formData"
    ]
    assert required
    for name in required:
        without = {key: value for key, value in args.items() if key != name}
        with pytest.raises(SlackApiError) as raised:
            client.api_call(method, json=without)
        _validate(method, raised.value.response.data, "default")


def test_block_kit_limits_are_enforced(client: WebClient, slack: SlackSandbox) -> None:
    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    too_many = [{"type": "divider"}] * 51
    for blocks in (too_long, too_many):
        with pytest.raises(SlackApiError) as raised:
            client.chat_postMessage(channel=slack.channel_id, text="t", blocks=blocks)
        assert raised.value.response["error"] == "invalid_blocks"


def test_rate_limit_on_demand(client: WebClient, slack: SlackSandbox) -> None:
    slack.state.rate_limit_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel=slack.channel_id, text="x")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] in ("7", ["7"])
    assert client.chat_postMessage(channel=slack.channel_id, text="after").data["ok"]


def test_planned_failure(client: WebClient, slack: SlackSandbox) -> None:
    slack.state.fail_next("chat.postMessage", "is_archived")
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel=slack.channel_id, text="x")
    _validate("chat.postMessage", raised.value.response.data, "default")


def test_external_upload_flow_with_files_upload_v2(client: WebClient, slack: SlackSandbox) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    answer = client.files_upload_v2(
        channel=slack.channel_id,
        content=png,
        filename="burndown.png",
        title="Burndown",
        initial_comment="chart",
    )
    file_id = answer["file"]["id"]
    assert [c.method for c in slack.state.calls[-2:]] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    stored = slack.state.files[file_id]
    assert stored.data == png and stored.length == len(png) and stored.title == "Burndown"
    shared = slack.state.messages_in(slack.channel_id)[-1]
    assert shared.files == [file_id] and shared.text == "chart"


def test_complete_without_upload_is_refused(client: WebClient) -> None:
    ticket = client.files_getUploadURLExternal(filename="a.png", length=3).data
    assert set(ticket) == {"ok", "upload_url", "file_id"}
    with pytest.raises(SlackApiError) as raised:
        client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}])
    assert raised.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError):
        client.files_getUploadURLExternal(filename="a.png", length=0)


def test_response_url_records_replies(slack: SlackSandbox) -> None:
    token, url = slack.new_response_url()
    assert httpx.post(url, json={"text": "done", "response_type": "ephemeral"}).text == "ok"
    assert httpx.post(url, json={"response_type": "ephemeral"}).status_code == 400
    replies = slack.wait_for_replies(token)
    assert replies[0].body["text"] == "done"
