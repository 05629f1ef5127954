"""Counting the HTTP calls a run makes, by method (REST) or by operation (GraphQL).

Adapters call ``CallCounter.record`` for every request they send (httpx event hooks or a
requests adapter do this at the transport boundary); sync runs print and store the counts.
"""

from __future__ import annotations

import threading
from collections import Counter


class CallCounter:
    """Thread-safe counts of calls, e.g. ``{"jira GET": 3, "github graphql:addItem": 2}``."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def record(self, service: str, what: str) -> None:
        with self._lock:
            self._counts[f"{service} {what}"] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))

    def total(self, service: str | None = None) -> int:
        with self._lock:
            return sum(
                count
                for key, count in self._counts.items()
                if service is None or key.startswith(service + " ")
            )

    def writes(self, service: str | None = None) -> int:
        """Calls that change remote state: every method but GET/HEAD, and GraphQL mutations."""
        with self._lock:
            total = 0
            for key, count in self._counts.items():
                svc, _, what = key.partition(" ")
                if service is not None and svc != service:
                    continue
                if what in ("GET", "HEAD", "OPTIONS") or what.startswith("graphql:query"):
                    continue
                total += count
            return total

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
