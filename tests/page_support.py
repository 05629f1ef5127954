"""Set-up of the planning page tests: the Slack tests' team data served by the real app.

The team backlog (``tests/data/slack-team.md``), the live state a pull left
(``slack_support.pulled_state``: US-001 done on Wednesday, US-002 in progress) and the
frozen clock (Thursday 19 Nov 2026, day 4 of sprint 1).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from starlette.applications import Starlette

from bot.digests.context import SlackConfig, SlackContext
from bot.service.app import create_app
from bot.settings import Settings, load_settings
from bot.views.routes import page_routes
from bot.wiring.container import service_parts
from sandbox.runner import LOOPBACK, free_port
from tests.slack_support import CALENDAR, FROZEN, TEAM_BACKLOG

PAGE_TOKEN = "page-token-for-tests-0123456789"


def page_settings(database_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "backlog_file": str(TEAM_BACKLOG),
        "timezone": "Europe/Berlin",
        "page_token": PAGE_TOKEN,
        "slack_bot_token": "xoxb-secret-slack-token-for-tests",
        "jira_api_token": "jira-secret-token-for-tests",
        **extra,
    }
    return load_settings(**values)


def page_context(settings: Settings, engine: Engine, clock: datetime = FROZEN) -> SlackContext:
    config = SlackConfig(warn_pct=85.0, calendar=CALENDAR)
    return SlackContext(settings, engine, config=config, clock=lambda: clock)


def page_app(settings: Settings, engine: Engine, clock: datetime = FROZEN) -> Starlette:
    """The service app with the page route, reading the team data on the frozen clock."""
    routes = page_routes(page_context(settings, engine, clock))
    parts = service_parts(settings, engine=engine, owns_engine=False, routes=routes)
    return create_app(parts, start_worker=False)


@contextmanager
def file_server(path: Path) -> Iterator[str]:
    """Serves ``path`` as plain text on loopback (where "backlog line" links point);
    yields its URL."""
    body = path.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("#")[0] != f"/{path.name}":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer((LOOPBACK, free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_port}/{path.name}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
