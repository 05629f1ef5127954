"""The sync target registry used by ``plan``, ``apply`` and ``sync``.

A target is a name and a builder ``build(settings) -> TargetRunner`` named by import path, so
commands import only what they run. To add one (e.g. GitHub), add an entry to ``TARGETS``;
``--target all`` runs every registered target in order.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from backlog.model import Backlog
from sync.calls import CallCounter
from sync.plan import Plan
from sync.twoway import DriftSource

TARGETS: dict[str, str] = {
    "jira": "bot.targets.jira:build",
    "github": "bot.targets.github:build",
}


class Progress(Protocol):
    """Where apply reports progress: the number of writes, then each step done."""

    def start(self, total: int) -> None: ...

    def advance(self, description: str, amount: int) -> None: ...


@dataclass
class ApplyOutcome:
    plan: Plan
    keys: dict[str, str] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    http_calls: dict[str, int] = field(default_factory=dict)
    left_alone: list[str] = field(default_factory=list)  # tracker-side changes not pushed
    conflicts: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.plan.target,
            "counts": self.counts,
            "keys": self.keys,
            "failures": self.failures,
            "warnings": self.warnings,
            "left_alone": self.left_alone,
            "conflicts": self.conflicts,
            "http_calls": self.http_calls,
        }


@dataclass
class PlanOutcome:
    plan: Plan
    warnings: list[str] = field(default_factory=list)
    http_calls: dict[str, int] = field(default_factory=dict)


@dataclass
class PullOutcome:
    target: str
    issues: int
    changed: int
    http_calls: dict[str, int] = field(default_factory=dict)


class TargetRunner(Protocol):
    name: str
    calls: CallCounter
    engine: Engine
    database_url: str

    def drift_source(self) -> DriftSource:
        """The target's two-way view of the linked stories (``sync.twoway``)."""
        ...

    def plan(self, backlog: Backlog, source: str, *, prune: bool) -> PlanOutcome: ...

    def apply(
        self, backlog: Backlog, source: str, *, prune: bool, progress: Progress | None
    ) -> ApplyOutcome: ...

    def pull(self) -> PullOutcome: ...


def target_names(choice: str) -> list[str]:
    """``jira`` -> ``["jira"]``; ``all`` -> every registered target."""
    from backlog.errors import ConfigurationError

    if choice == "all":
        return list(TARGETS)
    if choice not in TARGETS:
        known = ", ".join([*TARGETS, "all"])
        raise ConfigurationError(f"unknown --target '{choice}' (choose from: {known})")
    return [choice]


def build(name: str, settings: Any) -> TargetRunner:
    module_name, _, function = TARGETS[name].partition(":")
    builder = getattr(importlib.import_module(module_name), function)
    runner: TargetRunner = builder(settings)
    return runner
