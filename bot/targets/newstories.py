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


def adopt_matching(runner: SyncTarget, backlog: Backlog) -> list[str]:
    """Link the file's unlinked stories to the stories created in the tracker under their
    epic with the same title: a GitOps proposal that was merged (its new stories are in the
    file; their issues are linked before any apply, which would otherwise create them again)."""
    from bot.targets.twoway import linked_stories
    from sync.issue_text import story_name

    finder = runner.story_finder()
    found = finder.find(backlog)
    if not found:
        return []
    linked = {row.backlog_id for row in linked_stories(runner.state_engine(), runner.name)}
    waiting = {(s.epic_id, _words(s.title)): s for s in reversed(found)}
    lines = []
    for story in backlog.iter_stories():
        if story.id in linked or story.epic_id is None:
            continue
        match = waiting.pop((story.epic_id, _words(story_name(story))), None)
        if match is not None:
            finder.link(match, story.id)
            lines.append(f"{runner.name}: {story.id} linked to {match.key} (created there)")
    return lines


def _words(text: str) -> str:
    return " ".join(text.casefold().split())
