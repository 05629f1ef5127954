"""Rate limits and injected faults of the sandbox GitHub.

Primary limits: a budget per resource (``core`` for REST, ``graphql``) that resets at a fixed
time, reported in the ``x-ratelimit-*`` headers on every response; when it is spent GitHub
answers 403 with ``x-ratelimit-remaining: 0``. Secondary limits: GitHub answers 403 (or 429)
with ``retry-after`` and the documented message; the sandbox does so on demand (a fault) or
when a configured content-creation budget per minute is exceeded.

Faults are rules matched against method and path: ``5xx`` (the request is not executed),
``secondary``, ``drop`` (the connection is cut after the request was executed: the client
cannot know whether it happened), ``create_then_fail`` (executed, then a 502) and ``hang``
(executed, then no answer for ``retry_after`` seconds: a client killed meanwhile has
created something it never recorded).
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try "
    "again. If you reach out to GitHub Support for help, please include the request ID {id}."
)
PRIMARY_MESSAGE = "API rate limit exceeded for user ID 5000."
RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_DOCS = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api"
    "#about-secondary-rate-limits"
)
FAULT_KINDS = ("5xx", "secondary", "drop", "create_then_fail", "hang")


@dataclass
class Budget:
    limit: int = 5000
    used: int = 0
    window: float = 3600.0
    reset: float = field(default_factory=lambda: float(math.ceil(time.time() + 3600.0)))

    def roll(self, now: float) -> None:
        """A new window once the reset time (whole epoch seconds, as GitHub's) has passed."""
        if now >= self.reset:
            self.used = 0
            self.reset = float(math.ceil(now + self.window))

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def snapshot(self) -> dict[str, int]:
        return {
            "limit": self.limit,
            "remaining": self.remaining,
            "reset": int(self.reset),
            "used": self.used,
        }


@dataclass
class FaultRule:
    kind: str
    method: str | None = None
    path: str | None = None
    times: int | None = 1
    probability: float = 1.0
    retry_after: int = 1
    status: int = 502
    after: int = 0

    def matches(self, method: str, path: str, rng: random.Random) -> bool:
        """Whether this rule fires; ``after`` matching requests pass before it does."""
        if self.times is not None and self.times <= 0:
            return False
        if self.method and self.method.upper() != method:
            return False
        if self.path and not re.search(self.path, path):
            return False
        if self.after > 0:
            self.after -= 1
            return False
        return rng.random() < self.probability


class Limits:
    """Rate-limit budgets, the secondary content-creation budget and the fault rules."""

    def __init__(self, seed: int = 0) -> None:
        self.lock = threading.Lock()
        self.budgets = {name: Budget() for name in ("core", "graphql", "search")}
        self.faults: list[FaultRule] = []
        self.rng = random.Random(seed)
        self.creates_per_minute: int | None = None
        self._creates: deque[float] = deque()
        self.retry_after = 60

    def configure(self, resource: str, *, limit: int | None, window: float | None) -> None:
        with self.lock:
            budget = self.budgets[resource]
            if limit is not None:
                budget.limit = limit
            if window is not None:
                budget.window = window
                budget.reset = float(math.ceil(time.time() + window))
            budget.used = 0

    def add_fault(self, **spec: Any) -> FaultRule:
        if spec.get("kind") not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(FAULT_KINDS)}")
        rule = FaultRule(**spec)
        with self.lock:
            self.faults.append(rule)
        return rule

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def pick_fault(self, method: str, path: str) -> FaultRule | None:
        with self.lock:
            for rule in self.faults:
                if rule.matches(method, path, self.rng):
                    if rule.times is not None:
                        rule.times -= 1
                    return rule
            return None

    def spend(self, resource: str) -> tuple[bool, dict[str, int]]:
        """Count one request; ``(allowed, snapshot)``."""
        with self.lock:
            budget = self.budgets[resource]
            budget.roll(time.time())
            if budget.remaining <= 0:
                return False, budget.snapshot()
            budget.used += 1
            return True, budget.snapshot()

    def peek(self, resource: str) -> dict[str, int]:
        with self.lock:
            budget = self.budgets[resource]
            budget.roll(time.time())
            return budget.snapshot()

    def creation_allowed(self) -> bool:
        """The automatic secondary limit on content-creating requests (off unless set)."""
        if self.creates_per_minute is None:
            return True
        with self.lock:
            now = time.monotonic()
            while self._creates and now - self._creates[0] > 60:
                self._creates.popleft()
            if len(self._creates) >= self.creates_per_minute:
                return False
            self._creates.append(now)
            return True

    def headers(self, resource: str, snapshot: dict[str, int]) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(snapshot["limit"]),
            "x-ratelimit-remaining": str(snapshot["remaining"]),
            "x-ratelimit-reset": str(snapshot["reset"]),
            "x-ratelimit-used": str(snapshot["used"]),
            "x-ratelimit-resource": resource,
        }
