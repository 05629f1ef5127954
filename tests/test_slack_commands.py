"""Every ``/backlog`` command through really signed HTTP requests to ``POST /slack/events``
of the service app, with replies read from the Slack sandbox's response_url recorder."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from slack_bolt import App
from sqlalchemy.engine import Engine

from bot.digests.context import SlackContext
from bot.service.app import create_app
from bot.slack.app import build_bolt_app, slack_endpoint
from bot.slack.commands import Commands, SyncActions
from bot.slack.post import SlackPoster, make_client
from bot.wiring.container import service_parts
from sandbox.runner import ServedApp
from sandbox.slack import SlackSandbox, send_signed
from sync.state import db
from tests.slack_support import (
    ADMIN,
    MEMBER,
    finish_lazy_listeners,
    pulled_state,
    slack_context,
    slack_settings,
    store_links,
)


@dataclass
class Bot:
    url: str
    slack: SlackSandbox
    ctx: SlackContext
    plans: list[str]
    app: App

    def send(self, text: str, user: str = MEMBER, **kwargs: Any) -> tuple[httpx.Response, str]:
        return self.slack.send_command(self.url, text, user_id=user, **kwargs)

    def reply(self, token: str) -> dict[str, Any]:
        (reply,) = self.slack.wait_for_replies(token)
        return reply.body


def _texts(payload: dict[str, Any]) -> list[str]:
    texts = []
    for block in payload.get("blocks", []):
        if "text" in block:
            texts.append(block["text"]["text"])
        for element in block.get("elements", []):
            texts.append(element.get("text", ""))
    return texts


@pytest.fixture
def bot(sqlite_url: str) -> Iterator[Bot]:
    db.upgrade(sqlite_url)
    engine: Engine = db.make_engine(sqlite_url)
    store_links(engine, pulled_state())
    plans: list[str] = []
    with SlackSandbox() as slack:
        settings = slack_settings(sqlite_url, slack)
        ctx = slack_context(settings, engine)

        def plan(ctx: SlackContext) -> list[str]:
            plans.append("plan")
            return ["jira: 2 to create, 0 to update", "github: nothing to change"]

        commands = Commands(
            ctx,
            poster=lambda: SlackPoster.from_settings(settings),
            actions=SyncActions(plan=plan),
        )
        app = build_bolt_app(
            commands, signing_secret=slack.signing_secret, client=make_client(settings)
        )
        service = create_app(
            service_parts(settings, engine=engine, slack_handler=slack_endpoint(app)),
            start_worker=False,
        )
        with ServedApp(service) as served:
            yield Bot(f"{served.url}/slack/events", slack, ctx, plans, app)
    engine.dispose()


def test_help_is_answered_in_the_ack(bot: Bot) -> None:
    response, token = bot.send("help")
    assert response.status_code == 200
    body = response.json()
    assert body["response_type"] == "ephemeral"
    assert "`/backlog ready US-001` — Definition of Ready and INVEST check" in _texts(body)[0]
    finish_lazy_listeners(bot.app)
    assert bot.slack.state.replies_for(token) == []


def test_unknown_input_gets_help_with_the_input_escaped(bot: Bot) -> None:
    response, _ = bot.send("frobnicate <!channel> & co")
    texts = _texts(response.json())
    assert texts[0] == "I don't know `frobnicate &lt;!channel&gt; &amp; co`. Here is what I can do:"
    assert texts[1].startswith("*backlog-bot* keeps the backlog honest.")


def test_status_replies_through_response_url(bot: Bot) -> None:
    response, token = bot.send("status")
    assert _texts(response.json()) == [":hourglass_flowing_sand: /backlog status…"]
    reply = bot.reply(token)
    assert reply["replace_original"] is True and reply["response_type"] == "ephemeral"
    texts = _texts(reply)
    assert texts[0] == "Sprint 1: Take Payments"
    assert texts[1] == (
        "Day 4 of 10 (Mon 16 Nov – Fri 27 Nov)\n13 of 26 points done (50%)\n"
        "Ideal by today: 10.4 points done, 2.6 points ahead of the ideal line"
    )
    assert texts[2].splitlines() == [
        "*Stories* (3)",
        "• *<https://jira.example.test/browse/PAY-2|US-002>* Refunds &lt;!channel&gt; · 8 pts"
        " · In Progress · Alice &lt;Ops&gt; &amp; Co",
        "• *<https://jira.example.test/browse/PAY-3|US-003>* Payment Reports · 5 pts · To Do",
        "• *<https://jira.example.test/browse/PAY-1|US-001>* "
        "<https://github.example.test/acme/payments/issues/1|GitHub> Payment Gateway · 13 pts"
        " · Done · Bob",
    ]


def test_status_of_a_named_and_an_unknown_sprint(bot: Bot) -> None:
    _, token = bot.send("status 2")
    assert _texts(bot.reply(token))[0] == "Sprint 2: Protect Payments"
    _, token = bot.send("status 9")
    assert _texts(bot.reply(token)) == ["There is no sprint `9` in the backlog."]


def test_ready_reports_dor_and_invest_with_live_state(bot: Bot) -> None:
    _, token = bot.send("ready us-005")
    texts = _texts(bot.reply(token))
    assert texts[0] == "US-005 · Saved Cards"
    assert texts[1] == (
        ":large_orange_circle: *Ready with warnings*: 3 warning(s).\n"
        "*<https://jira.example.test/browse/PAY-5|US-005>* 8 pts · no priority · "
        "planned in sprint 2"
    )
    assert texts[2] == "Live: To Do · sprint 2"
    findings = texts[3].splitlines()
    assert findings[0] == "*Findings* (3)"
    assert [line.split("`")[1] for line in findings[1:]] == [
        "dor.acceptance-criteria",
        "dor.prioritized",
        "dor.user-story",
    ]


def test_ready_of_a_ready_story_and_of_an_unknown_one(bot: Bot) -> None:
    _, token = bot.send("ready US-001")
    assert _texts(bot.reply(token))[1].startswith(
        ":white_check_mark: *Ready*: meets the Definition of Ready and INVEST."
    )
    _, token = bot.send("ready US-999")
    assert _texts(bot.reply(token)) == [
        "There is no story `US-999` in the backlog. Try an id like `US-001`."
    ]
    response, token = bot.send("ready")
    assert _texts(response.json()) == ["Which story? Give its id.\nUsage: `/backlog ready US-001`"]


def test_capacity_per_sprint_and_role(bot: Bot) -> None:
    _, token = bot.send("capacity 1")
    texts = _texts(bot.reply(token))
    assert texts[1].splitlines() == [
        ":large_orange_circle: *Sprint 1* · 26 of 30 pts (87%)",
        ":large_green_circle: DevOps Engineer: 10 of 80 h (12%)",
        ":large_orange_circle: Backend Developer: 52 of 60 h (87%)",
        ":large_green_circle: QA Engineer: 6 of 40 h (15%)",
    ]
    _, token = bot.send("capacity")
    assert len(_texts(bot.reply(token))) == 4  # header, two sprints, legend


def test_standup_posts_the_digest_to_the_channel(bot: Bot) -> None:
    _, token = bot.send("standup")
    assert _texts(bot.reply(token)) == ["Posted the standup digest in <#C0BACKLOG1>."]
    digest, chart = bot.slack.state.messages_in(bot.slack.channel_id)
    assert digest.blocks[0]["text"]["text"] == "Standup · Sprint 1: Take Payments"
    assert chart.thread_ts == digest.ts and chart.files


def test_rules_list_and_one_rule(bot: Bot) -> None:
    _, token = bot.send("rules")
    listing = _texts(bot.reply(token))[1].splitlines()
    assert "*dor* — acceptance-criteria, capacity, dependencies, estimated, prioritized, " in (
        "\n".join(listing)
    )
    _, token = bot.send("rules dor")
    family = _texts(bot.reply(token))[0]
    assert "• `dor.prioritized` warning — Story has a priority (DoR)." in family
    _, token = bot.send("rules dor.prioritized")
    texts = _texts(bot.reply(token))
    assert texts[0] == "`dor.prioritized` · warning · stable\n*Story has a priority (DoR).*"
    assert texts[1].startswith("What it does: flags a story without a **Priority:** value.")
    _, token = bot.send("rules dor.priority")
    assert _texts(bot.reply(token)) == [
        "There is no rule `dor.priority`. Did you mean `dor.prioritized`?"
    ]


def test_admin_commands_are_refused_politely_to_others(bot: Bot) -> None:
    tokens = []
    for text in ("plan", "sync jira"):
        response, token = bot.send(text, user=MEMBER)
        (message,) = _texts(response.json())
        assert message.startswith(f"Sorry, `/backlog {text.split()[0]}` changes or reads")
        assert message.endswith(f"Please ask <@{ADMIN}>.")
        tokens.append(token)
    finish_lazy_listeners(bot.app)
    assert [bot.slack.state.replies_for(token) for token in tokens] == [[], []]
    assert bot.plans == []


def test_admin_runs_plan(bot: Bot) -> None:
    _, token = bot.send("plan", user=ADMIN)
    texts = _texts(bot.reply(token))
    assert texts == ["Plan", "• jira: 2 to create, 0 to update\n• github: nothing to change"]
    assert bot.plans == ["plan"]
    _, token = bot.send("sync jira", user=ADMIN)
    assert "not configured on this service" in _texts(bot.reply(token))[0]


def test_bad_signature_and_stale_timestamp_are_401(bot: Bot) -> None:
    command, token = bot.slack.command("plan", user_id=ADMIN)
    body = command.body()
    wrong = send_signed(bot.url, body, "not-the-secret")
    stale = send_signed(bot.url, body, bot.slack.signing_secret, timestamp=int(time.time()) - 301)
    assert (wrong.status_code, stale.status_code) == (401, 401)
    fresh = send_signed(bot.url, body, bot.slack.signing_secret, timestamp=int(time.time()) - 200)
    assert fresh.status_code == 200
    # acknowledged as new work (a request already taken would be answered with no body)
    assert _texts(fresh.json()) == [":hourglass_flowing_sand: /backlog plan…"]
    bot.reply(token)
    finish_lazy_listeners(bot.app)
    # only the signed, fresh request ran: one plan, one reply
    assert len(bot.slack.state.replies_for(token)) == 1 and bot.plans == ["plan"]


def test_slack_retry_is_not_executed_twice(bot: Bot) -> None:
    command, token = bot.slack.command("plan", user_id=ADMIN)
    body = command.body()
    first = send_signed(bot.url, body, bot.slack.signing_secret)
    retry = send_signed(bot.url, body, bot.slack.signing_secret, retry_num=1)
    assert first.status_code == retry.status_code == 200
    assert retry.content == b""
    bot.reply(token)
    finish_lazy_listeners(bot.app)
    assert len(bot.slack.state.replies_for(token)) == 1
    assert bot.plans == ["plan"]
