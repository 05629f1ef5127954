"""Sync state tables (SQLModel): what was pushed where, and a record of every sync run.

Schema changes go through Alembic (``migrations/versions``); keep this module and the
migrations in step (a test compares them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Aware UTC now: sqlmodel's datetime columns refuse naive values."""
    return datetime.now(UTC)


class SyncRun(SQLModel, table=True):
    """One run of plan/apply/sync against a target, with counts and outcome."""

    __tablename__ = "sync_run"

    id: int | None = Field(default=None, primary_key=True)
    target: str = Field(index=True, description="jira, github or all")
    direction: str = Field(default="push", description="push (apply) or pull (sync)")
    backlog_file: str | None = None
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    outcome: str = Field(default="running", description="running, ok, partial or failed")
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    http_calls: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = None


class SyncLink(SQLModel, table=True):
    """A backlog element <-> remote object mapping, with the hash of what was last pushed
    and the workflow state last pulled back."""

    __tablename__ = "sync_link"
    __table_args__ = (UniqueConstraint("target", "kind", "backlog_id", name="uq_sync_link"),)

    id: int | None = Field(default=None, primary_key=True)
    target: str = Field(index=True, description="jira or github")
    kind: str = Field(description="epic, story, task, subtask, sprint, link, milestone, ...")
    backlog_id: str = Field(index=True, description="US-001, EPIC-001, US-001/task-1, sprint-1")
    remote_id: str
    remote_key: str | None = None
    remote_url: str | None = None
    content_hash: str | None = None
    remote_status: str | None = None
    remote_assignee: str | None = None
    remote_points: float | None = None
    remote_sprint: str | None = None
    remote_updated_at: datetime | None = None
    remote_node_id: str | None = Field(
        default=None, index=True, description="GitHub GraphQL node id (board events name it)"
    )
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SyncBase(SQLModel, table=True):
    """The last value of one field both sides agreed on (written by apply and by pull): the
    base of the three-way merge that tells a file change from a tracker change."""

    __tablename__ = "sync_base"
    __table_args__ = (UniqueConstraint("target", "backlog_id", "field", name="uq_sync_base"),)

    id: int | None = Field(default=None, primary_key=True)
    target: str = Field(index=True, description="jira or github")
    backlog_id: str = Field(description="US-001")
    field: str = Field(description="title, points, priority, status ...")
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    origin: str = Field(default="apply", description="apply or pull: who agreed last")
    updated_at: datetime = Field(default_factory=utcnow)
