"""The standup digest and capacity alerts against sandbox data, with a frozen team clock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from backlog.errors import RateLimitedError
from bot.digests.context import SlackContext
from bot.digests.standup import standup_now
from bot.slack.announce import check_capacity, post_standup
from bot.slack.messages import standup_lines
from bot.slack.post import SlackPoster
from sandbox.slack import SlackSandbox
from sync.state import db
from sync.state.slack import announced_alerts, last_digest
from tests.slack_support import (
    EXPECTED_STANDUP_LINES,
    FROZEN,
    pulled_state,
    set_live,
    slack_context,
    slack_settings,
    store_links,
)


@pytest.fixture
def slack() -> Iterator[SlackSandbox]:
    with SlackSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    db.upgrade(database_url)
    engine = db.make_engine(database_url)
    store_links(engine, pulled_state())
    yield engine
    engine.dispose()


@pytest.fixture
def ctx(database_url: str, engine: Engine, slack: SlackSandbox) -> SlackContext:
    return slack_context(slack_settings(database_url, slack), engine)


@pytest.fixture
def poster(ctx: SlackContext) -> SlackPoster:
    return SlackPoster.from_settings(ctx.settings)


def test_standup_digest_text(ctx: SlackContext) -> None:
    assert standup_lines(standup_now(ctx)) == EXPECTED_STANDUP_LINES


def test_standup_posted_with_escaped_text_links_and_chart(
    ctx: SlackContext, poster: SlackPoster, slack: SlackSandbox
) -> None:
    ts = post_standup(ctx, poster, standup_now(ctx))
    message, chart = slack.state.messages_in(slack.channel_id)
    assert message.ts == ts and chart.thread_ts == ts
    texts = [block["text"]["text"] for block in message.blocks if "text" in block]
    assert texts[2] == (
        "*Done so far* (1)\n• *<https://jira.example.test/browse/PAY-1|US-001>* "
        "<https://github.example.test/acme/payments/issues/1|GitHub> Payment Gateway · 13 pts · Bob"
    )
    assert texts[3] == (
        "*In progress* (1)\n• *<https://jira.example.test/browse/PAY-2|US-002>* "
        "Refunds &lt;!channel&gt; · 8 pts · Alice &lt;Ops&gt; &amp; Co"
    )
    assert "<!channel>" not in str(message.blocks) and "<!channel>" not in message.text
    assert message.blocks[-1]["elements"][0]["text"] == "Burndown chart in the thread."
    stored = slack.state.files[chart.files[0]]
    assert stored.filename == "burndown-sprint-1.png" and stored.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert [c.method for c in slack.state.calls] == [
        "chat.postMessage",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    recorded = last_digest(ctx.engine, "standup", 1)
    assert recorded is not None and recorded.done_ids == ["US-001"]
    assert recorded.message_ts == ts and recorded.channel == slack.channel_id


def test_next_digest_lists_only_what_moved_to_done_since(
    ctx: SlackContext, poster: SlackPoster, engine: Engine
) -> None:
    post_standup(ctx, poster, standup_now(ctx))
    set_live(
        engine,
        "US-002",
        remote_status="Done",
        remote_updated_at=datetime(2026, 11, 19, 14, 0, tzinfo=UTC),
    )
    friday = slack_context(ctx.settings, engine, clock=lambda: FROZEN + timedelta(days=1))
    lines = standup_lines(standup_now(friday))
    assert lines[1:4] == [
        "Day 5 of 10 (Mon 16 Nov – Fri 27 Nov)",
        "21 of 26 points done (81%)",
        "Ideal by today: 13 points done, 8 points ahead of the ideal line",
    ]
    assert lines[5:11] == [
        "Moved to done since Thu 19 Nov 09:30 (1)",
        "  - US-002 Refunds <!channel> · 8 pts · Alice <Ops> & Co",
        "In progress (0)",
        "Blocked (0)",
        "Sprint 2 stories not ready (1)",
        "  - US-005 Saved Cards · dor.acceptance-criteria, dor.prioritized, dor.user-story",
    ]


def test_capacity_alert_posted_once_per_condition(
    ctx: SlackContext, poster: SlackPoster, slack: SlackSandbox
) -> None:
    first = check_capacity(ctx, poster)
    again = check_capacity(ctx, poster)
    assert [(a.sprint, a.role, a.level) for a in first] == [(1, "Backend Developer", "warning")]
    assert again == []
    (message,) = slack.state.messages_in(slack.channel_id)
    assert message.blocks[0]["text"]["text"] == (
        ":large_orange_circle: *Sprint 1: Backend Developer at 87%* (52 of 60 h), above the "
        "85% warning level\n"
        "Biggest items: US-001 20 h, US-003 18 h, US-002 14 h\n"
        "Move a story to another sprint or rebalance its tasks."
    )
    assert announced_alerts(ctx.engine) == {"capacity:1:backend:warning"}


def test_cleared_condition_is_announced_again_when_it_recurs(
    ctx: SlackContext, poster: SlackPoster, engine: Engine, slack: SlackSandbox
) -> None:
    check_capacity(ctx, poster)
    set_live(engine, "US-003", remote_sprint="PAY Sprint 2")  # 34 h left: below 85%
    assert check_capacity(ctx, poster) == []
    assert announced_alerts(ctx.engine) == set()
    set_live(engine, "US-003", remote_sprint="PAY Sprint 1")
    assert len(check_capacity(ctx, poster)) == 1
    assert len(slack.state.messages_in(slack.channel_id)) == 2


def test_work_added_to_running_sprint_escalates_to_error(
    ctx: SlackContext, poster: SlackPoster, engine: Engine, slack: SlackSandbox
) -> None:
    check_capacity(ctx, poster)
    set_live(engine, "US-004", remote_sprint="PAY Sprint 1")
    role, points = check_capacity(ctx, poster, trigger="US-004 moved to PAY Sprint 1 in Jira")
    assert (role.level, round(role.load_pct)) == ("error", 113)
    text = slack.state.messages_in(slack.channel_id)[-2].blocks[0]["text"]["text"]
    assert text.startswith(
        ":red_circle: *Sprint 1 is over capacity for Backend Developer*: 68 of 60 h (113%)"
    )
    assert "Triggered by: US-004 moved to PAY Sprint 1 in Jira" in text
    assert (points.kind, points.level, points.points, points.limit) == ("points", "error", 39, 30)
    assert announced_alerts(ctx.engine) == {"capacity:1:backend:error", "capacity:1:points:error"}


def test_points_over_capacity_alerted_once_naming_the_latest_additions(
    ctx: SlackContext, poster: SlackPoster, engine: Engine, slack: SlackSandbox
) -> None:
    check_capacity(ctx, poster)  # the Backend warning of the plan
    moved_in = {"sprint_since": "2026-11-18T14:00:00+00:00"}
    set_live(engine, "US-004", remote_sprint="PAY Sprint 1", extra=moved_in)
    posted = check_capacity(ctx, poster, trigger="US-004 moved to PAY Sprint 1 in Jira")
    assert [(a.kind, a.level) for a in posted] == [("role", "error"), ("points", "error")]
    assert check_capacity(ctx, poster) == []
    text = slack.state.messages_in(slack.channel_id)[-1].blocks[0]["text"]["text"]
    assert text == (
        ":red_circle: *Sprint 1 commits 39 points against a capacity of 30* (130%, 9 over)\n"
        "Added most recently: US-004 13 pts, US-003 5 pts, US-002 8 pts\n"
        "Triggered by: US-004 moved to PAY Sprint 1 in Jira\n"
        "Move a story to a later sprint or split it."
    )
    set_live(engine, "US-004", remote_sprint="PAY Sprint 2")
    check_capacity(ctx, poster)
    assert "capacity:1:points:error" not in announced_alerts(ctx.engine)


def test_rate_limited_post_waits_and_retries(
    ctx: SlackContext, poster: SlackPoster, slack: SlackSandbox
) -> None:
    slack.state.rate_limit_next("chat.postMessage", retry_after=1)
    assert len(check_capacity(ctx, poster)) == 1
    assert [c.error for c in slack.state.calls_to("chat.postMessage")] == ["ratelimited", None]
    for _ in range(3):
        slack.state.rate_limit_next("chat.postMessage", retry_after=0)
    with pytest.raises(RateLimitedError):
        poster.post(standup_message_stub())


def test_a_capped_poster_hands_a_long_rate_limit_back_at_once(
    ctx: SlackContext, slack: SlackSandbox
) -> None:
    poster = SlackPoster.from_settings(ctx.settings, longest_wait=5.0)
    slack.state.rate_limit_next("chat.postMessage", retry_after=7)
    started = time.monotonic()
    with pytest.raises(RateLimitedError) as raised:
        poster.post(standup_message_stub())
    assert time.monotonic() - started < 1 and raised.value.retry_after == 7
    slack.state.rate_limit_next("chat.postMessage", retry_after=1)
    poster.post(standup_message_stub())  # a short wait is still waited out
    assert [c.error for c in slack.state.calls_to("chat.postMessage")] == [
        "ratelimited",
        "ratelimited",
        None,
    ]


def standup_message_stub():  # type: ignore[no-untyped-def]
    from bot.slack.messages import SlackMessage

    return SlackMessage("hello")


def test_our_requests_carry_the_arguments_slack_requires(
    ctx: SlackContext, poster: SlackPoster, engine: Engine, slack: SlackSandbox
) -> None:
    """Every call the bot made names the arguments Slack's OpenAPI file marks required."""
    import json

    from tests.oracle_files import load_oracle_json

    spec = load_oracle_json("slack/web-api/slack_web_openapi_v2_without_examples.json.gz")
    post_standup(ctx, poster, standup_now(ctx))
    check_capacity(ctx, poster)
    calls = slack.state.calls
    assert {c.method for c in calls} >= {"chat.postMessage", "files.completeUploadExternal"}
    for call in calls:
        assert call.ok, call
        operation = spec["paths"].get("/" + call.method)
        if operation is None:  # the external upload methods postdate the 2020 file
            assert call.method.startswith("files.")
            continue
        (details,) = operation.values()
        required = {
            p["name"] for p in details["parameters"] if p.get("required") and p["in"] != "header"
        }
        assert required <= set(call.args), (call.method, required - set(call.args))
    uploads = slack.state.calls_to("files.getUploadURLExternal")
    assert {"filename", "length"} <= set(uploads[0].args)
    completes = slack.state.calls_to("files.completeUploadExternal")
    (uploaded,) = json.loads(completes[0].args["files"])
    assert slack.state.files[uploaded["id"]].is_uploaded
