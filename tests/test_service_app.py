"""The service app: health, readiness, metrics, integration hooks and the inbox commands."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.cli.app import main
from bot.service.app import Service, create_app
from bot.service.worker import HandlerRegistry
from bot.settings import load_settings
from bot.wiring.container import service_parts
from sandbox.runner import free_port, serve
from sync.state import db
from tests.service_support import GITHUB_SECRET, LiveApp, github_delivery, wait_until


def migrated(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db.upgrade(url)
    return url


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_healthz_and_readyz_with_only_a_database(tmp_path: Path) -> None:
    app = create_app(
        service_parts(load_settings(database_url=migrated(tmp_path))), start_worker=False
    )
    with LiveApp(app) as live:
        assert httpx.get(live.url + "/healthz").json() == {"status": "ok"}
        ready = httpx.get(live.url + "/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "checks": {"database": "ok"}}


def test_readyz_503_names_the_unmigrated_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    app = create_app(service_parts(load_settings(database_url=url)), start_worker=False)
    with LiveApp(app) as live:
        ready = httpx.get(live.url + "/readyz")
        assert ready.status_code == 503
        assert "backlog-bot db upgrade" in ready.json()["checks"]["database"]
        assert httpx.get(live.url + "/healthz").status_code == 200  # alive, not ready


def test_readyz_checks_configured_targets(tmp_path: Path) -> None:
    calls: list[str] = []

    async def server_info(request: Request) -> Response:
        calls.append(f"jira {request.headers.get('authorization', '')[:6]}")
        return JSONResponse({"version": "1001.0.0"})

    async def rate_limit(request: Request) -> Response:
        calls.append(f"github {request.headers.get('authorization', '')[:7]}")
        return JSONResponse({"resources": {}, "rate": {"limit": 5000}})

    remote = Starlette(
        routes=[Route("/rest/api/2/serverInfo", server_info), Route("/rate_limit", rate_limit)]
    )
    url = migrated(tmp_path)
    with serve(remote) as fake:
        settings = load_settings(
            database_url=url,
            jira_url=fake.url,
            jira_email="a@b.c",
            jira_api_token="t0ken-j",
            github_api_url=fake.url,
            github_token="t0ken-g",
        )
        with LiveApp(create_app(service_parts(settings), start_worker=False)) as live:
            ready = httpx.get(live.url + "/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "jira": "ok", "github": "ok"}
    assert sorted(calls) == ["github Bearer ", "jira Basic "]

    dead = f"http://127.0.0.1:{free_port()}"
    settings = load_settings(database_url=url, jira_url=dead, readiness_timeout_seconds=0.5)
    with LiveApp(create_app(service_parts(settings), start_worker=False)) as live:
        ready = httpx.get(live.url + "/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["jira"].startswith(f"{dead}/rest/api/2/serverInfo: ")


def test_metrics_count_requests_deliveries_and_inbox(tmp_path: Path) -> None:
    settings = load_settings(database_url=migrated(tmp_path), github_webhook_secret=GITHUB_SECRET)
    registry = HandlerRegistry()
    registry.add("github", "issues", lambda d: None)
    app = create_app(service_parts(settings, registry=registry))
    app.state.service.metrics.record_api_calls({"jira GET": 3, "github POST": 1})
    with app.state.service.metrics.job("digest"):
        pass
    with LiveApp(app) as live:
        body, headers = github_delivery({"action": "opened"}, "issues")
        httpx.post(live.url + "/webhooks/github", content=body, headers=headers)
        httpx.post(live.url + "/webhooks/github", content=body, headers=headers)
        httpx.post(live.url + "/webhooks/github", content=body, headers={})
        httpx.get(live.url + "/nowhere")
        inbox = app.state.service.inbox
        wait_until(lambda: inbox.counts()["done"] == 1)
        response = httpx.get(live.url + "/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    gh = (("event", "issues"), ("source", "github"))
    assert (
        found[("backlog_bot_webhook_deliveries_total", (*gh[:1], ("outcome", "accepted"), *gh[1:]))]
        == 1
    )
    assert (
        found[
            (
                "backlog_bot_webhook_deliveries_total",
                (("event", "-"), ("outcome", "unauthorized"), ("source", "github")),
            )
        ]
        == 1
    )
    assert (
        found[
            (
                "backlog_bot_webhook_processed_total",
                (("event", "issues"), ("outcome", "done"), ("source", "github")),
            )
        ]
        == 1
    )
    assert (
        found[
            (
                "backlog_bot_http_requests_total",
                (("method", "POST"), ("route", "/webhooks/github"), ("status", "202")),
            )
        ]
        == 2
    )
    assert (
        found[
            (
                "backlog_bot_http_requests_total",
                (("method", "GET"), ("route", "unmatched"), ("status", "404")),
            )
        ]
        == 1
    )
    assert found[("backlog_bot_inbox_deliveries", (("status", "done"),))] == 1
    assert found[("backlog_bot_inbox_deliveries", (("status", "parked"),))] == 0
    assert found[("backlog_bot_api_calls_total", (("call", "GET"), ("service", "jira")))] == 3
    assert found[("backlog_bot_job_runs_total", (("job", "digest"), ("outcome", "ok")))] == 1


def test_each_app_has_its_own_registry(tmp_path: Path) -> None:
    url = migrated(tmp_path)
    first = create_app(service_parts(load_settings(database_url=url)), start_worker=False)
    second = create_app(service_parts(load_settings(database_url=url)), start_worker=False)
    first.state.service.metrics.job_runs.labels("x", "ok").inc()
    assert b'job="x"' not in second.state.service.metrics.render()


def test_slack_handler_extra_routes_and_hooks(tmp_path: Path) -> None:
    events: list[str] = []

    async def slack(request: Request) -> Response:
        return PlainTextResponse("slack:" + (await request.body()).decode())

    async def started(service: Service) -> None:
        events.append(f"start {type(service.metrics).__name__}")

    parts = service_parts(
        load_settings(database_url=migrated(tmp_path)),
        slack_handler=slack,
        routes=[Route("/extra", lambda r: PlainTextResponse("x"))],
        on_startup=[started],
        on_shutdown=[lambda service: events.append("stop")],
    )
    app = create_app(parts, start_worker=False)
    with LiveApp(app) as live:
        assert httpx.post(live.url + "/slack/events", content=b"hi").text == "slack:hi"
        assert httpx.get(live.url + "/extra").text == "x"
    assert events == ["start Metrics", "stop"]


def test_inbox_commands_list_and_retry_parked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = migrated(tmp_path)
    settings = load_settings(
        database_url=url, github_webhook_secret=GITHUB_SECRET, webhook_max_attempts=1
    )
    registry = HandlerRegistry()

    def broken(delivery: object) -> None:
        raise ValueError("story US-042 not found in Jira")

    registry.add("github", "issues", broken)
    app = create_app(service_parts(settings, registry=registry))
    with LiveApp(app) as live:
        body, headers = github_delivery({"action": "edited"}, "issues")
        httpx.post(live.url + "/webhooks/github", content=body, headers=headers)
        wait_until(lambda: app.state.service.inbox.counts()["parked"] == 1)
    assert (
        main(["inbox", "list", "--status", "parked", "--format", "json", "--database-url", url])
        == 0
    )
    listing = json.loads(capsys.readouterr().out)
    assert listing["counts"]["parked"] == 1
    [row] = listing["deliveries"]
    assert row["last_error"] == "ValueError: story US-042 not found in Jira"
    assert main(["inbox", "list", "--database-url", url]) == 0
    assert "US-042" in capsys.readouterr().out
    assert main(["inbox", "retry", str(row["id"]), "--database-url", url]) == 0
    assert "queued again" in capsys.readouterr().out
    assert app.state.service.inbox.counts()["queued"] == 1
    assert main(["inbox", "retry", "999", "--database-url", url]) == 2
    assert "no delivery with id 999" in capsys.readouterr().err
    assert main(["inbox", "list", "--status", "lost", "--database-url", url]) == 2


def test_readyz_against_the_jira_and_github_sandboxes(tmp_path: Path) -> None:
    from sandbox.github import GitHubSandbox
    from sandbox.jira import JiraSandbox

    with JiraSandbox() as jira, GitHubSandbox() as github:
        env = {k.lower(): v for k, v in {**jira.env(), **github.env()}.items()}
        settings = load_settings(database_url=migrated(tmp_path), **env)
        with LiveApp(create_app(service_parts(settings), start_worker=False)) as live:
            ready = httpx.get(live.url + "/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "jira": "ok", "github": "ok"}
        paths = [r["path"] for r in github.requests()]
        assert "/rate_limit" in paths
        bad = load_settings(database_url=migrated(tmp_path), **{**env, "github_token": "nope"})
        with LiveApp(create_app(service_parts(bad), start_worker=False)) as live:
            ready = httpx.get(live.url + "/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["github"].endswith("HTTP 401 (check the token)")
