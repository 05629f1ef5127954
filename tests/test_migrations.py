from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import SQLModel

import migrations.tables  # noqa: F401
from sync.state import db


def test_upgrade_creates_every_model_table(database_url: str) -> None:
    db.upgrade(database_url)
    engine = db.make_engine(database_url)
    try:
        inspector = sa.inspect(engine)
        tables = set(inspector.get_table_names())
        model_tables = set(SQLModel.metadata.tables)
        assert model_tables <= tables, f"missing migrations for {model_tables - tables}"
        for name in model_tables:
            migrated = {column["name"] for column in inspector.get_columns(name)}
            declared = set(SQLModel.metadata.tables[name].columns.keys())
            assert declared == migrated, f"{name}: model and migration differ"
    finally:
        engine.dispose()
    assert db.current_revision(database_url) is not None


def test_upgrade_is_repeatable(database_url: str) -> None:
    db.upgrade(database_url)
    first = db.current_revision(database_url)
    db.upgrade(database_url)
    assert db.current_revision(database_url) == first


def test_link_node_ids_are_indexed_and_filled_for_existing_links(database_url: str) -> None:
    """Board events name an issue by its node id: existing links get it from ``extra``."""
    from bot.validation.validator import LinkIndex

    db.upgrade(database_url, "0004_reliability")
    engine = db.make_engine(database_url)
    try:
        links = sa.table(
            "sync_link",
            *(sa.column(name) for name in ("target", "kind", "backlog_id", "remote_id")),
            sa.column("extra", sa.JSON()),
            sa.column("created_at", sa.DateTime(timezone=True)),
            sa.column("updated_at", sa.DateTime(timezone=True)),
        )
        now = sa.func.now()
        with engine.begin() as connection:
            for n in range(1, 60):
                connection.execute(
                    links.insert().values(
                        target="github", kind="story", backlog_id=f"US-{n:03d}",
                        remote_id=str(1000 + n), extra={"number": n, "node_id": f"I_{n}"},
                        created_at=now, updated_at=now,
                    )
                )  # fmt: skip
        db.upgrade(database_url)
        indexes = sa.inspect(engine).get_indexes("sync_link")
        assert any(index["column_names"] == ["remote_node_id"] for index in indexes)
        index = LinkIndex(engine)
        assert index.number_for_node("I_42") == 42
        assert index.number_for_node("I_404") is None and index.number_for_node(None) is None
    finally:
        engine.dispose()
