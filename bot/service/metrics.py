"""Prometheus metrics, one ``CollectorRegistry`` per app (so tests and replicas never share).

Counters and histograms are updated in-process; the inbox backlog (rows per status, e.g. how
many deliveries are parked) and sync runs recorded by any process (CLI or service) are read
from the database at scrape time, so every replica reports the shared truth.

Other areas record through the ``Metrics`` methods: ``record_findings`` (rules),
``record_sync_run`` / ``record_api_calls`` (sync), ``job`` (scheduled jobs).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "backlog_bot"
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
log = logging.getLogger(__name__)


class Metrics:
    """The app's metrics; ``render()`` gives the Prometheus text exposition."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_requests = Counter(
            f"{PREFIX}_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.http_latency = Histogram(
            f"{PREFIX}_http_request_duration_seconds",
            "HTTP request latency by route.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.webhook_deliveries = Counter(
            f"{PREFIX}_webhook_deliveries",
            "Webhook deliveries received, by source, event and outcome "
            "(accepted, duplicate, ignored, unauthorized, malformed, too_large, unconfigured).",
            ["source", "event", "outcome"],
            registry=r,
        )
        self.webhook_processed = Counter(
            f"{PREFIX}_webhook_processed",
            "Deliveries handled by the worker, by outcome (done, ignored, retry, parked).",
            ["source", "event", "outcome"],
            registry=r,
        )
        self.webhook_deferred = Counter(
            f"{PREFIX}_webhook_deferred",
            "Deliveries put back with a not-before time, by source and reason "
            "(rate_limited, busy_issue).",
            ["source", "reason"],
            registry=r,
        )
        self.webhook_processing = Histogram(
            f"{PREFIX}_webhook_processing_seconds",
            "Time handlers spent on one delivery.",
            ["source"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.findings = Counter(
            f"{PREFIX}_findings",
            "Rule findings reported, by rule id and severity.",
            ["rule", "severity"],
            registry=r,
        )
        self.sync_runs = Counter(
            f"{PREFIX}_sync_runs",
            "Sync runs finished in this process, by target and outcome.",
            ["target", "direction", "outcome"],
            registry=r,
        )
        self.api_calls = Counter(
            f"{PREFIX}_api_calls",
            "HTTP calls made to Jira, GitHub and Slack.",
            ["service", "call"],
            registry=r,
        )
        self.job_runs = Counter(
            f"{PREFIX}_job_runs",
            "Scheduled job runs, by job and outcome.",
            ["job", "outcome"],
            registry=r,
        )
        self.job_latency = Histogram(
            f"{PREFIX}_job_duration_seconds",
            "Scheduled job duration.",
            ["job"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        if engine is not None:
            r.register(DatabaseCollector(engine))

    def watch_limits(self, limits: Any) -> None:
        """Expose a ``TargetLimits``' reset times (``bot.service.deferral``)."""
        from bot.service.deferral import TargetLimitsCollector

        self.registry.register(TargetLimitsCollector(limits, PREFIX))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def record_findings(self, findings: Iterable[Any]) -> None:
        """Count findings (objects with ``rule_id``/``rule`` and ``severity``)."""
        for finding in findings:
            rule = getattr(finding, "rule_id", None) or getattr(finding, "rule", "unknown")
            severity = getattr(finding, "severity", "unknown")
            self.findings.labels(str(rule), str(getattr(severity, "value", severity))).inc()

    def record_sync_run(self, target: str, direction: str, outcome: str) -> None:
        self.sync_runs.labels(target, direction, outcome).inc()

    def record_api_calls(self, counts: Mapping[str, int]) -> None:
        """Add a ``CallCounter.snapshot()`` (keys like ``"jira GET"``)."""
        for key, count in counts.items():
            service, _, call = key.partition(" ")
            self.api_calls.labels(service, call or "?").inc(count)

    @contextmanager
    def job(self, name: str) -> Iterator[None]:
        """``with metrics.job("digest"):`` counts the run (ok/error) and times it."""
        started = time.perf_counter()
        outcome = "error"
        try:
            yield
            outcome = "ok"
        finally:
            self.job_runs.labels(name, outcome).inc()
            self.job_latency.labels(name).observe(time.perf_counter() - started)


class DatabaseCollector(Collector):
    """Gauges read from the shared database at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> list[Any]:
        return []  # dynamic: nothing to check at registration time

    def collect(self) -> Iterator[Any]:
        from sync.state.inbox import STATUSES, TABLE
        from sync.state.tables import SyncRun

        inbox = _gauge("inbox_deliveries", "Webhook inbox rows by status (all replicas).", "status")
        deferred = _gauge(
            "inbox_deferred",
            "Queued deliveries waiting on a deferral (rate-limited target, busy issue).",
        )
        runs = _gauge(
            "sync_runs_recorded",
            "Sync runs recorded in the database, by outcome.",
            "target", "direction", "outcome",
        )  # fmt: skip
        run_table = SyncRun.__table__  # type: ignore[attr-defined]
        waits = TABLE.c.deferred_reason.is_not(None)
        try:
            with self.engine.connect() as conn:
                # one pass over the inbox for both gauges: rows by status, and by deferral
                found = dict.fromkeys(STATUSES, 0)
                waiting = 0
                for status, is_deferred, count in conn.execute(
                    sa.select(TABLE.c.status, waits, sa.func.count()).group_by(
                        TABLE.c.status, waits
                    )
                ):
                    found[status] = found.get(status, 0) + int(count)
                    if status == "queued" and is_deferred:
                        waiting += int(count)
                for status in STATUSES:
                    inbox.add_metric([status], found[status])
                deferred.add_metric([], waiting)
                for target, direction, outcome, count in conn.execute(
                    sa.select(
                        run_table.c.target,
                        run_table.c.direction,
                        run_table.c.outcome,
                        sa.func.count(),
                    ).group_by(run_table.c.target, run_table.c.direction, run_table.c.outcome)
                ):
                    runs.add_metric([target, direction, outcome], int(count))
        except sa.exc.SQLAlchemyError as exc:
            log.warning("metrics: database unavailable: %s", type(exc).__name__)
            return
        yield inbox
        yield deferred
        yield runs


def _gauge(name: str, documentation: str, *labels: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=list(labels))
