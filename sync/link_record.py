"""``LinkRecord``: a plain copy of one ``SyncLink`` row, shared by the Jira and GitHub
engines and their pure planners (no database import here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class LinkRecord:
    """One backlog item's link to its remote counterpart (safe to use after the session
    closed). ``remote_status``/``remote_assignee``/``remote_points``/``remote_sprint`` are
    the state pulled back from the target."""

    kind: str
    backlog_id: str
    remote_id: str
    remote_key: str | None = None
    remote_url: str | None = None
    content_hash: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    remote_status: str | None = None
    remote_assignee: str | None = None
    remote_points: float | None = None
    remote_sprint: str | None = None

    @property
    def number(self) -> int | None:
        """The GitHub issue or milestone number kept in ``extra``, if any."""
        value = self.extra.get("number")
        return int(value) if value is not None else None
