"""Slack-side state shared by replicas: request de-duplication, job-fire claims, alerts sent
and digests posted (SQLModel tables, migration ``0003_slack_jobs``).

Every "do this once" decision is an ``INSERT ... ON CONFLICT DO NOTHING`` on a unique key, so
two replicas on one PostgreSQL (or two processes on one SQLite file) never both win.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Aware UTC (SQLModel stores ``datetime`` fields as UTC timestamps)."""
    return datetime.now(UTC)


class SlackRequest(SQLModel, table=True):
    """A Slack request already taken (slash command ``trigger_id`` or event ``event_id``)."""

    __tablename__ = "slack_request"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, description="command:<trigger_id> or event:<event_id>")
    received_at: datetime = Field(default_factory=utcnow)


class JobFire(SQLModel, table=True):
    """One scheduled fire of a job, claimed by the first replica that gets there."""

    __tablename__ = "job_fire"
    __table_args__ = (UniqueConstraint("job_id", "fire_time", name="uq_job_fire"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: str
    fire_time: datetime = Field(description="The scheduled time, not the start time.")
    claimed_by: str
    claimed_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    outcome: str = Field(default="running", description="running, ok or failed")
    error: str | None = None


class AlertSent(SQLModel, table=True):
    """A capacity condition already announced; deleted when the condition clears."""

    __tablename__ = "alert_sent"

    id: int | None = Field(default=None, primary_key=True)
    condition: str = Field(unique=True, description="capacity:<sprint>:<role>:<level>")
    sprint: int
    role: str
    level: str = Field(description="error (over 100%) or warning (over the threshold)")
    load_pct: float
    posted_at: datetime = Field(default_factory=utcnow)
    channel: str | None = None
    message_ts: str | None = None


class DigestPost(SQLModel, table=True):
    """A digest posted to Slack, with what was done then (for "moved to done since")."""

    __tablename__ = "digest_post"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True, description="standup")
    sprint: int | None = None
    posted_at: datetime = Field(default_factory=utcnow)
    done_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    points_done: float = 0
    channel: str | None = None
    message_ts: str | None = None


def _table(model: type[SQLModel]) -> sa.Table:
    return model.__table__  # type: ignore[attr-defined,no-any-return]


def _insert_once(engine: Engine, model: type[SQLModel], values: dict[str, Any]) -> bool:
    """Insert a row unless its unique key exists; True when this call inserted it."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    table = _table(model)
    statement = insert(table).values(**values).on_conflict_do_nothing().returning(table.c.id)
    with engine.begin() as conn:
        return conn.execute(statement).first() is not None


def claim_request(engine: Engine, key: str) -> bool:
    """True the first time ``key`` is seen: the caller runs the command; False for a retry."""
    return _insert_once(engine, SlackRequest, {"key": key, "received_at": utcnow()})


def claim_fire(engine: Engine, job_id: str, fire_time: datetime, owner: str) -> bool:
    """True for the one replica that runs ``job_id`` at ``fire_time``."""
    values = {
        "job_id": job_id,
        "fire_time": _utc(fire_time),
        "claimed_by": owner,
        "claimed_at": utcnow(),
        "outcome": "running",
    }
    return _insert_once(engine, JobFire, values)


def finish_fire(
    engine: Engine, job_id: str, fire_time: datetime, *, error: str | None = None
) -> None:
    table = _table(JobFire)
    with engine.begin() as conn:
        conn.execute(
            table.update()
            .where(table.c.job_id == job_id, table.c.fire_time == _utc(fire_time))
            .values(finished_at=utcnow(), outcome="failed" if error else "ok", error=error)
        )


def fires(engine: Engine, job_id: str | None = None) -> list[dict[str, Any]]:
    table = _table(JobFire)
    query = sa.select(table).order_by(table.c.fire_time, table.c.id)
    if job_id is not None:
        query = query.where(table.c.job_id == job_id)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def claim_alert(
    engine: Engine, condition: str, *, sprint: int, role: str, level: str, load_pct: float
) -> bool:
    """True when ``condition`` was not announced yet (the caller posts it)."""
    values = {
        "condition": condition,
        "sprint": sprint,
        "role": role,
        "level": level,
        "load_pct": load_pct,
        "posted_at": utcnow(),
    }
    return _insert_once(engine, AlertSent, values)


def mark_alert_posted(engine: Engine, condition: str, channel: str, message_ts: str) -> None:
    table = _table(AlertSent)
    with engine.begin() as conn:
        conn.execute(
            table.update()
            .where(table.c.condition == condition)
            .values(channel=channel, message_ts=message_ts)
        )


def release_alerts(engine: Engine, conditions: set[str]) -> int:
    """Forget conditions (cleared, or their post failed) so they are announced again."""
    if not conditions:
        return 0
    table = _table(AlertSent)
    with engine.begin() as conn:
        result = conn.execute(table.delete().where(table.c.condition.in_(sorted(conditions))))
        return int(result.rowcount or 0)


def announced_alerts(engine: Engine, prefix: str = "") -> set[str]:
    table = _table(AlertSent)
    query = sa.select(table.c.condition)
    if prefix:
        query = query.where(table.c.condition.startswith(prefix))
    with engine.connect() as conn:
        return {str(row[0]) for row in conn.execute(query)}


def last_digest(engine: Engine, kind: str, sprint: int | None) -> DigestPost | None:
    table = _table(DigestPost)
    query = (
        sa.select(table)
        .where(table.c.kind == kind, table.c.sprint == sprint)
        .order_by(table.c.posted_at.desc(), table.c.id.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return DigestPost(**dict(row._mapping)) if row else None


def record_digest(engine: Engine, post: DigestPost) -> None:
    values = post.model_dump(exclude={"id"})
    values["posted_at"] = _utc(values["posted_at"])
    with engine.begin() as conn:
        conn.execute(_table(DigestPost).insert().values(**values))


def _utc(moment: datetime) -> datetime:
    """Aware UTC; a naive ``moment`` is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
