"""Scheduled jobs (APScheduler 3.x) in the team's time zone, run once per fire across replicas.

Jobs (times from the ``[schedule]`` table, see ``bot.digests.context``):

- ``standup``  — the standup digest, weekdays at ``standup`` (default 09:30, ``mon-fri``);
- ``capacity`` — the capacity alert check, every ``capacity_minutes`` (default 60);
- ``sync``     — pull sync from Jira and GitHub (``bot.validation.reconcile``), every
  ``sync_minutes`` (default 15), when the composition root provides a pull function.

The standup and capacity jobs exist only when Slack is configured.

Every job has ``coalesce=True`` (a backlog of missed fires runs once), ``max_instances=1`` and
a ``misfire_grace_time``. Replicas do not share an APScheduler job store (that would make one
replica's scheduler run another's jobs and is not supported): each replica schedules all jobs
in memory, and the executor claims each fire in the ``job_fire`` table (unique job id and
scheduled time, ``INSERT ... ON CONFLICT DO NOTHING``) before running it. Triggers are cron
expressions, so every replica computes the same fire times; the loser of a claim runs nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.engine import Engine

from backlog.errors import ConfigurationError
from bot.digests.context import SlackContext
from bot.slack.post import SlackPoster
from sync.state.slack import claim_fire, finish_fire

if TYPE_CHECKING:
    from bot.service.parts import Service

log = logging.getLogger(__name__)
DEFAULTS: dict[str, Any] = {
    "standup": "09:30",
    "standup_days": "mon-fri",
    "sync_minutes": 15,
    "capacity_minutes": 60,
    "misfire_grace_seconds": 600,
}
Pull = Callable[[SlackContext, Sequence[str]], list[str]]


def replica_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class ClaimingExecutor(ThreadPoolExecutor):  # type: ignore[misc]  # APScheduler 3 is untyped
    """A thread pool that runs a fire only if this replica claims it in the database."""

    def __init__(self, engine: Engine, owner: str, max_workers: int = 4) -> None:
        super().__init__(max_workers=max_workers)
        self.engine = engine
        self.owner = owner

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        won = [when for when in run_times if claim_fire(self.engine, job.id, when, self.owner)]
        if len(won) < len(run_times):
            log.debug("fire taken by another replica", extra={"job": job.id})
        super()._do_submit_job(job, won)  # an empty list runs nothing and keeps the counts right


def every_minutes(minutes: int, zone: tzinfo) -> CronTrigger:
    """A cron trigger every ``minutes`` minutes, aligned on the hour (same on every replica)."""
    if minutes <= 0:
        raise ConfigurationError("[schedule] intervals must be a positive number of minutes")
    if minutes % 60 == 0:
        return CronTrigger(minute=0, hour=f"*/{minutes // 60}", timezone=zone)
    if 60 % minutes:
        raise ConfigurationError(
            f"[schedule] {minutes} minutes does not divide an hour: use 5, 10, 15, 20, 30, 60 ..."
        )
    return CronTrigger(minute=f"*/{minutes}", timezone=zone)


def standup_trigger(schedule: Mapping[str, Any], zone: tzinfo) -> CronTrigger:
    at = str(schedule.get("standup", DEFAULTS["standup"]))
    try:
        hour, minute = (int(part) for part in at.split(":"))
    except ValueError as exc:
        raise ConfigurationError(f"[schedule] standup = {at!r}: use HH:MM, e.g. 09:30") from exc
    days = str(schedule.get("standup_days", DEFAULTS["standup_days"]))
    try:
        return CronTrigger(day_of_week=days, hour=hour, minute=minute, timezone=zone)
    except ValueError as exc:
        raise ConfigurationError(f"[schedule] standup_days = {days!r}: {exc}") from exc


class Jobs:
    """The job functions over one ``SlackContext`` (each is safe to call by hand)."""

    def __init__(
        self,
        ctx: SlackContext,
        poster: Callable[[], SlackPoster] | None,
        pull: Pull | None = None,
    ) -> None:
        self.ctx = ctx
        self.poster = poster
        self.pull = pull

    def standup(self) -> None:
        from bot.digests.standup import resolve_sprint, standup_now
        from bot.slack.announce import post_standup

        if self.poster is None:
            return
        number = resolve_sprint(self.ctx)
        if number is None:
            log.info("no sprint running today; no standup digest")
            return
        post_standup(self.ctx, self.poster(), standup_now(self.ctx, number))

    def capacity(self) -> None:
        from bot.slack.announce import check_capacity

        if self.poster is not None:
            check_capacity(self.ctx, self.poster())

    def sync(self) -> None:
        if self.pull is not None:
            for line in self.pull(self.ctx, ("jira", "github")):
                log.info("pull sync: %s", line)


def build_scheduler(
    jobs: Jobs,
    *,
    owner: str | None = None,
    extra: Mapping[str, tuple[Callable[[], None], CronTrigger]] | None = None,
) -> BackgroundScheduler:
    """A scheduler with the standup, capacity and (when possible) sync jobs; not started."""
    ctx = jobs.ctx
    schedule = {**DEFAULTS, **ctx.config.schedule}
    owner = owner or replica_id()
    grace = int(schedule["misfire_grace_seconds"])
    scheduler = BackgroundScheduler(
        timezone=ctx.zone,
        executors={"default": ClaimingExecutor(ctx.engine, owner)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": grace},
    )
    planned: dict[str, tuple[Callable[[], None], CronTrigger]] = {}
    if jobs.poster is not None:  # the Slack jobs need Slack
        planned["standup"] = (jobs.standup, standup_trigger(schedule, ctx.zone))
        minutes = int(schedule["capacity_minutes"])
        planned["capacity"] = (jobs.capacity, every_minutes(minutes, ctx.zone))
    if jobs.pull is not None:
        planned["sync"] = (jobs.sync, every_minutes(int(schedule["sync_minutes"]), ctx.zone))
    planned.update(extra or {})
    for job_id, (func, trigger) in planned.items():
        scheduler.add_job(func, trigger, id=job_id, name=job_id, replace_existing=True)

    def finished(event: JobExecutionEvent) -> None:
        error = None
        if event.exception is not None:
            error = f"{type(event.exception).__name__}: {event.exception}"
        finish_fire(ctx.engine, event.job_id, event.scheduled_run_time, error=error)

    scheduler.add_listener(finished, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    return scheduler


class SchedulerHooks:
    """The service's start/stop hooks (``ServiceParts.on_startup`` / ``on_shutdown``): the
    scheduler of ``jobs`` starts with the app and stops with it."""

    def __init__(self, jobs: Jobs) -> None:
        self.jobs = jobs
        self._scheduler: BackgroundScheduler | None = None

    def start(self, service: Service) -> None:
        if self.jobs.poster is not None:
            import threading

            from bot.digests.standup import prewarm

            # the first standup's chart would otherwise pay matplotlib's import on the clock
            threading.Thread(target=prewarm, name="slack-prewarm", daemon=True).start()
        self._scheduler = build_scheduler(self.jobs)
        self._scheduler.start()

    def stop(self, service: Service) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
