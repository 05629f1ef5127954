"""Every official example payload of the events we subscribe to is accepted and processed.

GitHub's examples come from npm ``@octokit/webhooks-examples`` (installed by scripts/test.sh);
Jira's from Atlassian's webhook documentation (``tests/oracles/jira/webhook-examples``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.service.app import create_app
from bot.service.inbox import Delivery
from bot.service.worker import HandlerRegistry
from bot.settings import load_settings
from bot.wiring.container import SUBSCRIBED_GITHUB_EVENTS, service_parts
from sandbox import oracles
from sync.state import db
from tests.oracle_files import JIRA_ISSUE_UPDATED
from tests.service_support import (
    GITHUB_SECRET,
    JIRA_SECRET,
    LiveApp,
    github_delivery,
    jira_delivery,
    wait_until,
)

# GitHub's official examples (npm @octokit/webhooks-examples); installed when missing, so a
# missing oracle fails loudly instead of skipping the contract.
OCTOKIT = oracles.ensure("webhooks-examples") / "api.github.com" / "index.json"


def github_examples() -> list[tuple[str, int, dict[str, Any]]]:
    events = {entry["name"]: entry["examples"] for entry in json.loads(OCTOKIT.read_text())}
    missing = set(SUBSCRIBED_GITHUB_EVENTS) - set(events)
    assert not missing, f"no official examples for {missing}"
    return [
        (name, index, example)
        for name in SUBSCRIBED_GITHUB_EVENTS
        for index, example in enumerate(events[name])
    ]


def summarise(delivery: Delivery) -> str:
    """What a real handler reads first: the repository, and the object the event is about."""
    payload = delivery.payload
    repository = (payload.get("repository") or {}).get("full_name", "-")
    subject = next(
        (
            key
            for key in (
                "issue",
                "pull_request",
                "check_run",
                "check_suite",
                "projects_v2_item",
                "commits",
            )
            if key in payload
        ),
        "-",
    )
    return f"{delivery.event}:{delivery.action}:{repository}:{subject}"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Any, list[str]]]:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db.upgrade(url)
    settings = load_settings(
        database_url=url, github_webhook_secret=GITHUB_SECRET, jira_webhook_secret=JIRA_SECRET
    )
    registry = HandlerRegistry()
    processed: list[str] = []
    for event in SUBSCRIBED_GITHUB_EVENTS:
        registry.add("github", event, lambda d: processed.append(summarise(d)))
    registry.add(
        "jira", "jira:issue_updated", lambda d: processed.append(d.payload["issue"]["key"])
    )
    app = create_app(service_parts(settings, registry=registry))
    with LiveApp(app) as live:
        yield live.url, app.state.service.inbox, processed


def test_every_octokit_example_is_accepted_and_processed(served) -> None:  # type: ignore[no-untyped-def]
    url, inbox, processed = served
    examples = github_examples()
    assert len(examples) >= 90
    with httpx.Client(base_url=url, timeout=10) as client:
        for name, index, example in examples:
            body, headers = github_delivery(example, name, delivery_id=f"{name}-{index}")
            response = client.post("/webhooks/github", content=body, headers=headers)
            assert response.status_code == 202, (name, index, response.text)
            assert response.json()["status"] == "queued"
    wait_until(lambda: inbox.counts()["done"] == len(examples), timeout=30, what="drain")
    counts = inbox.counts()
    assert counts == {
        "queued": 0,
        "processing": 0,
        "done": len(examples),
        "parked": 0,
        "ignored": 0,
    }
    assert len(processed) == len(examples)
    assert sum(1 for p in processed if p.startswith("push:None:")) == len(
        [e for e in examples if e[0] == "push"]
    )


def test_examples_of_other_events_are_acknowledged_and_ignored(served) -> None:  # type: ignore[no-untyped-def]
    url, inbox, processed = served
    entries = json.loads(OCTOKIT.read_text())
    others = [
        (e["name"], e["examples"][0])
        for e in entries
        if e["name"] not in SUBSCRIBED_GITHUB_EVENTS and e["examples"]
    ]
    with httpx.Client(base_url=url, timeout=10) as client:
        for name, example in others:
            response = client.post("/webhooks/github", **_req(example, name))
            assert response.status_code == 202, name
            assert response.json()["status"] == "ignored"
    assert inbox.counts()["ignored"] == len(others)
    assert processed == []


def _req(example: dict[str, Any], name: str) -> dict[str, Any]:
    body, headers = github_delivery(example, name)
    return {"content": body, "headers": headers}


def test_atlassian_documented_issue_updated_example_is_accepted(served) -> None:  # type: ignore[no-untyped-def]
    url, inbox, processed = served
    body = JIRA_ISSUE_UPDATED.read_bytes()
    body_, headers = jira_delivery(body)
    response = httpx.post(url + "/webhooks/jira", content=body_, headers=headers)
    assert response.status_code == 202
    # The handler runs before the worker settles the row: wait for the row, not the handler.
    wait_until(lambda: inbox.counts()["done"] == 1, what="the delivery settled as done")
    assert processed == ["JRA-20002"]
    (row,) = inbox.list()
    assert (row["event"], row["action"], row["status"]) == (
        "jira:issue_updated",
        "issue_generic",
        "done",
    )


def test_production_handlers_process_or_ignore_every_example(tmp_path: Path) -> None:
    """The real registry (DoR/DoD validation on, GitHub pointed at the sandbox): the examples
    name another repository or unknown board items, so each is processed or ignored, and
    none fails, is parked, or reaches GitHub with a write."""
    from bot.wiring.container import build_service
    from sandbox.github import GitHubSandbox

    examples = github_examples()
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db.upgrade(url)
    with GitHubSandbox() as sandbox:
        settings = load_settings(
            database_url=url,
            github_webhook_secret=GITHUB_SECRET,
            **{k.lower(): v for k, v in sandbox.env().items()},
        )
        app = create_app(build_service(settings, scheduler=False))
        with LiveApp(app) as live, httpx.Client(base_url=live.url, timeout=10) as client:
            for name, index, example in examples:
                body, headers = github_delivery(example, name, delivery_id=f"{name}-{index}")
                response = client.post("/webhooks/github", content=body, headers=headers)
                assert response.status_code == 202, (name, index)
            inbox = app.state.service.inbox
            wait_until(
                lambda: inbox.counts()["done"] + inbox.counts()["ignored"] == len(examples),
                timeout=30,
                what="drain",
            )
            counts = inbox.counts()
        writes = [r for r in sandbox.requests() if r["method"] != "GET"]
    assert counts["parked"] == counts["queued"] == counts["processing"] == 0
    assert writes == []
