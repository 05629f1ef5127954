"""The base of the three-way merge: the last agreed value of each synced field.

Revision ID: 0006_sync_base
Revises: 0005_link_node_index
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_sync_base"
down_revision = "0005_link_node_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_base",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("backlog_id", sa.String(), nullable=False),
        sa.Column("field", sa.String(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("origin", sa.String(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("target", "backlog_id", "field", name="uq_sync_base"),
    )
    op.create_index("ix_sync_base_target", "sync_base", ["target"])


def downgrade() -> None:
    op.drop_index("ix_sync_base_target", "sync_base")
    op.drop_table("sync_base")
