"""The one link store: reading and writing sync state (``SyncLink``, ``SyncRun``) for one
target, injected into the Jira and the GitHub engine alike.

Each ``record*`` call is its own transaction, so what was done remotely is on disk right
after each step (Jira: each bulk batch; GitHub: each write): a crash loses at most the step
in flight, which the next run finds again (Jira by its backlog-id label, GitHub by the
hidden body marker).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from sync.link_record import LinkRecord
from sync.state.tables import SyncLink, SyncRun, utcnow


@dataclass(frozen=True)
class PulledState:
    """Workflow state of one linked item as read back from the target."""

    kind: str
    backlog_id: str
    status: str | None
    assignee: str | None
    points: float | None
    sprint: str | None
    # When the tracker's history says it reached done / entered its sprint (ISO 8601):
    # Jira's changelog, GitHub's closed_at. Kept in ``extra`` for the burndown.
    done_at: str | None = None
    sprint_since: str | None = None


class LinkStore:
    """The ``SyncLink`` and ``SyncRun`` rows of one target (``jira``, ``github``)."""

    def __init__(self, engine: Engine, target: str) -> None:
        self.engine = engine
        self.target = target

    def has_tables(self) -> bool:
        return inspect(self.engine).has_table(SyncLink.__tablename__)

    def load(self) -> dict[tuple[str, str], LinkRecord]:
        """Every link of this target, keyed by ``(kind, backlog_id)``; empty without tables."""
        if not self.has_tables():
            return {}
        with Session(self.engine) as session:
            rows = session.exec(select(SyncLink).where(SyncLink.target == self.target)).all()
            return {(row.kind, row.backlog_id): link_record(row) for row in rows}

    def record(self, updates: Iterable[LinkRecord]) -> None:
        """Insert or update links in one transaction (the pulled ``remote_status`` etc. are
        left alone: :meth:`record_pulled` writes them)."""
        updates = list(updates)
        if not updates:
            return
        with Session(self.engine) as session:
            for update in updates:
                row = self._row(session, update.kind, update.backlog_id)
                if row is None:
                    row = SyncLink(
                        target=self.target,
                        kind=update.kind,
                        backlog_id=update.backlog_id,
                        remote_id=update.remote_id,
                    )
                row.remote_id = update.remote_id
                row.remote_key = update.remote_key
                row.remote_url = update.remote_url
                row.content_hash = update.content_hash
                row.extra = dict(update.extra)
                node = update.extra.get("node_id")  # GitHub: board events name the issue by it
                row.remote_node_id = str(node) if node else None
                row.updated_at = utcnow()
                session.add(row)
            session.commit()

    def keep_extra(self, key: str, values: Mapping[str, Any]) -> None:
        """Set ``extra[key]`` of the links of these backlog ids (any kind), in one transaction:
        what a read saw, kept for the next one (GitHub: the dependencies last read)."""
        if not values:
            return
        with Session(self.engine) as session:
            rows = session.exec(
                select(SyncLink).where(
                    SyncLink.target == self.target, col(SyncLink.backlog_id).in_(list(values))
                )
            ).all()
            for row in rows:
                extra = dict(row.extra or {})
                if extra.get(key) != values[row.backlog_id]:
                    extra[key] = values[row.backlog_id]
                    row.extra = extra  # a new dict: the JSON column sees the change
                    session.add(row)
            session.commit()

    def forget(self, keys: Iterable[tuple[str, str]]) -> None:
        with Session(self.engine) as session:
            for kind, backlog_id in keys:
                row = self._row(session, kind, backlog_id)
                if row is not None:
                    session.delete(row)
            session.commit()

    def record_pulled(self, states: Iterable[PulledState]) -> int:
        """Store workflow state read back from the target; returns how many rows changed."""
        changed = 0
        with Session(self.engine) as session:
            for state in states:
                row = self._row(session, state.kind, state.backlog_id)
                if row is None:
                    continue
                new = (state.status, state.assignee, state.points, state.sprint)
                old = (row.remote_status, row.remote_assignee, row.remote_points, row.remote_sprint)
                if new != old:
                    changed += 1
                    row.remote_status, row.remote_assignee, row.remote_points, row.remote_sprint = (
                        new
                    )
                    row.updated_at = utcnow()
                    session.add(row)
                history = {"done_at": state.done_at, "sprint_since": state.sprint_since}
                extra = dict(row.extra or {})
                for key, value in history.items():
                    if value is None:
                        extra.pop(key, None)
                    else:
                        extra[key] = value
                if extra != (row.extra or {}):
                    row.extra = extra  # a new dict: the JSON column sees the change
                    session.add(row)
            session.commit()
        return changed

    # --- runs ---------------------------------------------------------------------------

    def start_run(self, direction: str, backlog_file: str | None) -> int:
        with Session(self.engine) as session:
            run = SyncRun(target=self.target, direction=direction, backlog_file=backlog_file)
            session.add(run)
            session.commit()
            session.refresh(run)
            assert run.id is not None
            return run.id

    def finish_run(
        self,
        run_id: int,
        *,
        outcome: str,
        counts: Mapping[str, int],
        http_calls: Mapping[str, int],
        error: str | None = None,
    ) -> None:
        with Session(self.engine) as session:
            run = session.get(SyncRun, run_id)
            if run is None:
                return
            run.outcome = outcome
            run.counts = dict(counts)
            run.http_calls = dict(http_calls)
            run.error = error
            run.finished_at = utcnow()
            session.add(run)
            session.commit()

    def runs(self) -> list[SyncRun]:
        with Session(self.engine) as session:
            rows = session.exec(
                select(SyncRun).where(SyncRun.target == self.target).order_by(SyncRun.id)  # type: ignore[arg-type]
            ).all()
            for row in rows:
                session.expunge(row)
            return list(rows)

    def _row(self, session: Session, kind: str, backlog_id: str) -> SyncLink | None:
        statement = select(SyncLink).where(
            SyncLink.target == self.target, SyncLink.kind == kind, SyncLink.backlog_id == backlog_id
        )
        return session.exec(statement).first()


def link_record(row: SyncLink) -> LinkRecord:
    """A plain copy of ``row``."""
    return LinkRecord(
        kind=row.kind,
        backlog_id=row.backlog_id,
        remote_id=row.remote_id,
        remote_key=row.remote_key,
        remote_url=row.remote_url,
        content_hash=row.content_hash,
        extra=dict(row.extra or {}),
        remote_status=row.remote_status,
        remote_assignee=row.remote_assignee,
        remote_points=row.remote_points,
        remote_sprint=row.remote_sprint,
    )
