"""New stories in Jira: issues whose parent is a linked epic and that no link knows.

Linking one (once the file holds it with its new id) labels the issue as the engine labels
its own, so that ``apply`` finds and adopts it: one write per new story.

One JQL page per 100 linked epics (``parent in (...)``; ``"Epic Link" in (...)`` on projects
that still link stories to epics that way), with the mapped fields only. Sub-tasks and epics
are not stories; an issue carrying a ``backlog-id-`` label belongs to the file already.
"""

from __future__ import annotations

from typing import Any

from backlog.model import Backlog
from sync.issue_text import SEPARATOR
from sync.jira.mapping import JiraMappingConfig
from sync.jira.port import MANAGED_LABEL, IssueWrite, JiraPort, id_label
from sync.link_record import LinkRecord
from sync.newstories import TrackerStory
from sync.state.base import BaseStore
from sync.state.links import LinkStore

PAGE = 100
INITIAL = frozenset({"to do", "todo", "open", "backlog", "new"})


class JiraStoryFinder:
    target = "jira"

    def __init__(self, port: JiraPort, mapping: JiraMappingConfig, store: LinkStore) -> None:
        self.port = port
        self.mapping = mapping
        self.store = store

    def find(self, backlog: Backlog) -> list[TrackerStory]:
        links = self.store.load()
        in_file = {epic.id for epic in backlog.epics}
        epics = {
            str(link.remote_key): backlog_id
            for (kind, backlog_id), link in links.items()
            if kind == "epic" and link.remote_key and backlog_id in in_file
        }
        linked = {str(link.remote_key) for (kind, _), link in links.items() if kind == "story"}
        if not epics:
            return []
        project = self.port.discover()
        clause = f'"{project.epic_link_field}"' if project.epic_mode == "epic-link" else "parent"
        keys = sorted(epics)
        found: list[TrackerStory] = []
        for start in range(0, len(keys), PAGE):
            chunk = ", ".join(f'"{key}"' for key in keys[start : start + PAGE])
            for issue in self.port.search(project, f"{clause} in ({chunk}) ORDER BY key ASC"):
                kind = issue.issue_type.casefold()
                if (
                    issue.key in linked
                    or issue.backlog_id
                    or issue.parent_key not in epics
                    or kind in ("epic", project.subtask_type_name.casefold(), "sub-task", "subtask")
                ):
                    continue
                status = issue.status if (issue.status or "").casefold() not in INITIAL else None
                found.append(
                    TrackerStory(
                        self.target,
                        issue.key,
                        issue.id,
                        project.issue_url(issue.key),
                        epics[str(issue.parent_key)],
                        (issue.summary or issue.key).strip(),
                        issue.points,
                        self._backlog_priority(issue.priority),
                        status,
                        extra={"labels": list(issue.labels)},
                    )
                )
        return found

    def link(self, story: TrackerStory, backlog_id: str) -> None:
        """Tag the issue with the backlog id as the engine tags its own (the ``backlog-bot``
        and ``backlog-id-US-030`` labels: apply finds it by them and adopts it), then record
        the link and the merge base of what the tracker holds."""
        labels = [str(label) for label in story.extra.get("labels") or []]
        wanted = labels + [x for x in (MANAGED_LABEL, id_label(backlog_id)) if x not in labels]
        self.port.update_issue(story.key, IssueWrite(backlog_id, {"labels": wanted}))
        self.store.record([LinkRecord("story", backlog_id, story.remote_id, story.key, story.url)])
        title = story.title.removeprefix(backlog_id + SEPARATOR)
        values: list[tuple[str, str, Any]] = [(backlog_id, "title", title)]
        if story.points is not None:
            values.append((backlog_id, "points", _number(story.points)))
        BaseStore(self.store.engine, self.target).record(values, "pull")

    def _backlog_priority(self, jira_name: str | None) -> str | None:
        if not jira_name:
            return None
        for word, name in self.mapping.priorities.items():
            if name.casefold() == jira_name.casefold() and word != "highest":
                return word.title()
        return jira_name


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
