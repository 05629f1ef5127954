"""The transport of the ``requests``-based adapter (Jira): timeouts live on the session, and
this ``requests`` adapter adds call counting, a per-target pacer and safe retries.

Retries follow ``sync.retry.RetryPolicy`` (tenacity, exponential backoff with full jitter),
applied here to HTTP answers:

- 429 is retried for every request, after ``Retry-After`` when the server sends it — the
  server did not process the request, so even a create is safe to send again — unless the
  policy caps the in-process wait (``RetryPolicy.longest_rate_limit_wait``, the service) and
  this wait would pass it: then the 429 is handed back at once for the caller to defer;
- 5xx and connection errors/timeouts are retried only for *safe* requests (reads,
  idempotent PUT/DELETE, and POSTs the caller declares safe such as a JQL search). A create
  is never retried here: the caller looks the item up before trying again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, stop_after_attempt

from sync.calls import CallCounter
from sync.retry import RetryPolicy
from sync.waits import announce

TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


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
        safe = self.policy.is_safe(request.method or "GET", request.url or "")

        def attempt() -> requests.Response:
            self.pacer.wait()
            self.counter.record(self.service, (request.method or "GET").upper())
            response = super(PolicyAdapter, self).send(request, **kwargs)
            if not kwargs.get("stream"):
                _ = response.content  # a connection broken mid-body surfaces here, retryable
            return response

        def should_retry(state: RetryCallState) -> bool:
            outcome = state.outcome
            if outcome is None:
                return False
            if outcome.failed:
                return safe and isinstance(outcome.exception(), TRANSPORT_ERRORS)
            response: requests.Response = outcome.result()
            if response.status_code == 429:
                hinted = retry_after_seconds(response)
                return self.policy.waits_for_rate_limit(
                    hinted, state.attempt_number, state.idle_for
                )
            return safe and response.status_code >= 500

        def wait(state: RetryCallState) -> float:
            outcome = state.outcome
            if outcome is not None and not outcome.failed:
                hinted = retry_after_seconds(outcome.result())
                wait = self.policy.rate_limit_wait(hinted, state.attempt_number)
                if hinted is not None:
                    said = f"{self.service.capitalize()} answered {outcome.result().status_code}"
                    announce(self.service, wait, f"{said}, retry in {wait:.0f} s")
                return wait
            return self.policy.backoff(state.attempt_number)

        retrying = Retrying(
            stop=stop_after_attempt(self.policy.attempts),
            wait=wait,
            retry=should_retry,
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
