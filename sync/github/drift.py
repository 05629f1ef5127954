"""GitHub's side of two-way sync: linked stories' title, and the board's Story Points,
Priority, Status and Sprint; without a board, the sprint is the issue's milestone.

Read in batches: the Projects v2 board's items, 100 per page, each with its issue's title and
field values; stories not on a board are read from the repository's issue list (100 per page).
The file side is what the mapping sends (title ``US-001 · <name>``); a tracker title goes back
without its ``US-001 ·`` prefix into the story heading, the board fields into
``**Story Points:**``, ``**Priority:**`` and ``**Status:**``, the Sprint into the sprint plan,
the issue's labels but the ones the mapping sets (``story``, ``priority: …``, ``role: …``)
into ``**Labels:**``, its assignees' logins into ``**Assignee:**``, the ticks of the body's
``### Acceptance criteria`` task list into the file's ``- [x]`` / ``- [ ]`` items.
With no board configured, the mapping puts a story in its sprint's milestone: the milestone's
title (``Sprint 2``, or ``Sprint 2: <name>`` read as ``Sprint 2``) is the story's sprint.
The dependencies are the issue's "blocked by" issues (issue dependencies), named by backlog
id through the links table (an issue no linked item has is shown as ``#n``): read from the
repository's issue list, whose dependency summary says which issues have blockers, and one
``GET /issues/{n}/dependencies/blocked_by`` for each of those that may have changed since the
last read (GitHub's published GraphQL schema has no field for an issue's dependencies, so they
cannot be read in batches): the blockers last read are kept with the issue's link, and are
read again when the issue's ``updated_at`` or its blocked-by count moved, or when the
blocking counts of the list disagree with what is known (a blocker swapped for another keeps
the story's count, but not the two blockers'). The epic is the issue's parent (sub-issues),
read from the same list: back into ``**Epic:**``, or the story moves to that epic's section.
Who changed a board value is its creator; who renamed, (de)milestoned, (un)labelled or
(un)assigned an issue, the repository's issue events.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from typing import Any

from backlog.edit import FieldEdit
from backlog.model import Story
from sync.github.mapping import (
    FIELD_POINTS,
    FIELD_PRIORITY,
    FIELD_SPRINT,
    FIELD_STATUS,
    assignee_logins,
    priority_name,
    team_labels,
)
from sync.github.port import GitHubIssue, GitHubProjectsPort, GitHubRestPort
from sync.issue_text import SEPARATOR, UNASSIGNED_EPIC, story_name
from sync.twoway import (
    LiveItem,
    adopt_dependencies,
    adopt_value,
    criteria_ticks,
    dependency_ids,
    sprint_number,
    story_edit,
    untidy_title,
)

Blockers = dict[int, list[tuple[int, int]]]  # issue number -> (id, number) of its blockers
FIELDS = (
    "title", "points", "priority", "status", "sprint", "story", "labels", "assignee", "criteria",
    "dependencies", "epic",
)  # fmt: skip
STORY_SECTION = re.compile(r"^### User story\n> (?P<sentence>[^\n]*)$", re.MULTILINE)
TASK_ITEM = re.compile(r"^[-*+]\s+\[(?P<box>[ xX])\]\s+(?P<text>.*)$")
# two-way field -> the board field holding it
BOARD_FIELDS = {
    "points": FIELD_POINTS,
    "priority": FIELD_PRIORITY,
    "status": FIELD_STATUS,
    "sprint": FIELD_SPRINT,
}


class GitHubDrift:
    target: str = "github"
    fields: tuple[str, ...] = FIELDS

    def __init__(
        self,
        rest: GitHubRestPort,
        links: Mapping[str, tuple[int, str]],
        *,
        projects: GitHubProjectsPort | None = None,
        project_id: str | None = None,
        names: Mapping[int, str] | None = None,
        numbers: Mapping[int, str] | None = None,
        pushed: Mapping[str, Mapping[str, Any]] | None = None,
        dependencies: bool = True,
        seen: Mapping[str, Mapping[str, Any]] | None = None,
        remember: Callable[[dict[str, dict[str, Any]]], None] | None = None,
    ) -> None:
        """``links``: backlog id -> (issue number, issue node id) of the linked stories;
        ``names``: issue id -> backlog id of every linked issue (epics and stories);
        ``numbers``: the same by issue number (a parent is named by its number);
        ``pushed``: backlog id -> field -> what apply last pushed (``LiveItem.pushed``);
        ``dependencies``: whether they are issue dependencies (``dependencies_as = "api"``;
        written as a section of the body they are not two-way);
        ``seen``: backlog id -> the dependency read last kept for its issue
        (:meth:`observation`), and ``remember`` keeps this read's."""
        self.rest = rest
        self.links = dict(links)
        self.projects = projects
        self.project_id = project_id
        self.names = dict(names or {})
        self.numbers = dict(numbers or {})
        self.pushed = dict(pushed or {})
        self.dependencies = dependencies
        self.seen = dict(seen or {})
        self.remember = remember
        self.linked = frozenset(self.names.values()) | frozenset(self.links)

    def file_values(self, story: Story, written: Mapping[str, str]) -> dict[str, Any]:
        values: dict[str, Any] = {
            "title": story_name(story),
            "story": story.user_story.text if story.user_story else None,
            "sprint": written.get("sprint"),  # the board's Sprint, else the milestone
            "labels": team_labels(story.labels),
            "assignee": ", ".join(assignee_logins(story.assignee)) or None,
            "criteria": criteria_ticks(story),
        }
        if self.dependencies:
            values["dependencies"] = dependency_ids(story, self.linked, epic_stories=True)
        values["epic"] = None if story.epic_id in (None, UNASSIGNED_EPIC) else story.epic_id
        if self.project_id:
            values.update(
                points=story.points,
                priority=priority_name(story.priority),
                status=written.get("status"),
            )
        return values

    def live(self) -> dict[str, LiveItem]:
        by_node = {node: backlog_id for backlog_id, (_n, node) in self.links.items()}
        found: dict[str, LiveItem] = {}
        if self.projects is not None and self.project_id:
            for node, item in self.projects.items(self.project_id).items():
                backlog_id = by_node.get(node)
                if backlog_id is None or item.title is None:
                    continue
                values = issue_values(
                    backlog_id, item.title, item.labels, item.assignees, item.body
                )
                values |= {
                    "points": item.values.get(FIELD_POINTS),
                    "priority": item.values.get(FIELD_PRIORITY),
                    "status": item.values.get(FIELD_STATUS),
                    "sprint": item.values.get(FIELD_SPRINT),
                }
                untidy = untidy_title(backlog_id, item.title)
                authors = {
                    name: item.authors[board]
                    for name, board in BOARD_FIELDS.items()
                    if board in item.authors
                }
                if item.editor:  # the sentence lives in the body: its last editor changed it
                    authors["story"] = authors["criteria"] = item.editor
                found[backlog_id] = LiveItem(
                    backlog_id, f"#{item.number}", values, authors=authors, untidy=untidy
                )
        missing = {b for b in self.links if b not in found}
        if not self.links:
            return found
        by_number = {n: b for b, (n, _node) in self.links.items()}
        listed = [
            issue
            for issue in self.rest.iter_issues()
            if issue.number in by_number or issue.number in self.numbers
        ]
        blockers_of = self._blockers(listed, by_number) if self.dependencies else {}
        observed: dict[str, dict[str, Any]] = {}
        for issue in listed:
            backlog_id = by_number.get(issue.number)
            if backlog_id is None:
                linked = self.numbers.get(issue.number)  # an epic: its blocking count only
                if linked is not None and self.dependencies:
                    observed[linked] = observation(issue, None)
                continue
            if backlog_id in missing:
                values = issue_values(
                    backlog_id, issue.title, issue.labels, issue.assignees, issue.body
                )
                if not self.project_id:  # no board: the milestone is the sprint
                    values["sprint"] = milestone_sprint(issue.milestone_title)
                untidy = untidy_title(backlog_id, issue.title)
                found[backlog_id] = LiveItem(backlog_id, f"#{issue.number}", values, untidy=untidy)
            item = found.get(backlog_id)
            if item is None:
                continue
            parent = issue.parent_number
            relations: dict[str, Any] = {
                # the parent issue of the sub-issue relation, by backlog id
                "epic": self.numbers.get(parent, f"#{parent}") if parent else None,
            }
            if self.dependencies:
                blockers = blockers_of.get(issue.number, [])
                observed[backlog_id] = observation(issue, blockers)
                relations["dependencies"] = tuple(
                    sorted(self.names.get(ident, f"#{number}") for ident, number in blockers)
                )
            found[backlog_id] = replace(
                item,
                values={**item.values, **relations},
                pushed=self.pushed.get(backlog_id, {}),
            )
        if self.remember is not None and observed:
            self.remember(observed)
        return found

    def _blockers(self, listed: list[GitHubIssue], stories: Collection[int]) -> Blockers:
        """(id, number) of the issues blocking each story issue. A story's blockers last read
        are kept while its blocked-by count and ``updated_at`` are unchanged; the rest are
        read. Then every issue must block as many of them as GitHub counts: where one does
        not, a blocker was swapped for another under an unchanged count, and the stories last
        seen blocked by it are read too (until the counts agree or all are read)."""
        kept: Blockers = {}
        found: Blockers = {}
        for issue in listed:
            if issue.number not in stories:
                continue
            if issue.blocked_by_count == 0:
                found[issue.number] = []
                continue
            seen = self.seen.get(self.numbers.get(issue.number, "")) or {}
            last = seen.get("blockers")
            if (
                last is not None
                and seen.get("blocked_by") == issue.blocked_by_count
                and seen.get("updated_at") == issue.updated_at
                and issue.updated_at is not None
                # a blocker no link knows could be swapped unseen: its count is not watched
                and all(int(number) in self.numbers for _ident, number in last)
            ):
                kept[issue.number] = [(int(ident), int(number)) for ident, number in last]
            else:
                found[issue.number] = self._read_blockers(issue.number)
        counts = {issue.number: issue.blocking_count or 0 for issue in listed}
        while kept:
            blocking: dict[int, int] = {}
            for blockers in (*kept.values(), *found.values()):
                for _ident, number in blockers:
                    blocking[number] = blocking.get(number, 0) + 1
            moved = {n for n, count in counts.items() if blocking.get(n, 0) != count}
            suspects = [
                story
                for story, blockers in kept.items()
                if any(number in moved for _ident, number in blockers)
            ]
            if not suspects:
                break
            for story in suspects:
                del kept[story]
                found[story] = self._read_blockers(story)
        return {**kept, **found}

    def _read_blockers(self, number: int) -> list[tuple[int, int]]:
        return [(b.id, b.number) for b in self.rest.blocked_by_list(number)]

    def who_changed(self, wanted: Collection[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Who renamed, (de)milestoned, (un)labelled or (un)assigned the issues: one page of the
        repository's issue events, read only when such a change needs a name."""
        kinds = {
            "title": "title",
            "sprint": "milestone",
            "labels": "labels",
            "assignee": "assignee",
        }
        asked = [(item, name) for item, name in wanted if name in kinds and item in self.links]
        if not asked:
            return {}
        actors = self.rest.issue_event_actors({self.links[item][0] for item, _name in asked})
        found = {}
        for item, name in asked:
            who = actors.get(self.links[item][0], {}).get(kinds[name])
            if who:
                found[(item, name)] = who
        return found

    def edit(self, story: Story, name: str, value: Any) -> FieldEdit | None:
        return story_edit(story, name, value)

    def adopt(self, story: Story, name: str, value: Any) -> Story:
        if name == "dependencies":
            return adopt_dependencies(story, value, self.linked, epic_stories=True)
        return adopt_value(story, name, value)


def milestone_sprint(title: str | None) -> str | None:
    """The sprint a milestone stands for: ``Sprint 2: Billing`` (the mapping's title for a
    named sprint) -> ``Sprint 2``; a milestone not named after a sprint, as titled."""
    number = sprint_number(title)
    return f"Sprint {number}" if number is not None else title


def criteria_checks(body: str | None) -> tuple[tuple[str, bool], ...] | None:
    """The task list of the body's ``### Acceptance criteria`` section as (text, ticked)
    pairs (a teammate ticks ``- [x]`` on GitHub); None when it has no such section."""
    found: list[tuple[str, bool]] | None = None
    for line in (body or "").replace("\r\n", "\n").split("\n"):
        if line.strip() == "### Acceptance criteria":
            found = []
        elif found is not None and line.startswith("#"):
            break
        elif found is not None and (item := TASK_ITEM.match(line)):
            found.append((" ".join(item["text"].split()), item["box"] != " "))
    return tuple(found) if found is not None else None


def story_sentence(body: str | None) -> str | None:
    """The sentence of the body's ``### User story`` quote; None when it has none."""
    match = STORY_SECTION.search((body or "").replace("\r\n", "\n"))
    if match is None:
        return None
    return " ".join(match["sentence"].split()) or None


def issue_values(
    backlog_id: str, title: str, labels: Collection[str], assignees: Collection[str], body: str
) -> dict[str, Any]:
    """The two-way values an issue holds itself, read alike from a board item and from the
    issue list: title (without the ``US-001 · `` prefix the mapping puts in front), the team's
    labels, assignees and, when the body has them, the story sentence and criteria ticks."""
    values: dict[str, Any] = {
        "title": title.removeprefix(backlog_id + SEPARATOR),
        "labels": team_labels(labels),
        "assignee": ", ".join(assignee_logins(",".join(assignees))) or None,
    }
    sentence = story_sentence(body)
    if sentence is not None:  # a body without it says nothing about it
        values["story"] = sentence
    criteria = criteria_checks(body)
    if criteria is not None:
        values["criteria"] = criteria
    return values


def observation(issue: GitHubIssue, blockers: list[tuple[int, int]] | None) -> dict[str, Any]:
    """What a dependency read saw of an issue, kept with its link (JSON): its ``updated_at``,
    its blocked-by and blocking counts and, for a story, its blockers as (id, number)."""
    return {
        "updated_at": issue.updated_at,
        "blocked_by": issue.blocked_by_count or 0,
        "blocking": issue.blocking_count or 0,
        "blockers": None if blockers is None else [list(pair) for pair in blockers],
    }
