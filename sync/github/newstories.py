"""New stories on GitHub: sub-issues of a linked epic's issue that no link knows.

One request per linked epic (``GET /issues/{n}/sub_issues``). Pull requests are not stories;
an issue carrying the hidden backlog id marker belongs to the file already. The priority is
read from the ``priority: high`` label the mapping uses.
"""

from __future__ import annotations

from typing import Protocol

from backlog.model import Backlog
from sync.github.port import GitHubIssue
from sync.issue_text import SEPARATOR
from sync.link_record import LinkRecord
from sync.newstories import TrackerStory
from sync.state.base import BaseStore
from sync.state.links import LinkStore

PRIORITY_LABEL = "priority: "


class SubIssues(Protocol):
    def sub_issue_list(self, parent: int) -> list[GitHubIssue]: ...


class GitHubStoryFinder:
    target = "github"

    def __init__(self, rest: SubIssues, store: LinkStore) -> None:
        self.rest = rest
        self.store = store

    def find(self, backlog: Backlog) -> list[TrackerStory]:
        links = self.store.load()
        in_file = {epic.id for epic in backlog.epics}
        epics = {
            link.number: backlog_id
            for (kind, backlog_id), link in links.items()
            if kind == "epic" and link.number and backlog_id in in_file
        }
        linked = {link.number for (kind, _), link in links.items() if kind == "story"}
        found: list[TrackerStory] = []
        for number, epic_id in sorted(epics.items()):
            for issue in self.rest.sub_issue_list(int(number or 0)):
                if issue.number in linked or issue.backlog_id:
                    continue
                found.append(
                    TrackerStory(
                        self.target,
                        f"#{issue.number}",
                        str(issue.id),
                        issue.url,
                        epic_id,
                        issue.title.strip(),
                        priority=_priority(issue.labels),
                        status="Done" if issue.state == "closed" else None,
                        extra={"number": issue.number, "node_id": issue.node_id},
                    )
                )
        return found

    def link(self, story: TrackerStory, backlog_id: str) -> None:
        self.store.record(
            [
                LinkRecord(
                    "story",
                    backlog_id,
                    story.remote_id,
                    story.key,
                    story.url,
                    extra=dict(story.extra),
                )
            ]
        )
        title = story.title.removeprefix(backlog_id + SEPARATOR)
        BaseStore(self.store.engine, self.target).record([(backlog_id, "title", title)], "pull")


def _priority(labels: tuple[str, ...]) -> str | None:
    for label in labels:
        if label.startswith(PRIORITY_LABEL):
            return label.removeprefix(PRIORITY_LABEL).strip().title()
    return None
