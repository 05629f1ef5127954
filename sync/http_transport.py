"""The transport policy of the REST adapters: timeouts live on the session, and this
``requests`` adapter adds call counting, a per-target pacer and safe retries.

Retries (tenacity, exponential backoff with full jitter):

- 429 is retried for every request, after ``Retry-After`` when the server sends it — the
  server did not process the request, so even a create is safe to send again;
- 5xx and connection errors/timeouts are retried only for *safe* requests (reads,
  idempotent PUT/DELETE, and POSTs the caller declares safe such as a JQL search). A create
  is never retried here: the caller looks the item up before trying again.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlparse

import requests
from requests.adapters import HTTPAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
)

from sync.calls import CallCounter
from sync.waits import announce

TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    safe_post_paths: tuple[str, ...] = ()

    def is_safe(self, request: requests.PreparedRequest) -> bool:
        method = (request.method or "GET").upper()
        if method in IDEMPOTENT_METHODS:
            return True
        path = urlparse(request.url or "").path
        return any(re.search(pattern, path) for pattern in self.safe_post_paths)


class Pacer:
    """A token bucket: at most ``rate`` requests per second on average, bursts of ``burst``."""

    def __init__(self, rate: float, burst: int = 10, clock: Callable[[], float] = time.monotonic):
        self.service = "jira"  # named in wait announcements
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._tokens = float(self.burst)
        self._last = clock()
        self._lock = threading.Lock()

    def wait(self) -> None:
        if self.rate <= 0:
            return
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            delay = (1 - self._tokens) / self.rate
            self._tokens = 0
            self._last = now + delay
        if delay >= 1:  # worth showing; shorter ones are the normal rhythm
            announce(self.service, delay, f"client pacing ({self.rate:g} requests per second)")
        time.sleep(delay)


def retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class PolicyAdapter(HTTPAdapter):
    """Counts every attempt as ``<service> <METHOD>``, paces, and retries per ``RetryPolicy``."""

    def __init__(
        self,
        service: str,
        counter: CallCounter,
        pacer: Pacer,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(max_retries=0)
        self.service = service
        self.counter = counter
        self.pacer = pacer
        self.policy = policy
        self._sleep = sleep

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        safe = self.policy.is_safe(request)

        def attempt() -> requests.Response:
            self.pacer.wait()
            self.counter.record(self.service, (request.method or "GET").upper())
            response = super(PolicyAdapter, self).send(request, **kwargs)
            if not kwargs.get("stream"):
                _ = response.content  # a connection broken mid-body surfaces here, retryable
            return response

        def should_retry_response(response: requests.Response) -> bool:
            return response.status_code == 429 or (safe and response.status_code >= 500)

        def wait(state: RetryCallState) -> float:
            outcome = state.outcome
            if outcome is not None and not outcome.failed:
                hinted = retry_after_seconds(outcome.result())
                if hinted is not None:
                    wait = min(hinted, self.policy.max_delay)
                    status = outcome.result().status_code
                    said = f"{self.service.capitalize()} answered {status}"
                    announce(self.service, wait, f"{said}, retry in {wait:.0f} s")
                    return wait
            ceiling = min(
                self.policy.max_delay, self.policy.base_delay * 2 ** (state.attempt_number - 1)
            )
            return random.uniform(0, ceiling)

        retrying = Retrying(
            stop=stop_after_attempt(self.policy.attempts),
            wait=wait,
            retry=retry_if_exception(lambda exc: safe and isinstance(exc, TRANSPORT_ERRORS))
            | retry_if_result(should_retry_response),
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
            sleep=self._sleep,
            reraise=True,
        )
        return retrying(attempt)


def install(
    session: requests.Session,
    service: str,
    counter: CallCounter,
    pacer: Pacer,
    policy: RetryPolicy,
) -> PolicyAdapter:
    """Mount the policy adapter on ``session`` for http and https."""
    adapter = PolicyAdapter(service, counter, pacer, policy)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return adapter
