"""A burst of tracker webhooks makes one GitOps run, once across replicas.

With ``[sync] gitops-debounce-seconds`` above zero, the webhook handler does not run GitOps
per delivery: it marks the run as due in the shared database (``sync.state.due``), each
delivery pushing the due time on to the quiet period after it was received, up to
``gitops-max-wait-seconds`` after the burst's first delivery. Every replica polls the row
(``Debouncer.start``: a thread that reads it about four times per quiet period, at most once
a second); the replica that finds it due takes the repository's ``gitops:<repository>`` lock,
reads the row again under it, and runs GitOps once. The run reads every tracker afresh, so it
carries every change of the burst. A delivery received while the run is under way is due
again after its own quiet period (one received before the run began is in what the run
read, and marks nothing); a failed run is due again after a backoff, and one whose replica
died while it ran is due again once the lock's lease has run out. Replicas that find the
lock taken do nothing: the row says whether anything is left once it is free.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING

from bot.service.deferral import DeliveryDeferred
from sync.state.due import DueRuns

if TYPE_CHECKING:
    from bot.gitops.run import GitOps, Outcome
    from bot.service.parts import Service

log = logging.getLogger(__name__)
LONGEST_POLL_SECONDS = 1.0


class Debouncer:
    """``mark()`` on each delivery; ``run_due()`` runs GitOps once the burst is quiet."""

    def __init__(
        self,
        gitops: GitOps,
        due: DueRuns,
        *,
        key: str,
        hold: Callable[[str], AbstractContextManager[None]],
        quiet_seconds: float,
        max_wait_seconds: float,
        lease_seconds: float,
    ) -> None:
        self.gitops = gitops
        self.due = due
        self.key = key
        self.hold = hold
        self.quiet_seconds = quiet_seconds
        self.max_wait_seconds = max_wait_seconds
        self.lease_seconds = lease_seconds  # a run whose replica died is due again after it
        self.poll_seconds = min(LONGEST_POLL_SECONDS, max(0.05, quiet_seconds / 4))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def mark(self, received_at: datetime | None = None) -> datetime | None:
        """A tracker change was received -> when the run is due (None: a run that began
        since reads it anyway)."""
        return self.due.mark(
            self.key, quiet=self.quiet_seconds, max_wait=self.max_wait_seconds, at=received_at
        )

    def run_due(self) -> Outcome | None:
        """Run GitOps if the run is due and no other replica is running it -> its outcome."""
        if self.due.due(self.key) is None:
            return None
        try:
            with self.hold(self.key):
                row = self.due.due(self.key)  # again, under the lock: run at most once
                version = self.due.start(row, lease=self.lease_seconds) if row else None
                if version is None:
                    return None
                try:
                    outcome = self.gitops.run()
                except Exception:
                    when = self.due.fail(self.key)
                    log.exception("gitops run failed", extra={"retry_at": when.isoformat()})
                    return None
                self.due.finish(self.key, version)
        except DeliveryDeferred:
            return None  # another replica runs it (or a delivery's run holds the lock)
        log.info("gitops run", extra={"event": "debounced", "outcome": outcome.line()})
        return outcome

    def start(self, service: Service | None = None) -> None:
        """Poll for due runs in a thread (the service's start-up hook)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="gitops-debounce", daemon=True)
        self._thread.start()

    def stop(self, service: Service | None = None) -> None:
        """Stop polling (the service's shut-down hook); a run under way finishes first."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.run_due()
            except Exception:  # the database away for a moment: the next poll tries again
                log.exception("gitops debounce poll failed")
