"""What a rule reads: the backlog, the configuration, live snapshots and derived facts.

Derived facts (story index, sprint of each story, estimation bands, per-role hours) are
computed once per run and shared by the rules, so every rule stays linear in the backlog size.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from backlog.model import (
    Backlog,
    ChecklistItem,
    Definition,
    Dependency,
    Epic,
    EstimationBand,
    Story,
    Team,
    TeamRole,
    UserStory,
    role_key,
)
from rules.config import RulesConfig
from rules.live import LiveIssue

_AS_A = re.compile(
    r"^\s*as\s+an?\s+(?P<role>.+?)\s*,?\s+I\s+(?:want|need|would like|can)\s+(?:to\s+)?"
    r"(?P<want>.+?)(?:\s*,?\s+so\s+that\s+(?P<benefit>.+?))?\s*\.?\s*$",
    re.IGNORECASE | re.DOTALL,
)


def user_story_parts(sentence: UserStory) -> tuple[str | None, str | None, str | None]:
    """(role, want, benefit) of a user story: the parsed fields, else read from its text.

    The fallback matters for sentences without "so that", which a parser may leave unsplit.
    """
    if sentence.role and sentence.want:
        return sentence.role, sentence.want, sentence.benefit
    match = _AS_A.match(sentence.text)
    if not match:
        return sentence.role, sentence.want, sentence.benefit
    return (
        sentence.role or match.group("role"),
        sentence.want or match.group("want"),
        sentence.benefit or match.group("benefit"),
    )


@dataclass(frozen=True)
class DefinitionCheck:
    """A checklist item of the document's DoR/DoD that a rule enforces (or a default)."""

    text: str
    line: int
    from_document: bool

    def cite(self, name: str) -> str:
        """``the Definition of Ready item "Story estimated" (line 2201)`` or the default."""
        if self.from_document:
            where = f" (line {self.line})" if self.line else ""
            return f'the {name} item "{self.text}"{where}'
        return f"the default {name} ({self.text})"


def map_definition(
    definition: Definition | None,
    keywords: Mapping[str, Iterable[str]],
    defaults: Mapping[str, str],
) -> tuple[dict[str, DefinitionCheck], list[ChecklistItem]]:
    """Map a definition's items to check keys by keyword regexes.

    Returns the enabled checks and the items no check understands. Without a definition (or
    with an empty one) every check is enabled with its documented default text.
    """
    if definition is None or not definition.items:
        return {key: DefinitionCheck(text, 0, False) for key, text in defaults.items()}, []
    checks: dict[str, DefinitionCheck] = {}
    unmapped: list[ChecklistItem] = []
    for item in definition.items:
        text = item.text.casefold()
        keys = [
            key
            for key, patterns in keywords.items()
            if any(re.search(pattern, text) for pattern in patterns)
        ]
        for key in keys:
            checks.setdefault(key, DefinitionCheck(item.text, item.line, True))
        if not keys:
            unmapped.append(item)
    return checks, unmapped


@dataclass
class RuleContext:
    backlog: Backlog
    config: RulesConfig = field(default_factory=RulesConfig)
    live: tuple[LiveIssue, ...] = ()
    cache: dict[str, object] = field(default_factory=dict)
    """Results shared between rules of one run (e.g. sprint loads)."""

    @property
    def file(self) -> str:
        return self.backlog.source or "<backlog>"

    @property
    def team(self) -> Team:
        return self.backlog.team

    @cached_property
    def stories(self) -> tuple[Story, ...]:
        return self.backlog.stories

    @cached_property
    def stories_by_id(self) -> dict[str, Story]:
        return {story.id: story for story in self.stories}

    @cached_property
    def unread_in_story(self) -> dict[str, str]:
        """Story id -> the line ranges inside it the reader did not understand ("" if none).

        A rule that finds a field missing says so: the field may be written there in a form
        backlog-bot does not read.
        """
        ranges: dict[str, list[str]] = {}
        for block in self.backlog.unread:
            if block.context.startswith("in story "):
                where = (
                    str(block.line)
                    if block.end_line <= block.line
                    else f"{block.line}-{block.end_line}"
                )
                ranges.setdefault(block.context.removeprefix("in story "), []).append(where)
        return {
            story_id: f" (lines {', '.join(found)} of the story were not understood: see "
            "document.unparsed)"
            for story_id, found in ranges.items()
        }

    @cached_property
    def epics_by_id(self) -> dict[str, Epic]:
        return {epic.id: epic for epic in self.backlog.epics}

    @cached_property
    def epic_of(self) -> dict[str, str]:
        return {story.id: epic.id for epic in self.backlog.epics for story in epic.stories}

    @cached_property
    def sprint_of(self) -> dict[str, int]:
        return self.backlog.sprint_of()

    @cached_property
    def sprint_line(self) -> dict[int, int]:
        return {sprint.number: sprint.line for sprint in self.backlog.sprints}

    # --- estimation guide ---------------------------------------------------------------

    @cached_property
    def bands(self) -> tuple[EstimationBand, ...]:
        return tuple(sorted(self.backlog.estimation_guide, key=lambda band: band.points))

    @cached_property
    def points_scale(self) -> tuple[int, ...]:
        """The team's points scale: the guide's rows, else the configured default."""
        if self.bands:
            return tuple(band.points for band in self.bands)
        return tuple(sorted(self.config.thresholds.points_scale))

    def band(self, points: int) -> EstimationBand | None:
        return next((band for band in self.bands if band.points == points), None)

    @cached_property
    def epic_bands(self) -> tuple[EstimationBand, ...]:
        """Guide rows whose complexity says "Epic": stories that big must be split."""
        return tuple(b for b in self.bands if b.complexity and "epic" in b.complexity.casefold())

    @cached_property
    def max_story_points(self) -> tuple[int, str]:
        """Largest story size allowed, with where that number comes from."""
        configured = self.config.thresholds.max_story_points
        if configured is not None:
            return configured, "the configured max-story-points"
        non_epic = [b for b in self.bands if b not in self.epic_bands]
        if non_epic and self.epic_bands:
            largest = non_epic[-1]
            return largest.points, "the estimation guide's largest non-epic size"
        default = self.config.thresholds.default_max_story_points
        return default, "the default max-story-points"

    # --- hours per role -----------------------------------------------------------------

    def role_hours(self, story: Story) -> dict[str, float]:
        """Task hours of a story per team-role key; a task with several roles splits evenly."""
        return self._role_hours.get(story.id) or _role_hours(story)

    @cached_property
    def _role_hours(self) -> dict[str, dict[str, float]]:
        return {story.id: _role_hours(story) for story in self.stories}

    @cached_property
    def _roles_by_key(self) -> dict[str, TeamRole]:
        roles: dict[str, TeamRole] = {}
        for role in self.team.roles:
            roles.setdefault(role.key, role)
        return roles

    def team_role(self, name: str) -> TeamRole | None:
        """The team-table role a label means ("Backend" -> "Backend Developer"), cached."""
        return self._roles_by_key.get(_role_key(name))

    def role_label(self, key: str) -> str:
        """Display name of a role key: the team table's name, else the key as written."""
        role = self.team_role(key)
        return role.name if role else key

    # --- dependencies -------------------------------------------------------------------

    @cached_property
    def matrix_rows(self) -> dict[str, list[tuple[Dependency, int]]]:
        rows: dict[str, list[tuple[Dependency, int]]] = {}
        for row in self.backlog.dependency_matrix:
            rows.setdefault(row.story_id, []).extend((dep, row.line) for dep in row.depends_on)
        return rows

    def dependency_targets(self, dep: Dependency) -> tuple[str, ...]:
        """Story ids a dependency stands for (an epic dependency means all its stories)."""
        if dep.kind == "story" and dep.target:
            return (dep.target,)
        if dep.kind == "epic" and dep.target:
            epic = self.epics_by_id.get(dep.target)
            return tuple(story.id for story in epic.stories) if epic else ()
        return dep.resolved

    def declared_dependencies(self, story: Story) -> list[tuple[Dependency, str, int]]:
        """Every dependency of a story with its source: the story field or the matrix row."""
        found = [(dep, "Dependencies field", story.line) for dep in story.dependencies]
        for dep, line in self.matrix_rows.get(story.id, ()):
            found.append((dep, "dependency matrix", line))
        return found


_ROLE_KEYS: dict[str, str] = {}


def _role_key(label: str) -> str:
    """``role_key`` memoised: a backlog repeats a handful of role labels thousands of times."""
    key = _ROLE_KEYS.get(label)
    if key is None:
        if len(_ROLE_KEYS) > 4096:
            _ROLE_KEYS.clear()
        key = _ROLE_KEYS[label] = role_key(label)
    return key


def _role_hours(story: Story) -> dict[str, float]:
    hours: dict[str, float] = {}
    for task in story.tasks:
        if not task.hours or not task.roles:
            continue
        share = task.hours / len(task.roles)
        for role in task.roles:
            key = _role_key(role)
            hours[key] = hours.get(key, 0.0) + share
    return hours
