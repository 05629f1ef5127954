"""The Markdown backlog parser: heading sections -> :class:`backlog.model.Backlog`.

The document is tokenised once by pyromark / pulldown-cmark (see :mod:`backlog.markdown.blocks`),
grouped into heading sections, and each section is recognised by its heading (case-insensitive):
``EPIC n: ...`` (with ``Story x.y: ...`` sections), ``Sprint n (Weeks ...): ...``, the sprint
overview, team capacity, velocity history, estimation guide, dependency matrix, ``Risk n: ...``,
Definition of Ready / Done. Sections it does not recognise are kept as
:class:`backlog.model.Section` so nothing is lost (rules report them as info).
"""

from __future__ import annotations

import gc
import re

from backlog.errors import DuplicateIdError
from backlog.markdown.blocks import HeadingSection, LineIndex, build_sections
from backlog.markdown.fields import normalize_heading, parse_int
from backlog.markdown.finish import check_complete, resolve_all
from backlog.markdown.sprint import is_sprint_heading, read_overview, read_sprint
from backlog.markdown.story import (
    EpicDraft,
    StoryDraft,
    epic_points,
    is_epic_heading,
    is_story_heading,
    read_epic_heading,
    read_epic_labels,
    read_story,
)
from backlog.markdown.tables import (
    is_risk_heading,
    read_definition,
    read_estimation,
    read_matrix,
    read_risk,
    read_team,
    read_velocity,
)
from backlog.model import (
    Backlog,
    Definition,
    Dependency,
    DependencyRow,
    Epic,
    EstimationBand,
    Risk,
    Section,
    Sprint,
    Story,
    Team,
    VelocityRecord,
)

UNASSIGNED_EPIC = "NO-EPIC"


def classify(title: str) -> str | None:
    """The kind of section a heading introduces, or None when it is not recognised."""
    if is_epic_heading(title):
        return "epic"
    if is_story_heading(title):
        return "story"
    if is_sprint_heading(title):
        return "sprint"
    if is_risk_heading(title):
        return "risk"
    heading = normalize_heading(title)
    if "sprint overview" in heading or heading == "sprint plan overview":
        return "overview"
    if "definition of ready" in heading or "(dor)" in heading:
        return "dor"
    if "definition of done" in heading or "(dod)" in heading:
        return "dod"
    if "team" in heading and ("capacity" in heading or "composition" in heading):
        return "team"
    if "velocity" in heading and ("histor" in heading or "data" in heading):
        return "velocity"
    if "estimation" in heading:
        return "estimation"
    if "dependencies" in heading or "dependency matrix" in heading:
        return "matrix"
    return None


class _Reader:
    def __init__(self, source: str | None, lines: list[str]) -> None:
        self.source = source
        self.lines = lines
        self.title = ""
        self.metadata: dict[str, str] = {}
        self.metadata_lines: dict[str, int] = {}
        self.team: Team | None = None
        self.epics: list[EpicDraft] = []
        self.loose_stories: list[StoryDraft] = []
        self.sprints: dict[int, Sprint] = {}
        self.overview: dict[int, tuple[int | None, Sprint]] = {}
        self.overview_total: int | None = None
        self.overview_total_line = 0
        self.dor: Definition | None = None
        self.dod: Definition | None = None
        self.estimation: list[EstimationBand] = []
        self.velocity: list[VelocityRecord] = []
        self.matrix: list[DependencyRow] = []
        self.risks: list[Risk] = []
        self.others: list[Section] = []
        self._known: dict[int, bool] = {}

    # -- walking --------------------------------------------------------------------------

    def read_document(self, top: HeadingSection) -> None:
        self._metadata(top)
        children = top.children
        if children and children[0].level == 1 and classify(children[0].title) is None:
            head = children[0]
            self.title = head.title
            self._metadata(head)
            for child in head.children:
                self.visit(child)
            children = children[1:]
        for child in children:
            self.visit(child)

    def _metadata(self, section: HeadingSection) -> None:
        for block in section.blocks:
            for item in block.lines if block.kind == "paragraph" else ():
                if item.label and item.value and item.label not in self.metadata:
                    self.metadata[item.label] = item.value
                    self.metadata_lines[item.label] = item.line

    def visit(self, section: HeadingSection) -> None:
        kind = classify(section.title)
        if kind == "epic":
            self.read_epic(section)
        elif kind == "story":
            self.loose_stories.append(read_story(section, self.source))
        elif kind == "sprint":
            sprint = read_sprint(section)
            self.sprints.setdefault(sprint.number, sprint)
        elif kind == "risk":
            self.risks.append(read_risk(section))
        elif kind == "dor" and self.dor is None:
            self.dor = read_definition(section)
        elif kind == "dod" and self.dod is None:
            self.dod = read_definition(section)
        elif kind in ("overview", "team", "velocity", "estimation", "matrix"):
            if not self.read_table_section(kind, section) and section.blocks:
                self.keep(section, own_only=bool(section.children))
            for child in section.children:
                self.visit(child)
        elif self.has_known(section):
            if any(block.kind != "hr" for block in section.blocks):
                self.keep(section, own_only=True)
            for child in section.children:
                self.visit(child)
        else:
            self.keep(section, own_only=False)

    def read_table_section(self, kind: str, section: HeadingSection) -> bool:
        if kind == "overview":
            rows, total, total_line = read_overview(section)
            self.overview.update(rows)
            if total is not None:
                self.overview_total, self.overview_total_line = total, total_line
            return bool(rows)
        if kind == "team":
            team = read_team(section)
            if team is not None and self.team is None:
                self.team = team
            return team is not None
        if kind == "velocity":
            self.velocity.extend(read_velocity(section))
            return bool(self.velocity)
        if kind == "estimation":
            self.estimation.extend(read_estimation(section))
            return bool(self.estimation)
        rows_ = read_matrix(section)
        self.matrix.extend(rows_)
        return bool(rows_)

    def has_known(self, section: HeadingSection) -> bool:
        key = id(section)
        if key not in self._known:
            self._known[key] = any(
                classify(child.title) is not None or self.has_known(child)
                for child in section.children
            )
        return self._known[key]

    def keep(self, section: HeadingSection, *, own_only: bool) -> None:
        end = section.end_line
        if own_only and section.children:
            end = section.children[0].line - 1
        text = "\n".join(self.lines[section.line : end]).strip("\n")
        self.others.append(
            Section(
                heading=section.title,
                level=section.level,
                text=text,
                line=section.line,
                end_line=end,
            )
        )

    def read_epic(self, section: HeadingSection) -> None:
        draft = read_epic_heading(section)
        read_epic_labels(draft, section.blocks)
        self._epic_children(draft, section)
        self.epics.append(draft)

    def _epic_children(self, draft: EpicDraft, section: HeadingSection) -> None:
        for child in section.children:
            kind = classify(child.title)
            if kind == "story":
                story = read_story(child, self.source)
                story.epic_id = draft.id
                draft.stories.append(story)
            elif kind is None and self.has_known(child):
                read_epic_labels(draft, child.blocks)
                self._epic_children(draft, child)
            elif kind is None and read_epic_labels(draft, child.blocks):
                for grandchild in child.children:
                    self.visit(grandchild)
            else:
                self.visit(child)

    # -- building ---------------------------------------------------------------------------

    def build(self) -> Backlog:
        if self.loose_stories:
            loose = EpicDraft(
                id=UNASSIGNED_EPIC,
                name="Stories outside any epic",
                heading="",
                number=None,
                line=self.loose_stories[0].line,
                end_line=self.loose_stories[-1].end_line,
            )
            loose.stories = self.loose_stories
            for story in loose.stories:
                story.epic_id = None
            self.epics.append(loose)
        self._check_duplicates()
        order = [story for epic in self.epics for story in epic.stories]
        epic_stories = {epic.id: [s.id for s in epic.stories] for epic in self.epics}
        epics: list[Epic] = []
        position = {story.id: index for index, story in enumerate(order)}
        for epic in self.epics:
            stories = tuple(
                _story(
                    story,
                    resolve_all(
                        story.dependencies,
                        story.id,
                        order,
                        position,
                        epic_stories,
                        epic.id,
                        self.epics,
                    ),
                )
                for story in epic.stories
            )
            points, points_raw = epic_points(epic)
            epics.append(
                Epic(
                    id=epic.id,
                    name=epic.name,
                    heading=epic.heading,
                    number=epic.number,
                    business_value=epic.fields.get("business_value"),
                    timeline=epic.fields.get("timeline"),
                    points=points,
                    points_raw=points_raw,
                    acceptance_criteria=epic.acceptance,
                    stories=stories,
                    line=epic.line,
                    end_line=epic.end_line,
                )
            )
        story_epic = {s.id: e.id for e in self.epics for s in e.stories}
        matrix = tuple(
            row.model_copy(
                update={
                    "depends_on": resolve_all(
                        list(row.depends_on),
                        row.story_id,
                        order,
                        position,
                        epic_stories,
                        story_epic.get(row.story_id),
                        self.epics,
                    )
                }
            )
            for row in self.matrix
        )
        total_label = _metadata_total_label(self.metadata)
        declared_total = parse_int(self.metadata[total_label]) if total_label else None
        return Backlog(
            title=self.title,
            source=self.source,
            metadata=self.metadata,
            declared_total_points=declared_total,
            declared_total_points_line=(
                self.metadata_lines[total_label]
                if declared_total is not None and total_label
                else 0
            ),
            team=self.team or Team(),
            epics=tuple(epics),
            sprints=self._sprints(),
            sprint_overview_total_points=self.overview_total,
            sprint_overview_total_line=self.overview_total_line,
            definition_of_ready=self.dor,
            definition_of_done=self.dod,
            estimation_guide=tuple(self.estimation),
            velocity_history=tuple(self.velocity),
            dependency_matrix=matrix,
            risks=tuple(self.risks),
            other_sections=tuple(self.others),
        )

    def _sprints(self) -> tuple[Sprint, ...]:
        sprints = dict(self.sprints)
        for number, (points, stub) in self.overview.items():
            if number in sprints:
                sprints[number] = sprints[number].model_copy(update={"overview_points": points})
            else:
                sprints[number] = stub
        return tuple(sprints[number] for number in sorted(sprints))

    def _check_duplicates(self) -> None:
        seen: dict[str, int] = {}
        for epic in self.epics:
            if epic.id in seen and epic.id != UNASSIGNED_EPIC:
                raise DuplicateIdError(
                    f"duplicate epic id {epic.id}: also defined at line {seen[epic.id]}",
                    file=self.source,
                    line=epic.line,
                )
            seen[epic.id] = epic.line
        seen = {}
        for epic in self.epics:
            for story in epic.stories:
                if story.id in seen:
                    raise DuplicateIdError(
                        f"duplicate story id {story.id}: first defined at line "
                        f"{seen[story.id]}, again at line {story.line}; give each story its "
                        "own id",
                        file=self.source,
                        line=story.line,
                    )
                seen[story.id] = story.line


def _metadata_total_label(metadata: dict[str, str]) -> str | None:
    """The label of the document's declared total points (``Total Story Points``), if any."""
    for label in metadata:
        folded = label.casefold()
        if "total" in folded and "point" in folded:
            return label
    return None


def _story(draft: StoryDraft, dependencies: tuple[Dependency, ...]) -> Story:
    points_raw = draft.fields.get("points")
    return Story(
        id=draft.id,
        title=draft.title,
        heading=draft.heading,
        number=draft.number,
        epic_id=draft.epic_id,
        points=_points(points_raw),
        points_raw=points_raw,
        priority=draft.fields.get("priority"),
        dependencies_raw=draft.fields.get("dependencies"),
        dependencies=dependencies,
        user_story=draft.user_story,
        acceptance_criteria=draft.acceptance,
        tasks=tuple(draft.tasks),
        subtasks=tuple(draft.subtasks),
        suppressions=tuple(dict.fromkeys(draft.suppressions)),
        line=draft.line,
        end_line=draft.end_line,
    )


def _points(raw: str | None) -> int | None:
    """``21`` or ``21 points`` -> 21; ``TBD``, ``?``, ``2.5`` -> None (kept raw)."""
    if raw is None:
        return None
    match = re.fullmatch(r"\s*(\d{1,6})\s*(?:pts?|points?|sp)?\.?\s*", raw, re.IGNORECASE)
    return int(match.group(1)) if match else None


def parse_markdown(
    text: str, source: str | None = None, *, lines: list[str] | None = None
) -> Backlog:
    """Parse backlog Markdown (already decoded, newlines normalised to ``\\n``)."""
    # The parse allocates many small objects and creates no reference cycles: the cyclic
    # garbage collector would only rescan them over and over (it doubles the parse time).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse(text, source, lines)
    finally:
        if was_enabled:
            gc.enable()


def _parse(text: str, source: str | None, lines: list[str] | None) -> Backlog:
    data = text.encode("utf-8")
    index = LineIndex(data)
    if lines is None:
        lines = text.split("\n")
    total_lines = len(lines) - 1 if text.endswith("\n") else len(lines)
    top = build_sections(text, index, total_lines)
    reader = _Reader(source, lines)
    reader.read_document(top)
    backlog = reader.build()
    check_complete(reader.epics, reader.lines, top, text, source)
    return backlog
