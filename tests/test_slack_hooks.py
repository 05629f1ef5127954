"""Work added to a running sprint: a signed Jira or GitHub webhook reaches the service, the
worker runs the Slack area's handler, and the capacity alert is posted at once (and once)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.service.app import create_app
from bot.service.inbox import Inbox
from bot.service.worker import HandlerRegistry
from bot.slack.hooks import github_sprint_change, jira_sprint_change, register_sprint_handlers
from bot.slack.post import SlackPoster
from bot.wiring.container import service_parts
from sandbox.runner import ServedApp
from sandbox.slack import SlackSandbox
from sync.state import db
from sync.state.tables import SyncLink
from tests.service_support import wait_until
from tests.slack_support import link, pulled_state, slack_context, slack_settings, store_links

SECRET = "hook-secret"


@dataclass
class Service:
    url: str
    slack: SlackSandbox
    engine: Engine
    inbox: Inbox

    def settled(self, **counts: int) -> None:
        """Wait until the inbox rows have settled with these counts (e.g. ``done=2``)."""
        wanted = {"queued": 0, "processing": 0, "parked": 0, **counts}
        wait_until(
            lambda: {k: v for k, v in self.inbox.counts().items() if k in wanted} == wanted,
            what=f"deliveries settled as {counts}",
        )


@pytest.fixture
def service(database_url: str) -> Iterator[Service]:
    db.upgrade(database_url)
    engine = db.make_engine(database_url)
    links = pulled_state()
    sprint_link = SyncLink(
        target="jira",
        kind="sprint",
        backlog_id="sprint-1",
        remote_id="37",
        remote_key="Sprint 1: Take Payments",
        created_at=datetime(2026, 11, 16, tzinfo=UTC),
        updated_at=datetime(2026, 11, 16, tzinfo=UTC),
    )
    github_story = link("github", "US-004", "#4", "open", remote_id="4004")
    store_links(engine, [*links, sprint_link, github_story])
    with SlackSandbox() as slack:
        settings = slack_settings(
            database_url,
            slack,
            jira_webhook_secret=SECRET,
            github_webhook_secret=SECRET,
            webhook_poll_seconds=0.05,
        )
        ctx = slack_context(settings, engine)
        registry = HandlerRegistry()
        # as the service wires it: a Slack limit longer than a short wait defers the delivery
        register_sprint_handlers(
            registry, ctx, lambda: SlackPoster.from_settings(settings, longest_wait=1.0)
        )
        app = create_app(service_parts(settings, engine=engine, registry=registry))
        with ServedApp(app, lifespan="on") as served:
            yield Service(served.url, slack, engine, app.state.service.inbox)
    engine.dispose()


def _jira_moved(key: str, sprint_id: str, sprint_name: str) -> dict[str, object]:
    return {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": {"displayName": "Carol PO"},
        "issue": {"id": "10004", "key": key, "fields": {"summary": "Fraud checks"}},
        "changelog": {
            "id": "10100",
            "items": [
                {
                    "field": "Sprint",
                    "fieldtype": "custom",
                    "from": "38",
                    "fromString": "Sprint 2: Protect Payments",
                    "to": sprint_id,
                    "toString": sprint_name,
                }
            ],
        },
    }


def _post_jira(url: str, payload: dict[str, object]) -> httpx.Response:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature": signature,
        "X-Atlassian-Webhook-Identifier": uuid.uuid4().hex,
    }
    return httpx.post(f"{url}/webhooks/jira", content=body, headers=headers)


def _alerts(slack: SlackSandbox, count: int) -> list[str]:
    return [m.text for m in slack.wait_for_messages(count=count, timeout=10)]


def test_story_moved_into_running_sprint_posts_error_alert_once(service: Service) -> None:
    response = _post_jira(service.url, _jira_moved("PAY-4", "37", "Sprint 1: Take Payments"))
    assert response.status_code in (200, 202)
    assert _alerts(service.slack, 2) == [
        "Sprint 1: Backend Developer at 113% of capacity (error)",
        "Sprint 1: 39 points committed against a capacity of 30 (error)",
    ]
    for message in service.slack.state.messages_in(service.slack.channel_id):
        assert "Triggered by: US-004 moved to sprint 1 in Jira by Carol PO" in str(message.blocks)
    with Session(service.engine) as session:
        row = session.exec(
            select(SyncLink).where(
                SyncLink.backlog_id == "US-004", SyncLink.kind == "story", SyncLink.target == "jira"
            )
        ).one()
        assert row.remote_sprint == "sprint-1"
    _post_jira(service.url, _jira_moved("PAY-4", "37", "Sprint 1: Take Payments"))
    service.settled(done=2)  # the second move was handled too: capacity checked again
    assert len(service.slack.state.messages_in(service.slack.channel_id)) == 2


def test_a_spent_slack_limit_defers_the_delivery_then_posts_once(service: Service) -> None:
    service.slack.state.rate_limit_next("chat.postMessage", retry_after=2)
    started = time.monotonic()
    response = _post_jira(service.url, _jira_moved("PAY-4", "37", "Sprint 1: Take Payments"))
    assert response.status_code in (200, 202)
    # not waited out in the worker: the delivery went back to the inbox with a not-before time
    wait_until(lambda: service.inbox.counts().get("queued") == 1, what="the delivery deferred")
    assert time.monotonic() - started < 2
    assert _alerts(service.slack, 2) == [
        "Sprint 1: Backend Developer at 113% of capacity (error)",
        "Sprint 1: 39 points committed against a capacity of 30 (error)",
    ]
    service.settled(done=1)
    calls = service.slack.state.calls_to("chat.postMessage")
    assert [c.error for c in calls] == ["ratelimited", None, None]
    assert len(service.slack.state.messages_in(service.slack.channel_id)) == 2


def test_github_milestone_change_posts_the_alert(service: Service) -> None:
    payload = {
        "action": "milestoned",
        "issue": {
            "id": 4004,
            "number": 4,
            "html_url": "https://github.example.test/acme/payments/issues/4",
        },
        "milestone": {"number": 1, "title": "Sprint 1: Take Payments"},
        "sender": {"login": "carol"},
    }
    body = json.dumps(payload).encode()
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = httpx.post(
        f"{service.url}/webhooks/github",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": f"sha256={digest}",
        },
    )
    assert response.status_code in (200, 202)
    assert _alerts(service.slack, 2) == [
        "Sprint 1: Backend Developer at 113% of capacity (error)",
        "Sprint 1: 39 points committed against a capacity of 30 (error)",
    ]
    text = str(service.slack.state.messages_in(service.slack.channel_id)[0].blocks)
    assert "Triggered by: US-004 moved to sprint 1 in Github by carol" in text


def test_issues_of_other_projects_are_ignored(service: Service) -> None:
    _post_jira(service.url, _jira_moved("OTHER-1", "37", "Sprint 1"))
    service.settled(ignored=1, done=0)
    assert service.slack.state.messages_in(service.slack.channel_id) == []


def test_payload_parsing() -> None:
    change = jira_sprint_change(_jira_moved("PAY-4", "37,41", "Sprint 1, Sprint 3"))
    assert change is not None and change.sprint_refs == ("41", "Sprint 3")
    assert jira_sprint_change({"changelog": {"items": [{"field": "status"}]}}) is None
    milestoned = {
        "action": "milestoned",
        "issue": {"number": 7, "html_url": "https://github.example.test/acme/payments/issues/7"},
        "milestone": {"title": "Sprint 1: Take Payments"},
        "sender": {"login": "carol"},
    }
    change = github_sprint_change("issues", milestoned)
    assert change is not None and "#7" in change.keys and change.sprint == "Sprint 1: Take Payments"
    edited = {
        "action": "edited",
        "projects_v2_item": {"content_node_id": "I_kw7"},
        "changes": {"field_value": {"field_name": "Status"}},
    }
    assert github_sprint_change("projects_v2_item", edited) is None
