"""Two replicas on one database and a spent rate limit, end to end over HTTP: one bot comment
per issue whatever the concurrency; a rate-limited GitHub defers its deliveries (``/readyz``
degraded, reset time in ``/metrics``) while Jira deliveries keep flowing, and a rate-limited
Jira defers its own while GitHub deliveries keep flowing."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from backlog.parse import load_backlog
from bot.service.app import create_app
from bot.settings import load_settings
from bot.validation.report_text import MARKER
from bot.wiring.container import build_service
from sandbox.github import GitHubSandbox
from sandbox.jira import Fault, JiraSandbox, ProjectSpec
from tests.github_support import github_target, migrated_engine
from tests.service_support import (
    GITHUB_SECRET,
    JIRA_SECRET,
    LiveApp,
    github_delivery,
    jira_delivery,
    wait_until,
)

ROOT = Path(__file__).resolve().parent.parent
BILLING = ROOT / "tests" / "data" / "billing-backlog.md"
UNREADY = (
    "**Story Points:** 5\n**Priority:** Medium",
    "**Story Points:** TBD\n**Priority:** Medium",
)


@contextmanager
def replicas(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int, **extra: Any
) -> Iterator[tuple[GitHubSandbox, list[Any], list[str]]]:
    """``count`` service replicas on ``url`` validating a synced, unready billing backlog."""
    engine = migrated_engine(url)
    backlog = tmp_path / "backlog.md"
    text = BILLING.read_text()
    assert UNREADY[0] in text
    backlog.write_text(text.replace(*UNREADY))
    config = tmp_path / "backlog-bot.toml"
    config.write_text('[validation]\nbot-logins = ["backlog-bot[bot]"]\n')
    monkeypatch.setenv("BACKLOG_BOT_CONFIG", str(config))
    with GitHubSandbox() as sandbox, ExitStack() as stack:
        with github_target(sandbox, engine) as target:
            report = target.sync.apply(load_backlog(backlog))
            assert not report.failures, report.failures
        settings = load_settings(
            database_url=url, github_webhook_secret=GITHUB_SECRET, backlog_file=str(backlog),
            webhook_poll_seconds=0.1, **extra,
            **{k.lower(): v for k, v in sandbox.env().items()},
        )  # fmt: skip
        apps, urls = [], []
        for _ in range(count):  # each replica with its own engine, as separate processes
            app = create_app(build_service(settings, scheduler=False))
            apps.append(app)
            urls.append(stack.enter_context(LiveApp(app)).url)
        yield sandbox, apps, urls
    engine.dispose()


def edited(number: int) -> dict[str, Any]:
    return {
        "action": "edited",
        "issue": {"number": number, "title": "edited"},
        "repository": {"full_name": "acme/bss"},
        "sender": {"login": "octocat"},
    }


def drained(app: Any) -> bool:
    counts = app.state.service.inbox.counts()
    return bool(counts["queued"] == 0 and counts["processing"] == 0)


def bot_comments(sandbox: GitHubSandbox, number: int) -> list[dict[str, Any]]:
    return [
        c for c in sandbox.repo.comments.values() if c["issue"] == number and MARKER in c["body"]
    ]


@pytest.mark.slow  # two live services on one PostgreSQL
@pytest.mark.postgres
def test_concurrent_deliveries_for_one_issue_on_two_replicas_make_one_comment(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with replicas(postgres_url, tmp_path, monkeypatch, 2) as (sandbox, apps, urls):
        numbers = sorted({n for ns in sandbox.issues_by_marker().values() for n in ns})
        barrier = threading.Barrier(16, timeout=30)

        def send(index: int) -> None:
            body, headers = github_delivery(edited(numbers[index % len(numbers)]), "issues")
            barrier.wait()
            response = httpx.post(f"{urls[index % 2]}/webhooks/github", content=body,
                                  headers=headers, timeout=30)  # fmt: skip
            assert response.status_code == 202, response.text

        threads = [threading.Thread(target=send, args=(i,)) for i in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        wait_until(lambda: drained(apps[0]), timeout=90, what="both replicas drained")
        rows = apps[0].state.service.inbox.list(limit=100)
        assert [r["status"] for r in rows] == ["done"] * 16
        commented = [n for n in numbers if bot_comments(sandbox, n)]
        assert commented, "the unready stories got no report at all"
        assert {n: len(bot_comments(sandbox, n)) for n in commented} == {n: 1 for n in commented}


def test_spent_github_limit_defers_github_while_jira_flows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = tmp_path / "journal.txt"
    monkeypatch.setenv("BACKLOG_BOT_TEST_JOURNAL", str(journal))
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    with replicas(
        url, tmp_path, monkeypatch, 1, jira_webhook_secret=JIRA_SECRET,
        webhook_handler_modules="tests.service_handlers:register_jira",
    ) as (sandbox, [app], [base]):  # fmt: skip
        number = min(n for ns in sandbox.issues_by_marker().values() for n in ns)
        sandbox.limits.configure("core", limit=0, window=600)  # the hour's budget is spent
        body, headers = github_delivery(edited(number), "issues")
        assert httpx.post(f"{base}/webhooks/github", content=body, headers=headers).is_success
        wait_until(lambda: app.state.service.inbox.list()[0]["deferred_reason"], what="deferral")
        for i in range(3):
            payload = {"webhookEvent": "jira:issue_updated", "issue": {"key": f"BSS-{i}"}}
            body, headers = jira_delivery(payload)
            assert httpx.post(f"{base}/webhooks/jira", content=body, headers=headers).is_success
        wait_until(lambda: journal.exists() and journal.read_text().count("done") == 3,
                   what="jira deliveries processed")  # fmt: skip
        [github_row] = [r for r in app.state.service.inbox.list() if r["source"] == "github"]
        assert github_row["status"] == "queued" and github_row["attempts"] == 0
        ready = httpx.get(f"{base}/readyz").json()
        assert ready["status"] == "degraded" and "rate limit spent" in ready["degraded"]["github"]
        metrics = httpx.get(f"{base}/metrics").text
        reset = float(sandbox.limits.peek("core")["reset"])
        [line] = [
            m
            for m in metrics.splitlines()
            if m.startswith('backlog_bot_target_rate_limited_until{target="github"}')
        ]
        assert abs(float(line.split()[-1]) - reset) < 5
        assert "backlog_bot_inbox_deferred 1.0" in metrics
        assert 'backlog_bot_webhook_deferred_total{reason="rate_limited",source="github"}' in (
            metrics
        )
        assert bot_comments(sandbox, number) == []
        json.dumps(ready)  # the answer is plain JSON


def test_spent_jira_limit_defers_jira_while_github_flows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jira answers every request 429 with ``Retry-After: 8``, more than the worker may wait
    in-process: the Jira delivery goes back to the inbox at once (no 5 x 30 s of sleeping in
    the worker), a second one is deferred without calling Jira, GitHub deliveries are
    validated meanwhile, and once Jira's time has passed the Jira deliveries run."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    with (
        JiraSandbox([ProjectSpec("BSS", flavour="team")]) as jira,
        replicas(
            url, tmp_path, monkeypatch, 1, jira_webhook_secret=JIRA_SECRET,
            **{k.lower(): v for k, v in jira.env().items()},
        ) as (sandbox, [app], [base]),
    ):  # fmt: skip
        jira.inject_fault(Fault("rate_limit", retry_after=8))
        inbox = app.state.service.inbox
        sent = time.monotonic()
        for i in (1, 2):
            body, headers = jira_delivery(jira_update(f"BSS-{i}"), delivery_id=f"jira-{i}")
            assert httpx.post(f"{base}/webhooks/jira", content=body, headers=headers).is_success
            wait_until(lambda n=i: deferred(inbox) == n, what=f"jira delivery {i} deferred")
        assert time.monotonic() - sent < 5  # deferred, not slept on
        assert [r.status for r in jira.requests] == [429]  # one try; the second never called
        numbers = sorted({n for ns in sandbox.issues_by_marker().values() for n in ns})[:3]
        for number in numbers:
            body, headers = github_delivery(edited(number), "issues")
            assert httpx.post(f"{base}/webhooks/github", content=body, headers=headers).is_success
        wait_until(lambda: sum(r["status"] == "done" for r in inbox.list()) == 3,
                   timeout=30, what="github deliveries validated")  # fmt: skip
        rows = {r["delivery_id"]: r for r in inbox.list()}
        for i in (1, 2):
            row = rows[f"jira-{i}"]
            assert (row["status"], row["attempts"]) == ("queued", 0), row
            assert "rate limit" in row["deferred_reason"]
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200  # still takes webhooks and serves GitHub
        assert ready.json()["status"] == "degraded"
        assert "rate limit spent" in ready.json()["degraded"]["jira"]
        metrics = httpx.get(f"{base}/metrics").text
        gauge = 'backlog_bot_target_rate_limited_until{target="jira"}'
        [line] = [m for m in metrics.splitlines() if m.startswith(gauge)]
        assert 0 < float(line.split()[-1]) - time.time() <= 9
        assert "backlog_bot_inbox_deferred 2.0" in metrics
        assert 'backlog_bot_webhook_deferred_total{reason="rate_limited",source="jira"} 2.0' in (
            metrics
        )
        jira.clear_faults()
        wait_until(lambda: {r["status"] for r in inbox.list()} <= {"done", "ignored"},
                   timeout=30, what="jira deliveries run after the reset")  # fmt: skip
        rows = {r["delivery_id"]: r for r in inbox.list()}
        assert [rows[f"jira-{i}"]["attempts"] for i in (1, 2)] == [1, 1]


def jira_update(key: str) -> dict[str, Any]:
    return {
        "webhookEvent": "jira:issue_updated",
        "issue": {"key": key},
        "user": {"accountId": "someone"},
        "changelog": {"items": [{"field": "status", "toString": "In Progress"}]},
    }


def deferred(inbox: Any) -> int:
    return sum(1 for r in inbox.list() if r["deferred_reason"] and r["status"] == "queued")
