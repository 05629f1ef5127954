"""Runs due once a burst of deliveries is quiet (GitOps debounce, ``sync.state.due``).

Revision ID: 0007_run_due
Revises: 0006_sync_base
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_run_due"
down_revision = "0006_sync_base"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_due",
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("burst_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("run_due")
