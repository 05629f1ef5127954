"""The Markdown backlog parser: heading sections -> :class:`backlog.model.Backlog`.

The document is tokenised once by pyromark / pulldown-cmark (see :mod:`backlog.markdown.blocks`),
grouped into heading sections, and each section is recognised by its heading (case-insensitive):
``EPIC n: ...`` (with ``Story x.y: ...`` sections), ``Sprint n (Weeks ...): ...``, the sprint
overview, team capacity, velocity history, estimation guide, dependency matrix, ``Risk n: ...``,
Definition of Ready / Done. Stories written as table rows, list items or fenced YAML
outside story sections are gathered (:mod:`backlog.markdown.harvest`) and placed once the
whole document is known (:mod:`backlog.markdown.build`). Sections it does not recognise are
kept as :class:`backlog.model.Section`, and every block it did not read becomes an
:class:`backlog.model.UnreadBlock`, so nothing is lost in silence.
"""

from __future__ import annotations

import gc
import re

from backlog.markdown.blocks import Block, HeadingSection, LineIndex, build_sections
from backlog.markdown.build import build_backlog
from backlog.markdown.epic import (
    EpicDraft,
    is_epic_heading,
    read_epic_heading,
    read_epic_labels,
)
from backlog.markdown.fields import normalize_heading
from backlog.markdown.finish import check_complete
from backlog.markdown.harvest import (
    epic_items,
    list_stories,
    story_rows,
    unread_columns,
    yaml_story,
)
from backlog.markdown.retain import keep
from backlog.markdown.sprint import is_sprint_heading, read_overview, read_sprint
from backlog.markdown.state import ReadState
from backlog.markdown.story import StoryDraft, flatten, is_story_heading, read_story
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
    ReaderNote,
    Section,
)

_TASK_HEADING = re.compile(r"technical debt|\btasks?\b", re.IGNORECASE)


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


class Reader(ReadState):
    """The document walk: reads each heading section and gathers what it finds."""

    def __init__(self, source: str | None, lines: list[str]) -> None:
        super().__init__(source, lines)
        self._known: dict[int, bool] = {}
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
                    self.note_unread_columns(block)
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

    def note_unread_columns(self, table: Block) -> None:
        """A story table's columns that no field reads: one note each, never silent."""
        for name in unread_columns(table):
            note = ReaderNote(
                kind="unread-column",
                item=name,
                message=f"column {name!r} of the story table at line {table.line} is not "
                "read: its cells are not imported",
                line=table.line,
            )
            if note not in self.notes:
                self.notes.append(note)

    def harvestable(self, blocks: list[Block]) -> bool:
        return any(
            (block.kind == "table" and story_rows(block))
            or (block.kind == "list" and (epic_items(block) or list_stories(block)))
            or (block.kind == "fence" and yaml_story(block) is not None)
            for block in blocks
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
    reader = Reader(source, lines)
    for key, value in front.items():
        reader.metadata.setdefault(key, value)
        reader.metadata_lines.setdefault(key, 1)
    reader.read_document(top)
    backlog = build_backlog(reader)
    check_complete(reader.epics, reader.lines, top, text, source)
    keep(top, reader)  # a one-shot command drops them with the process (backlog.markdown.retain)
    return backlog
