"""Waiting without blocking: deliveries that must run later, and targets that are rate-limited.

A handler that cannot run a delivery *now* for a reason that says nothing about the delivery
(its tracker's rate limit is spent, its issue is being validated by another replica) raises
``DeliveryDeferred``, or lets the adapters' ``RateLimitedError`` through. The worker puts the
delivery back in the inbox with a not-before time and its attempt refunded, and goes on with
the next one: a spent GitHub budget never holds up a Jira delivery, nor freezes the replica.

``TargetLimits`` remembers, in this process, which target is limited until when: the worker
defers that target's deliveries without calling it, ``/readyz`` reports the target as
degraded and ``/metrics`` exposes the reset time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from sync.state.inbox import utcnow

DEFAULT_RATE_LIMIT_SECONDS = 60.0  # when the target names no reset time
# The longest a handler may wait in-process for a tracker's rate limit (GitHub's governor,
# the Jira transport); a longer wait raises RateLimitedError and the delivery is deferred.
LONGEST_WAIT_SECONDS = 5.0


class DeliveryDeferred(Exception):
    """Run this delivery again in ``seconds``; it did not fail and spends no attempt."""

    def __init__(self, reason: str, *, seconds: float, target: str | None = None) -> None:
        self.reason = reason
        self.seconds = max(0.0, seconds)
        self.target = target
        super().__init__(reason)


class TargetLimits:
    """Targets (``github``, ``jira``) whose rate limit is spent, with the reset time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[str, datetime] = {}

    def limit(self, target: str, seconds: float) -> datetime:
        """Record that ``target`` refuses work for ``seconds`` -> the reset time."""
        until = utcnow() + timedelta(seconds=max(0.0, seconds))
        with self._lock:
            self._until[target] = max(until, self._until.get(target, until))
            return self._until[target]

    def until(self, target: str) -> datetime | None:
        """The reset time while ``target`` is limited, else ``None``."""
        with self._lock:
            until = self._until.get(target)
            if until is not None and until <= utcnow():
                del self._until[target]
                return None
            return until

    def active(self) -> dict[str, datetime]:
        """Every target limited now, with its reset time."""
        with self._lock:
            names = list(self._until)
        found = {name: self.until(name) for name in names}
        return {name: until for name, until in found.items() if until is not None}


class TargetLimitsCollector(Collector):
    """``backlog_bot_target_rate_limited_until`` (Unix time) per target limited now."""

    def __init__(self, limits: TargetLimits, prefix: str) -> None:
        self.limits = limits
        self.prefix = prefix

    def describe(self) -> list[GaugeMetricFamily]:
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            f"{self.prefix}_target_rate_limited_until",
            "Reset time (Unix seconds) of a target whose rate limit this replica hit; "
            "its deliveries are deferred until then.",
            labels=["target"],
        )
        for target, until in sorted(self.limits.active().items()):
            gauge.add_metric([target], until.timestamp())
        yield gauge
