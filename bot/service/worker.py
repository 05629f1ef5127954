"""The background worker: claims deliveries from the inbox and runs the registered handlers.

Handlers are registered like bolt listeners::

    registry = HandlerRegistry()

    @registry.on("github", "issues", actions=("opened", "edited"))
    def validate_issue(delivery: Delivery) -> None: ...

A handler is a plain function (run in a worker thread) or a coroutine function. A delivery
with no matching handler is marked ``ignored``. A handler may return ``IGNORED`` to say the
delivery was not for it (another repository, the bot's own echo). An exception means
"try again later": the inbox backs off exponentially and parks the delivery after
``webhook_max_attempts`` with the error kept for ``backlog-bot inbox list --status parked``.
``DeliveryDeferred`` and ``RateLimitedError`` mean "not now": the delivery goes back with a
not-before time and no attempt spent (``bot.service.deferral``).

Each claimed batch is run one delivery at a time: ``start`` (counts the attempt), handlers,
then its outcome is recorded at once, so a kill redoes only the delivery that was running.
While the batch runs, a companion task renews the lease on what the worker still holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool

from backlog.errors import RateLimitedError
from bot.service.deferral import DEFAULT_RATE_LIMIT_SECONDS, DeliveryDeferred, TargetLimits
from bot.service.inbox import Delivery, Inbox
from bot.service.logging import Redactor, correlation_scope
from bot.service.metrics import Metrics
from sync.state.inbox import DONE, IGNORED, utcnow

Handler = Callable[[Delivery], Any | Awaitable[Any]]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Listener:
    source: str
    event: str | None
    actions: tuple[str, ...] | None
    handler: Handler

    def matches(self, source: str, event: str, action: str | None) -> bool:
        if self.source != source or (self.event is not None and self.event != event):
            return False
        return self.actions is None or action in self.actions


@dataclass
class HandlerRegistry:
    """Handlers by source (``github``/``jira``), event, and optionally action."""

    listeners: list[_Listener] = field(default_factory=list)

    def on(
        self, source: str, event: str | None = None, *, actions: tuple[str, ...] | None = None
    ) -> Callable[[Handler], Handler]:
        """Decorator registering a handler; ``event=None`` means every event of the source."""

        def register(handler: Handler) -> Handler:
            self.add(source, event, handler, actions=actions)
            return handler

        return register

    def add(
        self,
        source: str,
        event: str | None,
        handler: Handler,
        *,
        actions: tuple[str, ...] | None = None,
    ) -> None:
        self.listeners.append(_Listener(source, event, actions, handler))

    def handlers_for(self, source: str, event: str, action: str | None) -> list[Handler]:
        return [lst.handler for lst in self.listeners if lst.matches(source, event, action)]

    def wants(self, source: str, event: str, action: str | None) -> bool:
        return any(lst.matches(source, event, action) for lst in self.listeners)


def load_handler_modules(registry: HandlerRegistry, spec: str) -> None:
    """Call each ``module:function`` in the comma-separated ``spec`` with the registry."""
    import importlib

    from backlog.errors import ConfigurationError

    for item in filter(None, (part.strip() for part in spec.split(","))):
        module_name, _, function_name = item.partition(":")
        try:
            registrar = getattr(importlib.import_module(module_name), function_name or "register")
        except (ImportError, AttributeError) as exc:
            raise ConfigurationError(
                f"setting WEBHOOK_HANDLER_MODULES: cannot load {item!r} ({exc}); "
                "use module:function with the module importable"
            ) from exc
        registrar(registry)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Claims due deliveries, runs handlers, records outcomes; wakes on ``notify()``."""

    def __init__(
        self,
        inbox: Inbox,
        registry: HandlerRegistry,
        metrics: Metrics,
        *,
        lease_seconds: float = 60.0,
        poll_seconds: float = 1.0,
        batch: int = 20,
        coalesce_seconds: float = 0.05,
        redactor: Redactor | None = None,
        limits: TargetLimits | None = None,
    ) -> None:
        self.inbox = inbox
        self.registry = registry
        self.metrics = metrics
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.coalesce_seconds = coalesce_seconds
        self.redactor = redactor or Redactor()
        self.limits = limits or TargetLimits()
        self.id = worker_id()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        """A delivery was just stored: look now rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(), name="webhook-worker")

    async def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout)
            except TimeoutError:
                self._task.cancel()
        try:
            await run_in_threadpool(self.inbox.release, self.id)
        except Exception:
            log.exception("worker: could not release claimed deliveries")

    async def run(self) -> None:
        log.info("worker started", extra={"worker": self.id})
        while not self._stopping:
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("worker: claiming deliveries failed; retrying")
                handled = 0
            if self._stopping:
                break
            if handled == 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            if handled < self.batch:
                # Let deliveries arriving together be claimed together: fewer, larger
                # transactions leave the database to the intake under load.
                await asyncio.sleep(self.coalesce_seconds)

    async def run_once(self) -> int:
        """Claim one batch and run it delivery by delivery, settling each as it finishes."""
        deliveries = await run_in_threadpool(
            self.inbox.claim, self.id, limit=self.batch, lease_seconds=self.lease_seconds
        )
        if not deliveries:
            return 0
        log.info("deliveries claimed", extra={"count": len(deliveries), "batch": self.batch})
        held = [delivery.id for delivery in deliveries]
        renewer = asyncio.get_running_loop().create_task(self._renew(held), name="lease-renewer")
        try:
            for delivery in deliveries:
                if self._stopping:
                    break  # what is left is given back by stop()
                await self.process(delivery)
                held.remove(delivery.id)
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        return len(deliveries)

    async def _renew(self, held: list[int]) -> None:
        """Keep the lease on the rest of the batch while one delivery runs (however long)."""
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                await run_in_threadpool(
                    self.inbox.renew, self.id, list(held), lease_seconds=self.lease_seconds
                )
            except Exception as exc:  # the next renewal may succeed; the lease has slack
                log.warning("worker: could not renew leases", extra={"error": repr(exc)})

    async def process(self, delivery: Delivery) -> str:
        """Start, run and settle one claimed delivery -> its outcome (done, retry, deferred ...)."""
        started = await run_in_threadpool(
            self.inbox.start, delivery, self.id, lease_seconds=self.lease_seconds
        )
        if started is None:
            log.warning("delivery lease lost before it started; another worker has it")
            return "lost"
        blocked = self.limits.until(started.source)
        if blocked is not None:
            why = f"{started.source} rate limit spent until {blocked:%H:%M:%S} UTC"
            return await self._defer(started, blocked, "rate_limited", why, 0.0)
        delivery, status, error, elapsed = await self.handle(started)
        if isinstance(error, DeliveryDeferred):
            reason = "rate_limited" if error.target else "busy_issue"
            until = utcnow() + timedelta(seconds=error.seconds)
            return await self._defer(delivery, until, reason, error.reason, elapsed)
        outcome = [(delivery, status, error)]
        [final] = await run_in_threadpool(self.inbox.settle, self.id, outcome)
        return self._report(delivery, status, error, elapsed, final)

    async def _defer(
        self, delivery: Delivery, until: Any, reason: str, why: str, elapsed: float
    ) -> str:
        kept = await run_in_threadpool(self.inbox.defer, delivery, self.id, until=until, reason=why)
        with correlation_scope(f"{delivery.source}-{delivery.delivery_id}"):
            log.info(
                "delivery deferred",
                extra={"event": delivery.event, "reason": why, "until": until.isoformat(),
                       "kept": kept, "ms": round(elapsed * 1000, 2)},
            )  # fmt: skip
        self.metrics.webhook_deferred.labels(delivery.source, reason).inc()
        return "deferred"

    async def handle(
        self, delivery: Delivery
    ) -> tuple[Delivery, str | None, str | DeliveryDeferred | None, float]:
        """Run the matching handlers -> ``(delivery, status, error, seconds)``.

        ``status`` is DONE or IGNORED on success, None when a handler raised ``error``
        (a redacted message), or asked for the delivery to be deferred (a ``DeliveryDeferred``).
        """
        with correlation_scope(f"{delivery.source}-{delivery.delivery_id}"):
            started = time.perf_counter()
            handlers = self.registry.handlers_for(delivery.source, delivery.event, delivery.action)
            status = IGNORED
            try:
                for handler in handlers:
                    if await _call(handler, delivery) != IGNORED:
                        status = DONE
            except DeliveryDeferred as exc:
                if exc.target:
                    self.limits.limit(exc.target, exc.seconds)
                return delivery, None, exc, time.perf_counter() - started
            except RateLimitedError as exc:
                seconds = exc.retry_after or DEFAULT_RATE_LIMIT_SECONDS
                self.limits.limit(exc.service, seconds)
                deferred = DeliveryDeferred(
                    self.redactor(str(exc)), seconds=seconds, target=exc.service
                )
                return delivery, None, deferred, time.perf_counter() - started
            except Exception as exc:
                log.debug("handler raised", exc_info=True)
                error = self.redactor(f"{type(exc).__name__}: {exc}")
                return delivery, None, error, time.perf_counter() - started
            return delivery, status, None, time.perf_counter() - started

    def _report(
        self,
        delivery: Delivery,
        status: str | None,
        error: str | None,
        elapsed: float,
        final: str,
    ) -> str:
        outcome = status or ("parked" if final == "parked" else "retry")
        with correlation_scope(f"{delivery.source}-{delivery.delivery_id}"):
            extra = {
                "event": delivery.event,
                "action": delivery.action,
                "outcome": outcome,
                "attempt": delivery.attempts,
                "ms": round(elapsed * 1000, 2),
            }
            if error is not None:
                log.warning("delivery failed", extra={**extra, "error": error})
            else:
                log.info("delivery processed", extra=extra)
            if final == "lost":
                log.warning(
                    "delivery lease expired before completion; another worker may repeat it",
                    extra={"event": delivery.event},
                )
        self.metrics.webhook_processed.labels(delivery.source, delivery.event, outcome).inc()
        self.metrics.webhook_processing.labels(delivery.source).observe(elapsed)
        return outcome


async def _call(handler: Handler, delivery: Delivery) -> Any:
    if inspect.iscoroutinefunction(handler):
        return await handler(delivery)
    return await run_in_threadpool(handler, delivery)
