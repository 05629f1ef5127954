"""The one retry policy of the Jira and GitHub adapters: what may be sent again, how many
times, and how long to wait in between.

Both trackers follow the same rules:

- a rate-limited request (HTTP 429, GitHub's secondary-limit 403) was not executed, so it is
  always safe to send again, after the wait the server asked for;
- a transient failure (5xx, dropped connection, timeout) is retried only for a *safe*
  request: a read, an idempotent PUT/DELETE, or a POST the adapter declares safe (a JQL
  search). A create is never re-sent blindly, because it may have happened before the
  failure: the caller looks the item up first;
- waits grow exponentially from ``base_delay``, capped at ``max_delay``; with ``jitter``
  each wait is drawn uniformly below that ceiling ("full jitter"), so that clients that failed
  together do not come back together;
- a caller that must not block on a rate limit (the service's worker: it defers the delivery
  to the reset time instead) sets ``longest_rate_limit_wait``: a rate-limited request whose
  wait would take the time spent waiting past it is handed back at once, with the server's
  hint, rather than slept on. The CLI leaves it unset and waits, showing the wait.

The Jira adapter applies the policy inside its ``requests`` transport, on HTTP answers
(``sync.http_transport``); the GitHub clients apply it around each call with
:meth:`RetryPolicy.run`, on our translated errors (``sync.github.limits.RateGovernor.run``).
"""

from __future__ import annotations

import dataclasses
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlparse

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from backlog.errors import RateLimitedError, TransientError

T = TypeVar("T")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class RetryPolicy:
    """How an adapter retries; ``attempts`` counts the first try."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    safe_post_paths: tuple[str, ...] = ()
    jitter: bool = True
    longest_rate_limit_wait: float | None = None  # None: wait as the server asks (capped)

    def is_safe(self, method: str, url: str) -> bool:
        """May this request be sent again after a transient failure?"""
        if method.upper() in IDEMPOTENT_METHODS:
            return True
        path = urlparse(url).path
        return any(re.search(pattern, path) for pattern in self.safe_post_paths)

    def with_safe_posts(self, paths: tuple[str, ...]) -> RetryPolicy:
        """The same policy, declaring ``paths`` (regular expressions) safe to POST again."""
        return dataclasses.replace(self, safe_post_paths=paths)

    def backoff(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return random.uniform(0, ceiling) if self.jitter else ceiling

    def rate_limit_wait(self, hinted: float | None, attempt: int) -> float:
        """The wait after a rate-limited attempt: the server's hint, capped, else backoff."""
        return min(hinted, self.max_delay) if hinted is not None else self.backoff(attempt)

    def waits_for_rate_limit(self, hinted: float | None, attempt: int, waited: float) -> bool:
        """Wait here for rate-limited attempt number ``attempt``, having waited ``waited``
        seconds already? Always, unless ``longest_rate_limit_wait`` would be passed (the longest
        the next wait could be: the server's hint, or the backoff ceiling without one)."""
        if self.longest_rate_limit_wait is None:
            return True
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        upcoming = hinted if hinted is not None else ceiling
        return waited + upcoming <= self.longest_rate_limit_wait

    def run(
        self,
        call: Callable[[], T],
        *,
        idempotent: bool,
        sleep: Callable[[float], None] = time.sleep,
        rate_limit_wait: float | None = None,
        on_transient: Callable[[], None] | None = None,
    ) -> T:
        """Run ``call``; retry ``RateLimitedError`` always and ``TransientError`` if idempotent.

        ``rate_limit_wait`` replaces the server's hint when something else already waits for
        the rate limit (GitHub's ``RateGovernor`` blocks until the reset time itself).
        """

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, RateLimitedError):
                return True
            if isinstance(exc, TransientError):
                if on_transient is not None:
                    on_transient()
                return idempotent
            return False

        def wait(state: RetryCallState) -> float:
            outcome = state.outcome
            failed = outcome.exception() if outcome is not None else None
            if isinstance(failed, RateLimitedError):
                if rate_limit_wait is not None:
                    return rate_limit_wait
                return self.rate_limit_wait(failed.retry_after, state.attempt_number)
            return self.backoff(state.attempt_number)

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            retry=retry_if_exception(retryable),
            wait=wait,
            sleep=sleep,
            reraise=True,
        )
        return retrying(call)
