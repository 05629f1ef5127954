"""Stories created in a tracker under a linked epic, not yet in the backlog file.

A ``StoryFinder`` (``sync.jira.newstories``, ``sync.github.newstories``) finds them (the
stories under the linked epics that no link knows and that carry no backlog id) and, once
the file holds them with their new id, links each one (``link``) so that the next ``apply``
updates that issue instead of creating a second one. The values are those the tracker holds;
the merge base is recorded with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from backlog.model import Backlog


@dataclass(frozen=True)
class TrackerStory:
    """A story as its tracker holds it, under the epic ``epic_id`` of the backlog."""

    target: str
    key: str  # BSS-12, #14
    remote_id: str
    url: str
    epic_id: str
    title: str
    points: float | None = None
    priority: str | None = None  # in the backlog's own words
    status: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class StoryFinder(Protocol):
    def find(self, backlog: Backlog) -> list[TrackerStory]: ...

    def link(self, story: TrackerStory, backlog_id: str) -> None: ...
