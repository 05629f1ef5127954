"""Reliability under replicas: deferred deliveries and per-issue locks.

``webhook_delivery.deferred_reason`` says why a queued delivery waits (a rate-limited target,
its issue busy on another replica) so ``/metrics`` can count them; ``issue_lock`` holds at
most one validation per issue across replicas, with a lease so a killed holder cannot block
the issue for ever.

Revision ID: 0004_reliability
Revises: 0003_slack_jobs
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_reliability"
down_revision = "0003_slack_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_delivery") as batch:
        batch.add_column(sa.Column("deferred_reason", sa.String(), nullable=True))
    op.create_table(
        "issue_lock",
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("issue_lock")
    with op.batch_alter_table("webhook_delivery") as batch:
        batch.drop_column("deferred_reason")
