"""What the Markdown reader has found so far: the state the walk fills and the build reads."""

from __future__ import annotations

from dataclasses import dataclass, field

from backlog.markdown.assemble import Gathered
from backlog.markdown.blocks import Block
from backlog.markdown.epic import EpicDraft
from backlog.markdown.story import StoryDraft
from backlog.model import (
    Definition,
    DependencyRow,
    EstimationBand,
    ReaderNote,
    Risk,
    Section,
    Sprint,
    Team,
    UnreadBlock,
    VelocityRecord,
)


@dataclass
class ReadState:
    """Everything read from one document, before it becomes a :class:`Backlog`."""

    source: str | None
    lines: list[str]
    title: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    metadata_lines: dict[str, int] = field(default_factory=dict)
    team: Team | None = None
    epics: list[EpicDraft] = field(default_factory=list)
    loose_stories: list[StoryDraft] = field(default_factory=list)
    sprints: dict[int, Sprint] = field(default_factory=dict)
    overview: dict[int, tuple[int | None, Sprint]] = field(default_factory=dict)
    overview_total: int | None = None
    overview_total_line: int = 0
    dor: Definition | None = None
    dod: Definition | None = None
    estimation: list[EstimationBand] = field(default_factory=list)
    velocity: list[VelocityRecord] = field(default_factory=list)
    matrix: list[DependencyRow] = field(default_factory=list)
    risks: list[Risk] = field(default_factory=list)
    others: list[Section] = field(default_factory=list)
    gathered: Gathered = field(default_factory=Gathered)
    unread: list[UnreadBlock] = field(default_factory=list)
    notes: list[ReaderNote] = field(default_factory=list)

    def not_read(self, block: Block, context: str) -> None:
        """Report a block the reader did not understand (blank blocks are nothing lost)."""
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
