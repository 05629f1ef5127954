"""An indexed node id on sync links: a board event finds its issue's link in one lookup.

GitHub's Projects v2 item events name the issue by its GraphQL node id; it was kept only in
``sync_link.extra`` (JSON), so finding the link meant loading every GitHub link row. The
column is filled from ``extra`` for existing rows.

Revision ID: 0005_link_node_index
Revises: 0004_reliability
Create Date: 2026-12-07
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0005_link_node_index"
down_revision = "0004_reliability"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_link") as batch:
        batch.add_column(sa.Column("remote_node_id", sa.String(), nullable=True))
        batch.create_index("ix_sync_link_remote_node_id", ["remote_node_id"])
    links = sa.table(
        "sync_link",
        sa.column("id", sa.Integer()),
        sa.column("extra", sa.JSON()),
        sa.column("remote_node_id", sa.String()),
    )
    connection = op.get_bind()
    for row_id, extra in connection.execute(sa.select(links.c.id, links.c.extra)).all():
        data = json.loads(extra) if isinstance(extra, str) else (extra or {})
        node = data.get("node_id")
        if node:
            connection.execute(
                links.update().where(links.c.id == row_id).values(remote_node_id=str(node))
            )


def downgrade() -> None:
    with op.batch_alter_table("sync_link") as batch:
        batch.drop_index("ix_sync_link_remote_node_id")
        batch.drop_column("remote_node_id")
