"""Webhook inbox: durable, deduplicated deliveries awaiting the worker.

Revision ID: 0002_webhook_inbox
Revises: 0001_sync_state
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_webhook_inbox"
down_revision = "0001_sync_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("delivery_id", sa.String(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("source", "delivery_id", name="uq_webhook_delivery"),
    )
    op.create_index("ix_webhook_delivery_claim", "webhook_delivery", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_delivery_claim", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
