"""Helpers for the Jira tests: a sandbox site, an engine wired to it, request-log queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from backlog.parse import load_backlog
from sandbox.jira import JiraSandbox, ProjectSpec
from sync.jira.adapter import SAFE_POSTS, JiraAdapter
from sync.jira.engine import JiraSync
from sync.jira.mapping import JiraMappingConfig
from sync.retry import RetryPolicy
from sync.state.db import make_engine, upgrade
from sync.state.links import LinkStore

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "examples" / "bss-modernization.md"
SOURCE = "examples/bss-modernization.md"
MAPPING = JiraMappingConfig.from_table({"sprint_start": "2026-01-05"})
FAST_RETRY = RetryPolicy(attempts=6, base_delay=0.01, max_delay=0.05, safe_post_paths=SAFE_POSTS)


@contextmanager
def jira_site(flavour: str = "team", **kwargs: object) -> Iterator[JiraSandbox]:
    with JiraSandbox([ProjectSpec("BSS", flavour=flavour)], **kwargs) as sandbox:  # type: ignore[arg-type]
        yield sandbox


_ENGINES: list = []  # type: ignore[type-arg]


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    """Close every database engine a test made (PostgreSQL connections warn otherwise)."""
    yield
    while _ENGINES:
        _ENGINES.pop().dispose()


def make_sync(
    sandbox: JiraSandbox,
    database_url: str,
    *,
    token: str | None = None,
    project: str = "BSS",
    timeout: tuple[float, float] = (2.0, 5.0),
    retry: RetryPolicy = FAST_RETRY,
) -> JiraSync:
    upgrade(database_url)
    adapter = JiraAdapter(
        sandbox.url,
        login_email(sandbox),
        token or sandbox.token,
        project,
        timeout=timeout,
        requests_per_second=0,
        retry=retry,
    )
    engine = make_engine(database_url)
    _ENGINES.append(engine)
    return JiraSync(adapter, LinkStore(engine, "jira"), MAPPING)


def login_email(sandbox: JiraSandbox) -> str:
    """The account email on Cloud; none on Data Center (a personal access token alone)."""
    return sandbox.email if sandbox.deployment == "cloud" else ""


def authorize(session: requests.Session, sandbox: JiraSandbox) -> None:
    """Log a raw requests session in as the sandbox's user (Basic on Cloud, Bearer on DC)."""
    if sandbox.deployment == "cloud":
        session.auth = (sandbox.email, sandbox.token)
    else:
        session.headers["Authorization"] = f"Bearer {sandbox.token}"


def reference_backlog():  # type: ignore[no-untyped-def]
    return load_backlog(REFERENCE)


def writes(sandbox: JiraSandbox) -> list[tuple[str, str]]:
    """Requests that change Jira (everything but GETs)."""
    return [(r.method, r.path) for r in sandbox.requests if r.method not in ("GET", "HEAD")]


def issue_count_by_label(sandbox: JiraSandbox) -> dict[str, int]:
    counts: dict[str, int] = {}
    with sandbox.state.lock:
        for issue in sandbox.state.issues.values():
            for label in issue.fields.get("labels") or []:
                if label.startswith("backlog-id-"):
                    counts[label] = counts.get(label, 0) + 1
    return counts
