"""New stories created in a tracker under a linked epic, appended to the file and linked.

``append_new`` asks the target's ``StoryFinder`` (``sync.newstories``) for the stories under
the linked epics that no link knows and appends them to their epic in the file's own style
with a new id (``backlog.append``); ``link_appended`` links each appended story to its issue
once the file is written, so that the next ``apply`` updates that issue instead of creating
another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from backlog.append import AppendResult, NewStory, append_stories

if TYPE_CHECKING:
    from backlog.model import Backlog
    from bot.targets.factory import SyncTarget
    from sync.newstories import TrackerStory


@dataclass
class Appended:
    target: str
    result: AppendResult
    found: list[TrackerStory] = field(default_factory=list)

    def lines(self) -> list[str]:
        """``jira: new story BSS-12 'Export invoices' -> US-030 in EPIC-001`` per story."""
        out = [
            f"  + new      {story.epic_id} {new_id} {story.source}: {story.title!r} (tracker)"
            for story, new_id in self.result.added
        ]
        out += [
            f"  not written: new story {story.source} {story.title!r}: {why}"
            for story, why in self.result.skipped
        ]
        return out


def append_new(runner: SyncTarget, backlog: Backlog, text: str) -> Appended:
    """``text`` with the tracker's new stories appended (nothing is linked yet)."""
    found = runner.story_finder().find(backlog)
    stories = [
        NewStory(s.epic_id, s.title, s.points, s.priority, s.status, source=s.key) for s in found
    ]
    return Appended(runner.name, append_stories(text, backlog, stories), found)


def link_appended(runner: SyncTarget, appended: Appended) -> int:
    """Link each appended story to its issue (after the file was written)."""
    finder = runner.story_finder()
    by_key = {story.key: story for story in appended.found}
    for story, new_id in appended.result.added:
        finder.link(by_key[story.source], new_id)
    return len(appended.result.added)
