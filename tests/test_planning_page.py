"""The sprint planning page over HTTP (auth, numbers, no secrets) and ``report --html``."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from starlette.applications import Starlette

from backlog.parse import load_backlog
from bot.cli import main
from sync.state import db
from tests.page_support import PAGE_TOKEN, page_app, page_settings
from tests.service_support import LiveApp
from tests.slack_support import TEAM_BACKLOG, pulled_state, store_links

BEARER = {"Authorization": f"Bearer {PAGE_TOKEN}"}


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    db.upgrade(sqlite_url)
    engine = db.make_engine(sqlite_url)
    store_links(engine, pulled_state())
    yield engine
    engine.dispose()


@contextmanager
def serving(app: Starlette) -> Iterator[httpx.Client]:
    """The app under uvicorn on loopback, and an HTTP client for it."""
    with LiveApp(app) as live, httpx.Client(base_url=live.url, timeout=30) as http:
        yield http


@pytest.fixture
def client(sqlite_url: str, engine: Engine) -> Iterator[httpx.Client]:
    with serving(page_app(page_settings(sqlite_url), engine)) as http:
        yield http


def text_of(html: str, element_id: str) -> str:
    """The text of the element with ``element_id`` (tags dropped, spaces collapsed)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.DOTALL)
    assert match, element_id
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(2)).split())


def table_rows(html: str, table_id: str) -> list[list[str]]:
    match = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.DOTALL)
    assert match, table_id
    rows = re.findall(r"<tr>(.*?)</tr>", match.group(1), re.DOTALL)
    return [
        [
            " ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)
        ]
        for row in rows
    ]


def test_page_off_without_a_token(sqlite_url: str, engine: Engine) -> None:
    with serving(page_app(page_settings(sqlite_url, page_token=None), engine)) as client:
        response = client.get("/")
    assert response.status_code == 403
    assert response.text.startswith("the planning page is off: set PAGE_TOKEN")


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-token", "Basic " + base64.b64encode(b"me:wrong").decode(), "Basic %%%"],
)
def test_wrong_or_missing_token_is_refused(client: httpx.Client, header: str | None) -> None:
    response = client.get("/", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Basic realm="backlog-bot"')
    assert PAGE_TOKEN not in response.text


def test_bearer_and_basic_auth_give_the_same_page(client: httpx.Client) -> None:
    basic = base64.b64encode(f"anyone:{PAGE_TOKEN}".encode()).decode()
    first = client.get("/", headers=BEARER)
    second = client.get("/", headers={"Authorization": f"Basic {basic}"})
    assert first.status_code == second.status_code == 200
    assert first.text == second.text
    assert first.headers["content-security-policy"].startswith("default-src 'none'")
    assert first.headers["cache-control"] == "no-store"


def test_proxy_mode_wants_the_proxy_user_header(sqlite_url: str, engine: Engine) -> None:
    settings = page_settings(sqlite_url, page_token=None, page_auth="proxy")
    with serving(page_app(settings, engine)) as client:
        assert client.get("/").status_code == 401
        assert client.get("/", headers={"X-Forwarded-User": "alice"}).status_code == 200


def test_numbers_match_the_backlog_and_the_live_state(client: httpx.Client) -> None:
    html = client.get("/", headers=BEARER).text
    backlog = load_backlog(TEAM_BACKLOG)
    sprint_1, _ = backlog.sprints
    stories = backlog.stories_by_id()
    planned_1 = sum(stories[c.story_id].points or 0 for c in sprint_1.committed)
    assert (planned_1, sprint_1.capacity_points) == (26, 30)
    assert text_of(html, "sprint-1-points") == "26 / 30 pts 87% near capacity"
    assert text_of(html, "sprint-2-points") == "21 / 30 pts 70%"
    assert text_of(html, "burndown-summary") == (
        "Day 4 of 10 (Mon 16 Nov – Fri 27 Nov) · 13 of 26 points done (50%) · "
        "Ideal by today: 10.4 points done, 2.6 points ahead of the ideal line"
    )
    # US-001 (13) was done on Wednesday; the table is the chart's numbers
    assert table_rows(html, "burndown-table") == [
        ["start", "26", "0", "26", "26"],
        ["Mon 16 Nov", "26", "0", "26", "23.4"],
        ["Tue 17 Nov", "26", "0", "26", "20.8"],
        ["Wed 18 Nov", "26", "13", "13", "18.2"],
        ["Thu 19 Nov", "26", "13", "13", "15.6"],
    ]
    assert '<svg viewBox="0 0 640 320" role="img" aria-labelledby="burndown-svg-title' in html


def test_findings_grouped_by_story_with_issue_links(client: httpx.Client) -> None:
    html = client.get("/", headers=BEARER).text
    group = text_of(html, "item-US-005")
    assert group.startswith("US-005 Saved Cards Jira issue of US-005")
    for rule in ("dor.acceptance-criteria", "dor.prioritized", "dor.user-story"):
        assert rule in group
    assert 'href="https://jira.example.test/browse/PAY-5"' in html


def test_no_secret_or_internal_url_on_the_page(sqlite_url: str, client: httpx.Client) -> None:
    html = client.get("/", headers=BEARER).text
    for secret in (PAGE_TOKEN, "xoxb-secret-slack-token-for-tests", "jira-secret-token"):
        assert secret not in html
    assert sqlite_url not in html and "sqlite" not in html
    assert "api.github.com" not in html and "slack.com/api" not in html
    assert str(TEAM_BACKLOG.parent) not in html  # the file's name only, not where it lives
    assert "<script" not in html


def test_report_html_writes_the_same_page(
    sqlite_url: str,
    client: httpx.Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "backlog-bot.toml"
    config.write_text('[calendar]\nsprint1_start = "2026-11-16"\nsprint_length_days = 14\n')
    monkeypatch.setenv("BACKLOG_BOT_CONFIG", str(config))
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("TIMEZONE", "Europe/Berlin")
    output = tmp_path / "out" / "report.html"
    args = ["report", "--html", str(TEAM_BACKLOG), "-o", str(output), "--today", "2026-11-19"]
    assert main(args) == 0
    assert capsys.readouterr().out == f"sprint planning page written to {output}\n"
    assert output.read_text(encoding="utf-8") == client.get("/", headers=BEARER).text


def test_report_needs_html_and_an_existing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(TEAM_BACKLOG)]) == 2
    assert "--html" in capsys.readouterr().err
    assert main(["report", "--html", str(tmp_path / "missing.md")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such backlog file" in err
