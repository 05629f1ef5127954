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
from backlog.markdown.assemble import Gathered, place
from backlog.markdown.blocks import Block, HeadingSection, LineIndex, build_sections
from backlog.markdown.fields import normalize_heading, parse_int
from backlog.markdown.finish import check_complete, resolve_all
from backlog.markdown.harvest import epic_items, list_stories, story_rows, yaml_story
from backlog.markdown.sprint import is_sprint_heading, read_overview, read_sprint
from backlog.markdown.story import (
    EpicDraft,
    StoryDraft,
    epic_points,
    flatten,
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
from backlog.markdown.yamlish import split_front_matter
from backlog.model import (
    Backlog,
    Definition,
    Dependency,
    DependencyRow,
    Epic,
    EstimationBand,
    ReaderNote,
    Risk,
    Section,
    Sprint,
    Story,
    Team,
    UnreadBlock,
    VelocityRecord,
    tshirt_size,
)

UNASSIGNED_EPIC = "NO-EPIC"
_TASK_HEADING = re.compile(r"technical debt|\btasks?\b", re.IGNORECASE)


def _generated_note(draft: StoryDraft) -> ReaderNote:
    return ReaderNote(
        kind="generated-id",
        item=draft.id,
        message=f"story {draft.heading or draft.title!r} has no id; using the generated id "
        f"{draft.id} (run 'backlog-bot fix --add-ids' to write ids into the file)",
        line=draft.line,
    )


def _story_blocks(draft: StoryDraft) -> list[Block]:
    """The top-level blocks of a story (label bullets count as one block)."""
    return draft.section_blocks


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
        self.gathered = Gathered()
        self.unread: list[UnreadBlock] = []
        self.notes: list[ReaderNote] = []
        self.epic_stack: list[EpicDraft] = []
        self.task_depth = 0

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
        """Label lines at the top are metadata; stories there are gathered; the rest unread."""
        for block in self.harvest(section.blocks):
            if block.kind == "paragraph" and any(item.label and item.value for item in block.lines):
                for item in block.lines:
                    if item.label and item.value and item.label not in self.metadata:
                        self.metadata[item.label] = item.value
                        self.metadata_lines[item.label] = item.line
            elif block.kind != "hr":
                self.not_read(block, f'under "{section.title}"' if section.title else "at the top")

    def harvest(self, blocks: list[Block], sprint: int | None = None) -> list[Block]:
        """Gather the stories and epics written as rows, items or YAML; the other blocks."""
        epic = self.epic_stack[-1] if self.epic_stack else None
        rest: list[Block] = []
        for block in blocks:
            if block.kind == "table":
                rows = story_rows(block)
                if rows:
                    self.gathered.rows.extend((row, epic, sprint) for row in rows)
                    continue
            elif block.kind == "list":
                epics = epic_items(block)
                if epics:
                    self.gathered.epics.extend(epics)
                    continue
                stories = list_stories(block)
                if stories:
                    self.gathered.stories.extend((story, epic, block) for story in stories)
                    continue
            elif block.kind == "fence":
                story = yaml_story(block)
                if story is not None:
                    self.gathered.stories.append((story, epic, block))
                    continue
            rest.append(block)
        return rest

    def harvestable(self, blocks: list[Block]) -> bool:
        return any(
            (block.kind == "table" and story_rows(block))
            or (block.kind == "list" and (epic_items(block) or list_stories(block)))
            or (block.kind == "fence" and yaml_story(block) is not None)
            for block in blocks
        )

    def not_read(self, block: Block, context: str) -> None:
        lines = sum(1 for text in self.lines[block.line - 1 : block.end_line] if text.strip())
        if lines:
            self.unread.append(
                UnreadBlock(
                    line=block.line,
                    end_line=block.end_line,
                    what=block.kind,
                    context=context,
                    lines=lines,
                )
            )

    def add_story(self, draft: StoryDraft, epic: EpicDraft | None) -> None:
        """A story read from its section; blocks it did not use are reported."""
        if epic is None:
            self.loose_stories.append(draft)
        else:
            draft.epic_id = epic.id
            epic.stories.append(draft)
        used = {id(block) for block in draft.used}
        spilled = {id(block) for block in draft.spill}
        for block in self.harvest(draft.spill):
            self.not_read(block, f"in story {draft.id}")
        for block in _story_blocks(draft):
            if id(block) not in used and id(block) not in spilled:
                self.not_read(block, f"in story {draft.id}")

    def visit(self, section: HeadingSection) -> None:
        kind = classify(section.title)
        if kind == "epic":
            self.read_epic(section)
        elif kind == "story" and self.task_depth:
            # "#### INF-001: ..." under "Technical Debt & Infrastructure Tasks": work items.
            self.keep(section, own_only=False)
        elif kind == "story":
            self.add_story(read_story(section, self.source), None)
        elif kind == "sprint":
            sprint = read_sprint(section)
            self.sprints.setdefault(sprint.number, sprint)
            for block in flatten(section):
                if block.kind == "table":
                    self.harvest([block], sprint.number)
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
        elif self.harvestable(section.blocks):
            context = f'under "{section.title}"'
            for block in self.harvest(section.blocks):
                if block.kind != "hr":
                    self.not_read(block, context)
            self.visit_children(section)
        elif self.has_known(section):
            if any(block.kind != "hr" for block in section.blocks):
                self.keep(section, own_only=True)
            self.visit_children(section)
        else:
            self.keep(section, own_only=False)

    def visit_children(self, section: HeadingSection) -> None:
        tasks = _TASK_HEADING.search(section.title) and "stor" not in section.title.casefold()
        self.task_depth += bool(tasks)
        for child in section.children:
            self.visit(child)
        self.task_depth -= bool(tasks)

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
                classify(child.title) is not None
                or self.has_known(child)
                or self.harvestable(child.blocks)
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
        self.epic_stack.append(draft)
        self.harvest(section.blocks)
        self._epic_children(draft, section)
        self.epic_stack.pop()
        self.epics.append(draft)

    def _epic_children(self, draft: EpicDraft, section: HeadingSection) -> None:
        for child in section.children:
            kind = classify(child.title)
            if kind == "story":
                self.add_story(read_story(child, self.source), draft)
            elif kind is None and (self.has_known(child) or self.harvestable(child.blocks)):
                read_epic_labels(draft, child.blocks)
                self.harvest(child.blocks)
                self._epic_children(draft, child)
            elif kind is None and read_epic_labels(draft, child.blocks):
                for grandchild in child.children:
                    self.visit(grandchild)
            else:
                self.visit(child)

    # -- building ---------------------------------------------------------------------------

    def build(self) -> Backlog:
        place(self.gathered, self.epics, self.loose_stories, self.sprints)
        for block, story_id in self.gathered.repeated:
            self.not_read(block, f"repeats story {story_id}")
        self._merge_epics()
        for story in sorted(
            (story for epic in self.epics for story in epic.stories), key=lambda s: s.line
        ):
            if story.generated_id:
                self.notes.append(_generated_note(story))
        for story in self.loose_stories:
            if story.generated_id:
                self.notes.append(_generated_note(story))
        self.notes.sort(key=lambda note: note.line)
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
        sizes = {band.size: band.points for band in self.estimation if band.size}
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
                    sizes,
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
            unread=self._unread(),
            reader_notes=tuple(self.notes),
        )

    def _unread(self) -> tuple[UnreadBlock, ...]:
        found = list(self.unread)
        for section in self.others:
            lines = sum(
                1 for text in self.lines[section.line - 1 : section.end_line] if text.strip()
            )
            if lines <= 1:
                continue  # a heading with nothing under it: nothing is lost
            found.append(
                UnreadBlock(
                    line=section.line,
                    end_line=section.end_line,
                    what="section",
                    context=f'"{section.heading}"',
                    lines=lines,
                )
            )
        found.sort(key=lambda item: item.line)
        return tuple(found)

    def _merge_epics(self) -> None:
        """The same epic twice (an overview, then its stories): one epic if the names agree."""
        merged: list[EpicDraft] = []
        seen: dict[str, EpicDraft] = {}
        for epic in self.epics:
            first = seen.get(epic.id)
            if first is not None and first.name.casefold() == epic.name.casefold():
                first.stories.extend(epic.stories)
                for story in epic.stories:
                    story.epic_id = first.id
                for key, value in epic.fields.items():
                    first.fields.setdefault(key, value)
                continue
            seen.setdefault(epic.id, epic)
            merged.append(epic)
        self.epics = merged

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


def _story(draft: StoryDraft, dependencies: tuple[Dependency, ...], sizes: dict[str, int]) -> Story:
    points_raw = draft.fields.get("points")
    points = _points(points_raw)
    if points is None and sizes:  # a T-shirt size the estimation guide gives points for
        points = sizes.get(tshirt_size(points_raw) or "")
    return Story(
        id=draft.id,
        title=draft.title,
        heading=draft.heading,
        number=draft.number,
        epic_id=draft.epic_id,
        points=points,
        points_raw=points_raw,
        points_line=draft.field_lines.get("points", 0),
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
    if lines is None:
        lines = text.split("\n")
    front, front_lines = split_front_matter(text)
    if front_lines:
        # Front matter is document metadata: blank it out (line numbers stay) so that the
        # Markdown tokenizer does not read its closing "---" as a heading underline.
        text = "\n" * front_lines + "\n".join(lines[front_lines:])
    data = text.encode("utf-8")
    index = LineIndex(data)
    total_lines = len(lines) - 1 if text.endswith("\n") else len(lines)
    top = build_sections(text, index, total_lines)
    reader = _Reader(source, lines)
    for key, value in front.items():
        reader.metadata.setdefault(key, value)
        reader.metadata_lines.setdefault(key, 1)
    reader.read_document(top)
    backlog = reader.build()
    check_complete(reader.epics, reader.lines, top, text, source)
    return backlog
