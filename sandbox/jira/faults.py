"""Fault injection and the request log of the Jira sandbox.

A ``Fault`` says what goes wrong (``mode``) for which requests (method, path fragment,
probability, how many times). Modes:

- ``error``: answer ``status`` (default 500) without doing anything.
- ``rate_limit``: answer 429 with ``Retry-After: retry_after`` without doing anything.
- ``slow``: wait ``delay`` seconds, then handle the request normally.
- ``drop``: break the connection without doing anything.
- ``drop_after``: do the work, then break the connection instead of answering.
- ``stall_after``: do the work, then hold the answer for ``delay`` seconds (the client's read
  timeout fires: "a timeout after the create happened"); ``delay=None`` stalls until released.

``after_creates=N`` arms a fault only once the site has created at least N issues (checked
after the request did its work), e.g. "stall the create call that reaches N issues".
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FaultMode = Literal["error", "rate_limit", "slow", "drop", "drop_after", "stall_after"]
PRE_MODES = frozenset({"error", "rate_limit", "slow", "drop"})


@dataclass
class Fault:
    mode: FaultMode
    methods: tuple[str, ...] = ()
    path_contains: str = ""
    probability: float = 1.0
    times: int | None = None
    status: int = 500
    retry_after: int = 1
    delay: float | None = 1.0
    after_creates: int | None = None
    fired: int = 0

    def applies_to(self, method: str, path: str) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.methods and method.upper() not in self.methods:
            return False
        return self.path_contains in path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        data = dict(data)
        data["methods"] = tuple(m.upper() for m in data.get("methods", ()))
        data.pop("fired", None)
        return cls(**data)


@dataclass(frozen=True)
class LoggedRequest:
    """One request the sandbox received. ``status`` 0 means the connection was dropped."""

    method: str
    path: str
    query: str
    status: int
    request_body: bytes = b""
    response_body: bytes = b""
    response_type: str = ""
    fault: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "fault": self.fault,
        }


@dataclass
class FaultPlan:
    """The active faults, a seeded random source, and the request log."""

    seed: int = 0
    faults: list[Fault] = field(default_factory=list)
    log: list[LoggedRequest] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def set(self, faults: list[Fault], seed: int | None = None) -> None:
        with self._lock:
            self.faults = list(faults)
            if seed is not None:
                self._random = random.Random(seed)
            self.release.clear()

    def clear(self) -> None:
        with self._lock:
            self.faults = []
        self.release.set()

    def pick(self, method: str, path: str, *, pre: bool, created: int = 0) -> Fault | None:
        """The fault to apply to this request now (before or after handling), if any."""
        with self._lock:
            for fault in self.faults:
                if (fault.mode in PRE_MODES) != pre or not fault.applies_to(method, path):
                    continue
                if fault.after_creates is not None and created < fault.after_creates:
                    continue
                if fault.probability < 1.0 and self._random.random() >= fault.probability:
                    continue
                fault.fired += 1
                return fault
        return None

    def record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.log.append(entry)

    def requests(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self.log)

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(fault) for fault in self.faults]
