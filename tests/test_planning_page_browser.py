"""The sprint planning page in a real browser: Chromium from the system packages, driven by
Playwright (pytest-playwright's ``page`` fixture), checked with axe-core.

``scripts/test.sh`` installs Chromium (Debian's ``chromium``); Playwright never downloads a
browser of its own: ``tests/conftest.py`` points it at the system binary.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from sqlalchemy.engine import Engine

from backlog.parse import load_backlog
from sync.state import db
from tests.page_support import PAGE_TOKEN, file_server, page_app, page_settings
from tests.service_support import LiveApp
from tests.slack_support import TEAM_BACKLOG, pulled_state, store_links

PHONE = {"width": 375, "height": 740}
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, object]) -> dict[str, object]:
    # the page token as HTTP Basic credentials, as a person would type it into the prompt
    return {
        **browser_context_args,
        "http_credentials": {"username": "team", "password": PAGE_TOKEN},
    }


@pytest.fixture
def site(sqlite_url: str) -> Iterator[tuple[str, str]]:
    """(page URL, backlog file URL): the service with the team data, and the backlog on the
    web (a loopback file server standing in for the repository's file view)."""
    db.upgrade(sqlite_url)
    engine: Engine = db.make_engine(sqlite_url)
    store_links(engine, pulled_state())
    with file_server(TEAM_BACKLOG) as backlog_url:
        settings = page_settings(sqlite_url, backlog_web_url=backlog_url)
        with LiveApp(page_app(settings, engine)) as live:
            yield f"{live.url}/", backlog_url
    engine.dispose()


def test_page_numbers_links_phone_width_and_accessibility(
    page: Page, site: tuple[str, str]
) -> None:
    url, backlog_url = site
    response = page.goto(url)
    assert response is not None and response.status == 200
    expect(page).to_have_title("Sprint planning · Payments Team Backlog")

    # the numbers, against the backlog file
    backlog = load_backlog(TEAM_BACKLOG)
    stories = backlog.stories_by_id()
    for sprint in backlog.sprints:
        points = sum(stories[c.story_id].points or 0 for c in sprint.committed)
        cell = page.locator(f"#sprint-{sprint.number}-points .value")
        expect(cell).to_have_text(str(points))
        expect(page.locator(f"#sprint-{sprint.number}-points")).to_contain_text(
            f"/ {sprint.capacity_points} pts"
        )
    last_row = page.locator("#burndown-table tbody tr").last
    expect(last_row.locator("td")).to_have_text(["26", "13", "13", "15.6"])
    expect(page.locator("#burndown-summary")).to_contain_text("13 of 26 points done (50%)")
    svg = page.get_by_role("img", name="Burndown of sprint 1")
    expect(svg).to_be_visible()
    expect(page.locator("#forecast")).to_be_visible()

    # in-page navigation, then the backlog line of a finding
    page.get_by_role("link", name="Findings").click()
    expect(page).to_have_url(re.compile(r"#findings$"))
    story = stories["US-005"]
    group = page.locator("#item-US-005")
    expect(group).to_contain_text("dor.user-story")
    group.get_by_role("link", name=f"backlog line {story.line}").click()
    expect(page).to_have_url(f"{backlog_url}#L{story.line}")
    expect(page.locator("body")).to_contain_text("### Story 1.5: Saved Cards")
    page.go_back()
    expect(page).to_have_url(re.compile(r"#findings$"))

    # a phone: nothing wider than the screen (wide tables scroll inside their region)
    page.set_viewport_size(PHONE)
    page.goto(url)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px phone"
    expect(page.locator("h1")).to_be_in_viewport()
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "planning-page-phone.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000

    # axe-core: no serious or critical violation, on the phone and on a desktop
    for viewport in (PHONE, {"width": 1280, "height": 900}):
        page.set_viewport_size(viewport)
        results = Axe().run(page)
        serious = [
            f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], serious
