"""Slack and scheduler state: request de-duplication, job-fire claims, alerts sent, digests.

Revision ID: 0003_slack_jobs
Revises: 0002_webhook_inbox
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_slack_jobs"
down_revision = "0002_webhook_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("key", name="uq_slack_request_key"),
    )
    op.create_table(
        "job_fire",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("job_id", sa.String(), nullable=False),
        sa.Column("fire_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("error", sa.String(), nullable=True),
        sa.UniqueConstraint("job_id", "fire_time", name="uq_job_fire"),
    )
    op.create_table(
        "alert_sent",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("condition", sa.String(), nullable=False),
        sa.Column("sprint", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("load_pct", sa.Float(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(), nullable=True),
        sa.Column("message_ts", sa.String(), nullable=True),
        sa.UniqueConstraint("condition", name="uq_alert_sent_condition"),
    )
    op.create_table(
        "digest_post",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("sprint", sa.Integer(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_ids", sa.JSON(), nullable=False),
        sa.Column("points_done", sa.Float(), nullable=False),
        sa.Column("channel", sa.String(), nullable=True),
        sa.Column("message_ts", sa.String(), nullable=True),
    )
    op.create_index("ix_digest_post_kind", "digest_post", ["kind"])


def downgrade() -> None:
    op.drop_index("ix_digest_post_kind", table_name="digest_post")
    op.drop_table("digest_post")
    op.drop_table("alert_sent")
    op.drop_table("job_fire")
    op.drop_table("slack_request")
