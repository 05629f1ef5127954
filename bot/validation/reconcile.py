"""Periodic reconciliation: GitHub does not retry failed webhook deliveries, so a pull sync
on a schedule catches whatever a missed delivery would have told us.

``reconcile(settings)`` pulls status, assignee, points and sprint of every managed issue
from each configured sync target into ``sync_link`` (the same as ``backlog-bot sync``) and
returns one line per target. The scheduler (``bot.wiring.scheduler``, job ``sync``) calls it every
``sync_minutes``; it is safe to run on every replica at once (it only reads the trackers).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from backlog.errors import BacklogBotError
from bot.service.logging import correlation_scope

if TYPE_CHECKING:
    from bot.service.metrics import Metrics
    from bot.settings import Settings
    from bot.targets.factory import SyncTarget

log = logging.getLogger(__name__)


def reconcile(
    settings: Settings,
    targets: Mapping[str, SyncTarget] | None = None,
    metrics: Metrics | None = None,
) -> list[str]:
    """Pull ``targets`` (default: every configured target); one summary line each (errors are
    lines, not raises); ``metrics`` counts the runs and the HTTP calls."""
    from bot.validation.backlog_check import configured_targets

    lines: list[str] = []
    with correlation_scope(prefix="reconcile"):
        for name, runner in (
            targets if targets is not None else configured_targets(settings)
        ).items():
            try:
                outcome = runner.pull()
            except BacklogBotError as exc:
                lines.append(f"{name}: {exc}")
                log.warning("reconcile failed", extra={"target": name, "error": str(exc)})
                if metrics is not None:
                    metrics.record_sync_run(name, "pull", "failed")
                continue
            lines.append(f"{name}: read {outcome.issues} issues, {outcome.changed} changed")
            if metrics is not None:
                metrics.record_sync_run(name, "pull", "ok")
                metrics.record_api_calls(outcome.http_calls)
            log.info(
                "reconciled",
                extra={"target": name, "issues": outcome.issues, "changed": outcome.changed},
            )
    return lines
