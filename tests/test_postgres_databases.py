"""The PostgreSQL databases tests get are empty, also when an earlier test filled one."""

from __future__ import annotations

import psycopg
import pytest

from sync.state import db
from tests.conftest import PostgresDatabases, _dsn


@pytest.mark.postgres
def test_a_database_handed_back_is_empty_for_the_next_test(
    postgres_databases: PostgresDatabases,
) -> None:
    name = postgres_databases.take()
    db.upgrade(_dsn(name))
    with psycopg.connect(_dsn(name), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA scratch")
        conn.execute("CREATE TABLE scratch.t (x int)")
        conn.execute(f'ALTER DATABASE "{name}" SET enable_hashjoin = off')
    lingering = psycopg.connect(_dsn(name))  # a connection the test forgot to close
    lingering.execute("SELECT 1")
    postgres_databases.give_back(name)
    assert postgres_databases.take() == name  # the same database, handed out again
    try:
        with psycopg.connect(_dsn(name), autocommit=True) as conn:
            tables = conn.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
            ).fetchall()
            schemas = conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
                "AND nspname <> 'information_schema'"
            ).fetchall()
            hashjoin = conn.execute("SHOW enable_hashjoin").fetchone()
        assert tables == [] and schemas == [("public",)]
        assert hashjoin == ("on",)
        assert lingering.closed or lingering.broken or _dead(lingering)
        assert db.current_revision(_dsn(name)) is None
    finally:
        lingering.close()
        postgres_databases.give_back(name)


def _dead(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    try:
        conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False
