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
