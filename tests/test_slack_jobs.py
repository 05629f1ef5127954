"""Scheduled jobs: triggers in the team's time zone, job defaults, and one run per fire
when two replicas (two schedulers, two engines) share one PostgreSQL database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, tzinfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from backlog.errors import ConfigurationError
from bot.digests.context import SlackConfig, SlackContext
from bot.settings import load_settings
from bot.slack.post import SlackPoster
from bot.wiring.scheduler import Jobs, build_scheduler, every_minutes, standup_trigger
from sandbox.slack import SlackSandbox
from sync.state import db
from sync.state.slack import fires
from tests.service_support import wait_until
from tests.slack_support import BERLIN, pulled_state, slack_context, slack_settings, store_links


def _no_poster() -> SlackPoster:
    raise AssertionError("the tick job does not post")


def test_standup_trigger_is_weekdays_in_team_time_zone() -> None:
    trigger = standup_trigger({"standup": "09:30", "standup_days": "mon-fri"}, BERLIN)
    friday_after = datetime(2026, 11, 20, 10, 0, tzinfo=BERLIN)
    assert trigger.get_next_fire_time(None, friday_after) == datetime(
        2026, 11, 23, 9, 30, tzinfo=BERLIN
    )
    with pytest.raises(ConfigurationError, match="standup = '9h30'"):
        standup_trigger({"standup": "9h30"}, BERLIN)


def test_interval_triggers_align_on_the_hour() -> None:
    trigger = every_minutes(15, BERLIN)
    start = datetime(2026, 11, 19, 9, 31, 5, tzinfo=BERLIN)
    assert trigger.get_next_fire_time(None, start) == datetime(2026, 11, 19, 9, 45, tzinfo=BERLIN)
    with pytest.raises(ConfigurationError, match="does not divide an hour"):
        every_minutes(7, BERLIN)


@pytest.fixture
def slack() -> Iterator[SlackSandbox]:
    with SlackSandbox() as sandbox:
        yield sandbox


def test_job_defaults_and_job_functions(sqlite_url: str, slack: SlackSandbox) -> None:
    db.upgrade(sqlite_url)
    engine = db.make_engine(sqlite_url)
    store_links(engine, pulled_state())
    settings = slack_settings(sqlite_url, slack)
    jobs = Jobs(slack_context(settings, engine), lambda: SlackPoster.from_settings(settings))
    scheduler = build_scheduler(jobs, owner="test")
    assert sorted(job.id for job in scheduler.get_jobs()) == ["capacity", "standup"]
    scheduler.start(paused=True)
    try:
        for job in scheduler.get_jobs():
            assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 600)
            assert str(job.trigger.timezone) == "Europe/Berlin"
    finally:
        scheduler.shutdown(wait=False)
    jobs.standup()
    jobs.capacity()
    jobs.capacity()
    texts = [m.text for m in slack.state.messages_in(slack.channel_id)]
    assert texts[0].startswith("Standup · Sprint 1: Take Payments")
    assert texts[1].startswith("Burndown of Sprint 1")
    assert texts[2] == "Sprint 1: Backend Developer at 87% of capacity (warning)"
    assert len(texts) == 3
    engine.dispose()


class TeamClock:
    """An injected "now" for APScheduler 3: the scheduler loop (due jobs, next fire times)
    and the executors (misfire grace) read ``datetime.now`` from their modules, so replacing
    that name there puts both replicas on this clock, which only the test moves."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        clock = self

        class ClockDatetime(datetime):
            @classmethod
            def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
                return clock.now().astimezone(tz)

        monkeypatch.setattr("apscheduler.schedulers.base.datetime", ClockDatetime)
        monkeypatch.setattr("apscheduler.executors.base.datetime", ClockDatetime)


@pytest.mark.postgres
def test_two_replicas_run_each_fire_exactly_once(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db.upgrade(postgres_url)
    clock = TeamClock(datetime(2026, 11, 19, 9, 29, 58, 500000, tzinfo=BERLIN))
    clock.install(monkeypatch)
    runs: list[str] = []
    lock = threading.Lock()
    settings = load_settings(database_url=postgres_url, timezone="Europe/Berlin")
    schedulers, engines = [], []
    for name in ("replica-a", "replica-b"):
        engine = db.make_engine(postgres_url)
        ctx = SlackContext(settings, engine, config=SlackConfig())

        def tick(name: str = name) -> None:
            with lock:
                runs.append(name)

        scheduler = build_scheduler(
            Jobs(ctx, _no_poster),
            owner=name,
            extra={"tick": (tick, CronTrigger(second="*", timezone=BERLIN))},
        )
        scheduler.remove_job("standup")
        scheduler.remove_job("capacity")
        schedulers.append(scheduler)
        engines.append(engine)

    def settled(fired: int) -> bool:
        """Both replicas looked at the due fire (and claimed it or lost), and it ran."""
        now = clock.now()
        looked = all(s.get_job("tick").next_run_time > now for s in schedulers)
        rows = fires(engines[0], "tick")
        return looked and len(rows) == fired and all(r["outcome"] != "running" for r in rows)

    for scheduler in schedulers:
        scheduler.start()
    expected: list[datetime] = []
    try:
        # One second at a time, then a 3-second gap: missed fires coalesce into one run.
        for step in (1, 1, 1, 1, 3):
            now = clock.advance(step)
            expected.append(now.replace(microsecond=0))
            for scheduler in schedulers:
                scheduler.wakeup()
            wait_until(lambda: settled(len(expected)), what=f"the fire at {expected[-1]}")
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=True)
    rows = fires(engines[0], "tick")
    for engine in engines:
        engine.dispose()
    assert [row["fire_time"] for row in rows] == expected
    assert len(runs) == len(rows), "a fire ran on both replicas, or a claimed fire did not run"
    assert {row["outcome"] for row in rows} == {"ok"}
    assert {row["claimed_by"] for row in rows} <= {"replica-a", "replica-b"}
    assert sorted(runs) == sorted(row["claimed_by"] for row in rows)


def test_without_slack_only_the_pull_sync_is_scheduled(sqlite_url: str) -> None:
    db.upgrade(sqlite_url)
    engine = db.make_engine(sqlite_url)
    settings = load_settings(database_url=sqlite_url, timezone="Europe/Berlin")
    pulls: list[tuple[str, ...]] = []

    def pull(ctx: SlackContext, targets: object) -> list[str]:
        pulls.append(tuple(targets))  # type: ignore[arg-type]
        return ["jira: read 0 issues, 0 changed"]

    jobs = Jobs(SlackContext(settings, engine, config=SlackConfig()), None, pull=pull)
    scheduler = build_scheduler(jobs, owner="test")
    assert [job.id for job in scheduler.get_jobs()] == ["sync"]
    jobs.sync()
    jobs.standup()  # no Slack: nothing to post, no error
    assert pulls == [("jira", "github")]
    engine.dispose()
