"""Staying inside GitHub's rate limits, shared by the REST and GraphQL clients.

GitHub documents (REST "Rate limits", "Best practices"):

- primary limit: ``x-ratelimit-remaining`` / ``x-ratelimit-reset`` on every answer; at 0,
  wait until the reset time;
- secondary limits: no more than 80 content-creating requests per minute and 500 per hour;
  make mutative requests serially with at least a second between them; on a secondary-limit
  403/429 honour ``retry-after``, else wait at least a minute, growing exponentially.

``RateGovernor`` is told about every request before it is sent and every answer after, and
sleeps when it must. Pacing (the per-minute/hour budgets and the one-second spacing) can be
turned off for the sandbox; the waits asked for by GitHub itself are always honoured.
``RateGovernor.run`` sends a request under the adapters' one ``sync.retry.RetryPolicy``: a
rate-limited request was not executed, so it is always safe to send again (the governor
itself waits for GitHub's time); a transient failure (5xx, dropped connection) is retried only
for idempotent requests, because a create may have happened before the failure.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from backlog.errors import RateLimitedError
from sync.retry import RetryPolicy
from sync.waits import announce

T = TypeVar("T")

CREATES_PER_MINUTE = 80
CREATES_PER_HOUR = 500
SECONDS_BETWEEN_WRITES = 1.0
SECONDARY_FALLBACK_WAIT = 60.0


@dataclass(frozen=True, slots=True)
class PacingPolicy:
    """How politely to send requests; ``enabled=False`` for the sandbox and tests."""

    enabled: bool = True
    creates_per_minute: int = CREATES_PER_MINUTE
    creates_per_hour: int = CREATES_PER_HOUR
    seconds_between_writes: float = SECONDS_BETWEEN_WRITES
    secondary_fallback_wait: float = SECONDARY_FALLBACK_WAIT
    max_wait: float = 3600.0
    max_attempts: int = 8
    transient_backoff: float = 1.0

    @property
    def retry(self) -> RetryPolicy:
        """Transient failures: ``max_attempts`` tries, no jitter (requests are serial here)."""
        return RetryPolicy(
            attempts=self.max_attempts,
            base_delay=self.transient_backoff,
            max_delay=30.0,
            jitter=False,
        )

    @classmethod
    def off(cls, **changes: float) -> PacingPolicy:
        values = {"enabled": False, "secondary_fallback_wait": 0.05, "transient_backoff": 0.01}
        values.update(changes)
        return cls(**values)  # type: ignore[arg-type]


@dataclass
class GovernorStats:
    waited_seconds: float = 0.0
    rate_limited: int = 0
    transient_failures: int = 0
    primary_exhausted: int = 0
    writes: int = 0
    waits: list[float] = field(default_factory=list)


class RateGovernor:
    """Decides how long to wait before each request, from GitHub's headers and the pacing."""

    def __init__(
        self,
        policy: PacingPolicy | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.policy = policy or PacingPolicy()
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._blocked_until = 0.0
        self._writes: deque[float] = deque()
        self._secondary_streak = 0
        self._block_reason = "GitHub rate limit"
        self.stats = GovernorStats()

    def before(self, *, is_write: bool) -> None:
        """Wait as long as GitHub asked and, with pacing on, as the write budgets need."""
        while True:
            with self._lock:
                now = self._clock()
                wait = max(self._blocked_until - now, 0.0)
                reason = self._block_reason
                if is_write and self.policy.enabled:
                    paced, why = self._pacing(now)
                    if paced > wait:
                        wait, reason = paced, why
                if wait <= 0:
                    if is_write:
                        self._writes.append(now)
                        self.stats.writes += 1
                    return
            if wait > self.policy.max_wait:
                raise RateLimitedError(
                    f"GitHub asks to wait {wait:.0f}s, more than the allowed "
                    f"{self.policy.max_wait:.0f}s (PacingPolicy.max_wait)",
                    service="github",
                    retry_after=wait,
                )
            self.stats.waited_seconds += wait
            self.stats.waits.append(wait)
            kind = "write" if is_write else "request"
            announce("github", wait, f"{reason}, next {kind} in {wait:.0f} s")
            self._sleep(wait)

    def run(self, call: Callable[[], T], *, idempotent: bool) -> T:
        """Run one request under the retry policy: rate limits always, transient failures only
        if ``idempotent``. Waits for rate limits happen in :meth:`before`, not here."""

        def count_transient() -> None:
            self.stats.transient_failures += 1

        return self.policy.retry.run(
            call,
            idempotent=idempotent,
            sleep=self._sleep,
            rate_limit_wait=0.0,
            on_transient=count_transient,
        )

    def _pacing_wait(self, now: float) -> float:
        return self._pacing(now)[0]

    def _pacing(self, now: float) -> tuple[float, str]:
        """The pacing wait before the next write, and which budget imposes it."""
        while self._writes and now - self._writes[0] > 3600:
            self._writes.popleft()
        policy = self.policy
        waits = [(0.0, "")]
        if self._writes:
            waits.append(
                (
                    self._writes[-1] + policy.seconds_between_writes - now,
                    f"GitHub pacing ({policy.seconds_between_writes:g} s between writes)",
                )
            )
        last_minute = [t for t in self._writes if now - t < 60]
        if len(last_minute) >= policy.creates_per_minute:
            waits.append(
                (
                    last_minute[-policy.creates_per_minute] + 60 - now,
                    f"GitHub secondary limit ({policy.creates_per_minute} creates per minute)",
                )
            )
        if len(self._writes) >= policy.creates_per_hour:
            waits.append(
                (
                    self._writes[-policy.creates_per_hour] + 3600 - now,
                    f"GitHub secondary limit ({policy.creates_per_hour} creates per hour)",
                )
            )
        return max(waits, key=lambda pair: pair[0])

    def after(self, status: int, headers: Mapping[str, str]) -> None:
        """Learn from an answer: an exhausted primary budget blocks until its reset."""
        lower = {key.lower(): value for key, value in headers.items()}
        remaining = lower.get("x-ratelimit-remaining")
        reset = lower.get("x-ratelimit-reset")
        if status in (403, 429) and "retry-after" in lower:
            self.secondary(_seconds(lower["retry-after"]))
        elif remaining is not None and remaining.strip() == "0" and reset:
            with self._lock:
                until = float(reset) + 0.5
                if status in (403, 429):  # refused: whatever the clocks say, wait a little
                    self.stats.primary_exhausted += 1
                    until = max(until, self._clock() + 1.0)
                if until > self._blocked_until:
                    self._block_reason = "GitHub primary rate limit exhausted"
                self._blocked_until = max(self._blocked_until, until)
        elif status < 400:
            self._secondary_streak = 0

    def secondary(self, retry_after: float | None) -> float:
        """A secondary limit was hit: block for ``retry-after`` or an exponential fallback."""
        with self._lock:
            self.stats.rate_limited += 1
            if retry_after is None:
                retry_after = self.policy.secondary_fallback_wait * (2**self._secondary_streak)
                self._secondary_streak += 1
            self._blocked_until = max(self._blocked_until, self._clock() + retry_after)
            self._block_reason = "GitHub secondary limit"
            return retry_after


def _seconds(value: str) -> float | None:
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None
