"""The github rows of the sync state tables: ``SyncLink`` read into ``LinkRecord``s and
written back one row per transaction (so a crash loses at most the step in flight), and
the ``SyncRun`` record of each run with its counts and HTTP calls.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.engine import Engine
from sqlmodel import select

from sync.github.plan import TARGET
from sync.link_record import LinkRecord
from sync.state.db import session_scope
from sync.state.links import link_record
from sync.state.tables import SyncLink, SyncRun, utcnow


class LinkStore:
    """The github ``SyncLink`` rows, read once and written through one row at a time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self) -> dict[tuple[str, str], LinkRecord]:
        with session_scope(self.engine) as session:
            rows = session.exec(select(SyncLink).where(SyncLink.target == TARGET)).all()
            return {(row.kind, row.backlog_id): link_record(row) for row in rows}

    def save(self, record: LinkRecord) -> None:
        with session_scope(self.engine) as session:
            row = session.exec(
                select(SyncLink).where(
                    SyncLink.target == TARGET,
                    SyncLink.kind == record.kind,
                    SyncLink.backlog_id == record.backlog_id,
                )
            ).first()
            if row is None:
                row = SyncLink(
                    target=TARGET, kind=record.kind, backlog_id=record.backlog_id, remote_id=""
                )
            for name in (
                "remote_id", "remote_key", "remote_url", "content_hash", "remote_status",
                "remote_assignee", "remote_points", "remote_sprint",
            ):  # fmt: skip
                setattr(row, name, getattr(record, name))
            row.extra = dict(record.extra)
            node = record.extra.get("node_id")
            row.remote_node_id = str(node) if node else None  # indexed: board events
            row.updated_at = utcnow()
            session.add(row)


def start_run(engine: Engine, direction: str, source: str | None) -> int | None:
    with session_scope(engine) as session:
        run = SyncRun(target=TARGET, direction=direction, backlog_file=source)
        session.add(run)
        session.flush()
        return run.id


def finish_run(
    engine: Engine,
    run_id: int | None,
    outcome: str,
    counts: Mapping[str, int],
    calls: Mapping[str, int],
    errors: list[str],
) -> None:
    with session_scope(engine) as session:
        run = session.get(SyncRun, run_id)
        if run is None:
            return
        run.finished_at = utcnow()
        run.outcome = outcome
        run.counts = dict(counts)
        run.http_calls = dict(calls)
        run.error = "\n".join(errors[:20]) or None
        session.add(run)
