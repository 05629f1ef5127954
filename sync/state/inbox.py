"""The webhook inbox table: one row per accepted delivery (see ``bot.service.inbox``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

QUEUED = "queued"
PROCESSING = "processing"
DONE = "done"
PARKED = "parked"
IGNORED = "ignored"
STATUSES = (QUEUED, PROCESSING, DONE, PARKED, IGNORED)
MAX_ERROR_CHARS = 2000


def utcnow() -> datetime:
    """Aware UTC (SQLModel stores ``datetime`` fields as UTC timestamps)."""
    return datetime.now(UTC)


class WebhookDelivery(SQLModel, table=True):
    """One webhook delivery as received (after its signature was checked)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.UniqueConstraint("source", "delivery_id", name="uq_webhook_delivery"),
        sa.Index("ix_webhook_delivery_claim", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(description="github or jira")
    delivery_id: str = Field(description="X-GitHub-Delivery / X-Atlassian-Webhook-Identifier")
    event: str = Field(description="X-GitHub-Event, or Jira's webhookEvent")
    action: str | None = None
    payload: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    received_at: datetime = Field(default_factory=utcnow)
    status: str = Field(default=QUEUED)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = None
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    finished_at: datetime | None = None
    deferred_reason: str | None = Field(
        default=None, description="why a queued delivery waits (rate limit, busy issue)"
    )


class IssueLock(SQLModel, table=True):
    """At most one validation per issue across replicas (see ``bot.service.issue_locks``)."""

    __tablename__ = "issue_lock"

    key: str = Field(primary_key=True, description="tracker:ref, e.g. github:28 or jira:BSS-7")
    holder: str
    expires_at: datetime


TABLE: sa.Table = WebhookDelivery.__table__  # type: ignore[attr-defined]
LOCK_TABLE: sa.Table = IssueLock.__table__  # type: ignore[attr-defined]
