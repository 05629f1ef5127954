"""The merge base: per target, item and field, the value both sides last agreed on."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import select

from sync.state.db import session_scope
from sync.state.tables import SyncBase, utcnow


class BaseStore:
    """Reads all of a target's base values at once; writes them in one transaction."""

    def __init__(self, engine: Engine, target: str) -> None:
        self.engine = engine
        self.target = target

    def load(self) -> dict[tuple[str, str], Any]:
        """(backlog id, field) -> value."""
        with session_scope(self.engine) as session:
            rows = session.exec(select(SyncBase).where(SyncBase.target == self.target)).all()
            return {(row.backlog_id, row.field): row.value for row in rows}

    def record(self, values: Iterable[tuple[str, str, Any]], origin: str) -> int:
        """Set (backlog id, field, value) triples as agreed by ``origin`` (apply or pull)."""
        wanted = {(item, name): value for item, name, value in values}
        if not wanted:
            return 0
        with session_scope(self.engine) as session:
            rows = session.exec(select(SyncBase).where(SyncBase.target == self.target)).all()
            existing = {(row.backlog_id, row.field): row for row in rows}
            for (item, name), value in wanted.items():
                row = existing.get((item, name)) or SyncBase(
                    target=self.target, backlog_id=item, field=name
                )
                row.value = value
                row.origin = origin
                row.updated_at = utcnow()
                session.add(row)
        return len(wanted)
