"""Sync state: sync runs and backlog <-> remote links.

Revision ID: 0001_sync_state
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_sync_state"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("direction", sa.String(), nullable=False),
        sa.Column("backlog_file", sa.String(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("http_calls", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(), nullable=True),
    )
    op.create_index("ix_sync_run_target", "sync_run", ["target"])
    op.create_table(
        "sync_link",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("backlog_id", sa.String(), nullable=False),
        sa.Column("remote_id", sa.String(), nullable=False),
        sa.Column("remote_key", sa.String(), nullable=True),
        sa.Column("remote_url", sa.String(), nullable=True),
        sa.Column("content_hash", sa.String(), nullable=True),
        sa.Column("remote_status", sa.String(), nullable=True),
        sa.Column("remote_assignee", sa.String(), nullable=True),
        sa.Column("remote_points", sa.Float(), nullable=True),
        sa.Column("remote_sprint", sa.String(), nullable=True),
        sa.Column("remote_updated_at", sa.DateTime(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("target", "kind", "backlog_id", name="uq_sync_link"),
    )
    op.create_index("ix_sync_link_target", "sync_link", ["target"])
    op.create_index("ix_sync_link_backlog_id", "sync_link", ["backlog_id"])


def downgrade() -> None:
    op.drop_table("sync_link")
    op.drop_table("sync_run")
