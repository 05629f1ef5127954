"""Readiness checks for ``/readyz``: the database and every configured remote target.

Each check returns ``None`` when fine or a one-line reason. Remote checks are cheap, read-only
calls with short timeouts: Jira ``GET /rest/api/2/serverInfo``, GitHub ``GET /rate_limit``
(which does not count against the rate limit). Targets that are not configured are skipped.
A probe answered 429 does not make the replica unready (it still takes webhooks and serves
the other target): the target is recorded as rate-limited until the ``Retry-After`` time,
and ``/readyz`` reports it as degraded, like a limit a delivery ran into.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from sync.state.inbox import TABLE

if TYPE_CHECKING:
    from bot.service.deferral import TargetLimits
    from bot.settings import Settings

CACHE_SECONDS = 2.0


class ProbeRateLimited(Exception):
    """A readiness probe was answered 429: the target is reachable but limited."""

    def __init__(self, retry_after: float | None) -> None:
        self.retry_after = retry_after
        super().__init__("rate limited")


def check_database(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            conn.execute(sa.select(TABLE.c.id).limit(1)).all()
    except sa.exc.OperationalError as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc):
            return "database is not migrated: run `backlog-bot db upgrade` (or serve --migrate)"
        return f"database unreachable: {type(exc).__name__}"
    except sa.exc.ProgrammingError:
        return "database is not migrated: run `backlog-bot db upgrade` (or serve --migrate)"
    except sa.exc.SQLAlchemyError as exc:
        return f"database error: {type(exc).__name__}"
    return None


async def check_http(
    client: httpx.AsyncClient,
    url: str,
    *,
    auth: tuple[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> str | None:
    try:
        response = await client.get(url, auth=auth, headers=headers)
    except httpx.TimeoutException:
        return f"{url}: timed out"
    except httpx.HTTPError as exc:
        return f"{url}: {type(exc).__name__}"
    if response.status_code == 429:
        hint = response.headers.get("retry-after", "")
        raise ProbeRateLimited(float(hint) if hint.isdigit() else None)
    if response.status_code in (401, 403):
        return f"{url}: HTTP {response.status_code} (check the token)"
    if response.status_code >= 400:
        return f"{url}: HTTP {response.status_code}"
    return None


class Readiness:
    """Runs the checks concurrently with a timeout and caches the answer briefly."""

    def __init__(
        self, settings: Settings, engine: Engine, *, limits: TargetLimits | None = None
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.limits = limits  # a bot.service.deferral.TargetLimits, or None
        self._cached: tuple[float, dict[str, str]] | None = None

    def degraded(self) -> dict[str, str]:
        """Targets this replica defers work for: ``{"github": "rate limit spent until ..."}``."""
        if self.limits is None:
            return {}
        return {
            target: f"rate limit spent until {until:%Y-%m-%dT%H:%M:%SZ}; deliveries deferred"
            for target, until in self.limits.active().items()
        }

    async def check(self) -> dict[str, str]:
        """``{"database": "ok", "jira": "ok", "github": "<reason>"}`` for configured targets."""
        now = time.monotonic()
        if self._cached is not None and now - self._cached[0] < CACHE_SECONDS:
            return self._cached[1]
        timeout = float(self.settings.readiness_timeout_seconds)
        checks: dict[str, Any] = {"database": run_in_threadpool(check_database, self.engine)}
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            s = self.settings
            if s.jira_url:
                auth = None
                jira_headers: dict[str, str] = {}
                if s.jira_email and s.jira_api_token is not None:
                    auth = (s.jira_email, s.jira_api_token.get_secret_value())
                elif s.jira_api_token is not None:  # Data Center: a personal access token
                    jira_headers["Authorization"] = f"Bearer {s.jira_api_token.get_secret_value()}"
                url = s.jira_url.rstrip("/") + "/rest/api/2/serverInfo"
                checks["jira"] = check_http(client, url, auth=auth, headers=jira_headers)
            if s.github_token is not None or s.github_repository:
                from bot.github_credentials import readiness_probe

                url, headers = readiness_probe(s)
                checks["github"] = check_http(client, url, headers=headers)
            names = list(checks)
            results = await asyncio.gather(
                *(asyncio.wait_for(checks[name], timeout + 0.5) for name in names),
                return_exceptions=True,
            )
        answer: dict[str, str] = {}
        for name, result in zip(names, results, strict=True):
            if isinstance(result, ProbeRateLimited):
                answer[name] = "ok"  # reachable; degraded() names the limit
                if self.limits is not None:
                    from bot.service.deferral import DEFAULT_RATE_LIMIT_SECONDS

                    self.limits.limit(name, result.retry_after or DEFAULT_RATE_LIMIT_SECONDS)
            elif isinstance(result, TimeoutError):
                answer[name] = f"{name}: timed out after {timeout:g}s"
            elif isinstance(result, BaseException):
                answer[name] = f"{name}: {type(result).__name__}"
            else:
                answer[name] = result or "ok"
        self._cached = (time.monotonic(), answer)
        return answer
