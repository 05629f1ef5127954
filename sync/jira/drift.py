"""Jira's side of two-way sync: linked stories' summary, points, priority, status, sprint,
story sentence, labels, assignee, acceptance criteria ticks, dependencies and epic.

Read in batches: one ``key in (...)`` JQL page per 100 linked stories, with only the mapped
fields. The file side is what the mapping sends (the summary is the story heading's name,
the priority the ``[jira] priorities`` name); a tracker value goes back into the file as the
story heading, ``**Story Points:**``, ``**Priority:**`` (the backlog's own word for the Jira
priority) and ``**Status:**``; a sprint (the issue's open sprint, else the last one it was in)
moves the story in the sprint plan; the issue's labels but the bot's own go into
``**Labels:**``, its assignee's display name into ``**Assignee:**``, the ticks of the
acceptance criteria checklist (``* (/)`` / ``* ( )`` in the description) into the file's
``- [x]`` / ``- [ ]`` items. The dependencies are the issues linked to the story as
"is blocked by" (the mapping's "Blocks" links), named by backlog id through the links table
(a key no linked item has is shown as the key); they go back into ``**Dependencies:**``.
The epic is the issue's parent (or its Epic Link on older company-managed projects), by
backlog id: back into ``**Epic:**``, or the story moves to that epic's section.
Who changed each field comes from the search's changelog.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from backlog.edit import FieldEdit
from backlog.model import Story
from sync.issue_text import SEPARATOR, UNASSIGNED_EPIC, story_name
from sync.jira.mapping import JiraMappingConfig, jira_label, jira_priority, team_labels
from sync.jira.port import JiraPort, JiraProjectConfig
from sync.jira.wiki import wiki_text
from sync.twoway import (
    LiveItem,
    adopt_dependencies,
    adopt_value,
    criteria_ticks,
    dependency_ids,
    story_edit,
    untidy_title,
)

FIELDS = (
    "title", "points", "priority", "status", "sprint", "story", "labels", "assignee", "criteria",
    "dependencies", "epic",
)  # fmt: skip
STORY_LABEL = re.compile(r"^\s*\*?User story:\*?\s*", re.IGNORECASE)
CRITERIA_HEADING = re.compile(r"^\s*h3\.\s*Acceptance criteria\s*$", re.IGNORECASE)
# a checklist item as the mapping writes it: "* (/) done", "* ( ) open" ("(x)": not done)
CHECK_ITEM = re.compile(r"^\s*\*\s+\((?P<box>/|x|X|\s?)\)\s+(?P<text>.*)$")
PAGE = 100


class JiraDrift:
    target: str = "jira"
    fields: tuple[str, ...] = FIELDS

    def __init__(
        self,
        port: JiraPort,
        mapping: JiraMappingConfig,
        keys: Mapping[str, str],
        project: JiraProjectConfig | None = None,
        *,
        names: Mapping[str, str] | None = None,
        pushed: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """``keys``: backlog id -> Jira key of the linked stories; ``names``: Jira key ->
        backlog id of every linked issue (stories and epics, what a link can point at);
        ``pushed``: backlog id -> field -> what apply last pushed (``LiveItem.pushed``)."""
        self.port = port
        self.mapping = mapping
        self.keys = dict(keys)
        self.project = project
        self.names = dict(names) if names is not None else {k: b for b, k in keys.items()}
        self.pushed = dict(pushed or {})
        self.linked = frozenset(self.names.values())

    def file_values(self, story: Story, written: Mapping[str, str]) -> dict[str, Any]:
        values: dict[str, Any] = {
            "title": story_name(story),
            "points": story.points,
            "status": written.get("status"),
            "sprint": written.get("sprint"),
            "story": story.user_story.text if story.user_story else None,
            "labels": tuple(dict.fromkeys(jira_label(label) for label in story.labels)),
            "assignee": story.assignee,
            "criteria": criteria_ticks(story),
            "dependencies": dependency_ids(story, self.linked, epic_stories=False),
            "epic": None if story.epic_id == UNASSIGNED_EPIC else story.epic_id,
        }
        priority = jira_priority(story.priority, self.mapping.priorities)
        if priority is not None:
            # A story whose priority names no Jira priority (or has none) sends none, and the
            # issue keeps the project's default: that default is no change to pull back.
            values["priority"] = priority
        return values

    def live(self) -> dict[str, LiveItem]:
        if not self.keys:
            return {}
        project = self.project or self.port.discover()
        self.project = project
        by_key = {key: backlog_id for backlog_id, key in self.keys.items()}
        found: dict[str, LiveItem] = {}
        keys = sorted(by_key)
        for start in range(0, len(keys), PAGE):
            chunk = ", ".join(f'"{key}"' for key in keys[start : start + PAGE])
            jql = f"key in ({chunk}) ORDER BY key ASC"
            for issue in self.port.search(project, jql, description=True):
                backlog_id = by_key.get(issue.key)
                if backlog_id is None:
                    continue
                values: dict[str, Any] = {
                    # compared without the "US-001 · " prefix the mapping puts in front
                    "title": (issue.summary or "").removeprefix(backlog_id + SEPARATOR),
                    "points": issue.points,
                    "priority": issue.priority,
                    "status": issue.status,
                    "sprint": issue.plan_sprint,
                    "labels": team_labels(issue.labels, self.mapping),
                    "assignee": issue.assignee,  # the display name
                    "dependencies": tuple(
                        sorted(self.names.get(key, key) for key in issue.blocked_by)
                    ),
                    # the parent (or Epic Link) the mapping sets, by backlog id
                    "epic": self.names.get(issue.parent_key, issue.parent_key)
                    if issue.parent_key
                    else None,
                }
                sentence = story_sentence(issue.description)
                if sentence is not None:  # a description without it says nothing about it
                    values["story"] = sentence
                criteria = criteria_checks(issue.description)
                if criteria is not None:
                    values["criteria"] = criteria
                untidy = untidy_title(backlog_id, issue.summary)
                authors = _authors(issue.changed_by, project)
                found[backlog_id] = LiveItem(
                    backlog_id,
                    issue.key,
                    values,
                    authors=authors,
                    untidy=untidy,
                    pushed=self.pushed.get(backlog_id, {}),
                )
        return found

    def edit(self, story: Story, name: str, value: Any) -> FieldEdit | None:
        return story_edit(story, name, value, self._backlog_priority)

    def adopt(self, story: Story, name: str, value: Any) -> Story:
        if name == "dependencies":
            return adopt_dependencies(story, value, self.linked, epic_stories=False)
        return adopt_value(story, name, value, self._backlog_priority)

    def who_changed(self, wanted: Collection[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Nothing more to read: the changelog of the search named every author it knows."""
        return {}

    def _backlog_priority(self, jira_name: str) -> str:
        """The backlog word for a Jira priority (``Highest`` -> ``Critical`` by default)."""
        for word, name in self.mapping.priorities.items():
            if name.casefold() == jira_name.casefold() and word != "highest":
                return word.title()
        return jira_name


def story_sentence(description: Any) -> str | None:
    """The user story sentence the mapping put in a description (``*User story:* As a ...``),
    read from wiki text or from a document (REST v3); None when it has none."""
    blocks = _blocks(description)
    for block in blocks:
        first = block.strip().split("\n", 1)[0]
        if STORY_LABEL.match(first):
            sentence = wiki_text(STORY_LABEL.sub("", first, count=1))
            return " ".join(sentence.split()) or None
    return None


def criteria_checks(description: Any) -> tuple[tuple[str, bool], ...] | None:
    """The acceptance criteria checklist the mapping put in a description (under
    ``h3. Acceptance criteria``) as (text, ticked) pairs; None when it has no such section."""
    found: list[tuple[str, bool]] | None = None
    for block in _blocks(description):
        for line in block.split("\n"):
            if CRITERIA_HEADING.match(line):
                found = []
            elif found is not None and line.lstrip().startswith("h3."):
                return tuple(found)
            elif found is not None and (item := CHECK_ITEM.match(line)):
                text = " ".join(wiki_text(item["text"]).split())
                found.append((text, item["box"] == "/"))
    return tuple(found) if found is not None else None


def _blocks(description: Any) -> list[str]:
    """A description's paragraphs: wiki text split at blank lines and line breaks, or the
    text of a document's top-level nodes."""
    if isinstance(description, str):
        return [line for line in description.splitlines() if line.strip()]
    if isinstance(description, dict):
        return [_text(node) for node in description.get("content") or []]
    return []


def _text(node: Any) -> str:
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        text = str(node.get("text") or "")
        strong = any((mark or {}).get("type") == "strong" for mark in node.get("marks") or [])
        return f"*{text}*" if strong and text.strip().endswith(":") else text
    return "".join(_text(child) for child in node.get("content") or [])


def _authors(changed_by: Mapping[str, str], project: JiraProjectConfig) -> dict[str, str]:
    """Who last changed each two-way field, from the changelog's field ids (or names)."""
    keys = {
        "title": ("summary",),
        "points": (project.points_field, project.points_field_name),
        "priority": ("priority",),
        "status": ("status",),
        "sprint": (project.sprint_field, "Sprint"),
        "story": ("description",),
        "labels": ("labels",),
        "assignee": ("assignee",),
        "criteria": ("description",),
        "epic": (
            "parent",
            project.epic_link_field,
            "Epic Link",
            "Parent",
            "IssueParentAssociation",
        ),
    }
    found = {}
    for name, candidates in keys.items():
        who = next((changed_by[k] for k in candidates if k and k in changed_by), None)
        if who:
            found[name] = who
    return found
