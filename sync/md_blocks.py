"""Markdown structure for the backlog parser: blocks and heading sections with line numbers.

The document is tokenised by pyromark (Python bindings of pulldown-cmark, a CommonMark
parser in Rust; chosen by ``bench/bench_parse.py`` for speed and because it survives
hostile input). Its event stream carries UTF-8 byte ranges; :class:`LineIndex` turns them
into 1-based line numbers. Only this module sees the event stream: the rest of the parser
works on the small records defined here (:class:`Block`, :class:`Line`,
:class:`HeadingSection`).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any


class LineIndex:
    """Maps UTF-8 byte offsets of the source to 1-based line numbers."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        starts = [0]
        starts.extend(match.end() for match in re.finditer(b"\n", data))
        self._starts = starts
        # line(offset): called once per block and per paragraph line, so no wrapper frame.
        self.line: Callable[[int], int] = partial(bisect_right, starts)


@dataclass(slots=True)
class Line:
    """One source line of a paragraph: plain text, and the bold label it starts with if any.

    ``**Story Points:** 5``, ``**Story Points**: 5`` and ``**Total Story Points: 615** (…)``
    give label ``Story Points``/``Total Story Points`` and the rest as value. Bold text that
    is not a label (``**Buffer** (70 pts)``) gives label None and the bold part as value.
    """

    text: str
    line: int
    label: str | None = None
    value: str = ""


@dataclass(slots=True)
class Block:
    """A block-level element with its source lines.

    ``kind``: heading, paragraph, list (``ordered``; ``level`` is the start number), item,
    fence (``info``, ``closed``), table (``rows``, ``row_lines``), quote, html, hr.
    """

    kind: str
    line: int
    end_line: int
    text: str = ""
    lines: list[Line] = field(default_factory=list)
    children: list[Block] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    row_lines: list[int] = field(default_factory=list)
    info: str = ""
    ordered: bool = False
    level: int = 0
    closed: bool = True


@dataclass(slots=True)
class HeadingSection:
    """A heading, the blocks directly under it and its sub-sections."""

    title: str
    level: int
    line: int
    end_line: int = 0
    blocks: list[Block] = field(default_factory=list)
    children: list[HeadingSection] = field(default_factory=list)


def make_line(rest: str, label: str | None, number: int) -> Line:
    if label is None:
        return Line(text=rest.strip(), line=number)
    text = f"{label}{rest}".strip()
    label = label.strip()
    if label.endswith(":"):
        return Line(text=text, line=number, label=label[:-1].strip(), value=rest.strip())
    stripped = rest.lstrip()
    if stripped.startswith(":"):
        return Line(text=text, line=number, label=label, value=stripped[1:].strip())
    if ":" in label:
        name, _, inner = label.partition(":")
        return Line(
            text=text, line=number, label=name.strip(), value=f"{inner.strip()} {rest.strip()}"
        )
    return Line(text=text, line=number, label=None, value=label)


class _Inline:
    """Collects the inline events of one paragraph, heading, cell or tight list item."""

    __slots__ = ("capturing", "depth", "fresh", "index", "label", "lines", "parts", "start")

    def __init__(self, index: LineIndex) -> None:
        self.index = index
        self.lines: list[Line] = []
        self._reset()

    def _reset(self) -> None:
        self.parts: list[str] = []
        self.label: list[str] | None = None
        self.capturing = False
        self.depth = 0
        self.fresh = True
        self.start = -1

    def text(self, value: str, offset: int) -> None:
        if self.start < 0:
            self.start = offset
        if self.capturing:
            assert self.label is not None
            self.label.append(value)
        elif self.fresh and not value.strip():
            return
        else:
            self.fresh = False
            self.parts.append(value)

    def strong(self, offset: int) -> None:
        if self.start < 0:
            self.start = offset
        if self.capturing:
            self.depth += 1
        elif self.fresh and self.label is None:
            self.capturing, self.depth, self.fresh, self.label = True, 1, False, []

    def end_strong(self) -> None:
        if self.capturing:
            self.depth -= 1
            self.capturing = self.depth > 0

    def brk(self, offset: int) -> None:
        self._finish(offset)

    def _finish(self, offset: int) -> None:
        start = self.start if self.start >= 0 else offset
        label = "".join(self.label) if self.label is not None else None
        self.lines.append(make_line("".join(self.parts), label, self.index.line(start)))
        self._reset()

    def done(self, offset: int) -> list[Line]:
        if self.parts or self.label is not None or not self.lines:
            self._finish(offset)
        return self.lines

    @property
    def empty(self) -> bool:
        return not self.lines and not self.parts and self.label is None


def _joined(lines: list[Line]) -> str:
    return "\n".join(item.text for item in lines)


def build_sections(text: str, index: LineIndex, total_lines: int) -> HeadingSection:
    """Tokenise the document and group its blocks under their headings (a tree, level 0 root)."""
    import pyromark

    builder = _Builder(index, total_lines)
    on_text, on_start, on_end, on_other = (
        builder.on_text,
        builder.on_start,
        builder.on_end,
        builder.on_other,
    )
    # The hot loop: one iteration per event, so dispatch stays inline here.
    for event, span in pyromark.events_with_range(text, options=pyromark.Options.ENABLE_TABLES):
        if type(event) is dict:
            for key, value in event.items():
                if key == "Text":
                    on_text(value, span["start"])
                elif key == "Start":
                    on_start(value, span["start"], span["end"])
                elif key == "End":
                    on_end(value, span["start"], span["end"])
                elif key == "Code" or key == "InlineHtml":
                    on_text(value, span["start"])
                elif key == "Html":
                    on_other(value, span["start"])
        elif event == "SoftBreak" or event == "HardBreak":
            if builder.inline is not None:
                builder.inline.brk(span["start"])
        elif event == "Rule":
            builder.rule(span["start"], span["end"])
    return builder.finish()


class _Builder:
    def __init__(self, index: LineIndex, total_lines: int) -> None:
        self.index = index
        self.total_lines = total_lines
        self.top = HeadingSection(title="", level=0, line=1)
        self.sections = [self.top]
        self.stack: list[Block] = []  # open containers: list, item, quote, table
        self.inline: _Inline | None = None
        self.code: list[str] | None = None
        self.row: list[str] | None = None

    # -- helpers ------------------------------------------------------------------------------

    def _block(self, kind: str, start: int, end: int, **values: Any) -> Block:
        line = self.index.line(start)
        return Block(kind, line, self.index.line(max(start, end - 1)), **values)

    def _add(self, block: Block) -> None:
        if self.stack:
            parent = self.stack[-1]
            if parent.kind == "item":
                self._close_item_text(parent, block.line)
            parent.children.append(block)
        else:
            self.sections[-1].blocks.append(block)

    def _close_item_text(self, item: Block, offset_line: int) -> None:
        """Tight item text ends where the item's first nested block begins."""
        if self.inline is not None and not self.inline.empty:
            lines = self.inline.done(0)
            if item.lines:
                item.children.append(
                    Block("paragraph", lines[0].line, lines[-1].line, _joined(lines), lines)
                )
            else:
                item.lines = lines
                item.text = _joined(lines)
        self.inline = None

    # -- events -----------------------------------------------------------------------------

    def rule(self, start: int, end: int) -> None:
        self._add(self._block("hr", start, end))

    def on_other(self, value: str, start: int) -> None:
        if self.code is not None:
            self.code.append(value)
        else:
            self.on_text(value, start)

    def _collector(self) -> _Inline | None:
        """The open inline collector; tight list items get one on their first inline event."""
        if self.inline is None and self.stack and self.stack[-1].kind == "item":
            self.inline = _Inline(self.index)
        return self.inline

    def on_text(self, value: str, start: int) -> None:
        if self.code is not None:
            self.code.append(value)
            return
        inline = self.inline
        if inline is None:
            inline = self._collector()
            if inline is None:
                return
        inline.text(value, start)

    def on_start(self, tag: Any, start: int, end: int) -> None:
        name = tag if type(tag) is str else next(iter(tag))
        if name == "Strong":
            inline = self._collector()
            if inline is not None:
                inline.strong(start)
        elif name in ("Paragraph", "Heading", "TableCell"):
            if self.stack and self.stack[-1].kind == "item":
                self._close_item_text(self.stack[-1], 0)
            self.inline = _Inline(self.index)
        elif name == "Item":
            self._open(self._block("item", start, end))
            self.inline = None
        elif name == "List":
            number = tag["List"]
            block = self._block("list", start, end, ordered=number is not None, level=number or 0)
            self._open(block)
        elif name == "BlockQuote":
            self._open(self._block("quote", start, end))
        elif name == "Table":
            self._open(self._block("table", start, end))
        elif name in ("TableHead", "TableRow"):
            self.row = []
            assert self.stack and self.stack[-1].kind == "table"
            self.stack[-1].row_lines.append(self.index.line(start))
        elif name == "CodeBlock" or name == "HtmlBlock":
            if self.stack and self.stack[-1].kind == "item":
                self._close_item_text(self.stack[-1], 0)
            self.code = []

    def _open(self, block: Block) -> None:
        self._add(block)
        self.stack.append(block)

    def on_end(self, tag: Any, start: int, end: int) -> None:
        name = tag if type(tag) is str else next(iter(tag))
        if name == "Strong":
            if self.inline is not None:
                self.inline.end_strong()
        elif name == "Paragraph":
            lines = self.inline.done(start) if self.inline is not None else []
            self.inline = None
            parent = self.stack[-1] if self.stack else None
            if parent and parent.kind == "item" and not parent.lines and not parent.children:
                parent.lines, parent.text = lines, _joined(lines)
                return
            self._add(self._block("paragraph", start, end, text=_joined(lines), lines=lines))
        elif name == "Heading":
            lines = self.inline.done(start) if self.inline is not None else []
            self.inline = None
            title = " ".join(item.text for item in lines).strip()
            level = int(str(tag["Heading"])[1:]) if type(tag) is dict else 1
            if self.stack:
                self._add(self._block("heading", start, end, text=title, level=level))
            else:
                self._heading(title, level, self.index.line(start))
        elif name == "Item":
            item = self.stack.pop()
            if self.inline is not None and not self.inline.empty:
                self._close_item_text(item, 0)
            self.inline = None
        elif name in ("List", "BlockQuote", "Table"):
            block = self.stack.pop()
            if block.kind == "quote":
                block.text = "\n".join(child.text for child in block.children)
        elif name == "TableCell":
            lines = self.inline.done(start) if self.inline is not None else []
            self.inline = None
            if self.row is not None:
                self.row.append(" ".join(item.text for item in lines).strip())
        elif name in ("TableHead", "TableRow"):
            if self.stack and self.stack[-1].kind == "table" and self.row is not None:
                self.stack[-1].rows.append(self.row)
            self.row = None
        elif name == "CodeBlock":
            self._code_block(start, end)
        elif name == "HtmlBlock":
            content = "".join(self.code or [])
            self.code = None
            self._add(self._block("html", start, end, text=content))

    def _code_block(self, start: int, end: int) -> None:
        content = "".join(self.code or [])
        self.code = None
        source = self.index.data[start:end].decode("utf-8", "replace")
        opening = source.lstrip(" ")[:3]
        fenced = opening in ("```", "~~~")
        info = ""
        closed = True
        if fenced:
            first, _, _ = source.partition("\n")
            marker = first.lstrip(" ")
            width = len(marker) - len(marker.lstrip(marker[0]))
            info = marker[width:].strip()
            closed = fence_is_closed(source, marker[0] * width)
        self._add(self._block("fence", start, end, text=content, info=info, closed=closed))

    def _heading(self, title: str, level: int, line: int) -> None:
        section = HeadingSection(title=title, level=level, line=line)
        while self.sections[-1].level >= level:
            self.sections.pop().end_line = line - 1
        self.sections[-1].children.append(section)
        self.sections.append(section)

    def finish(self) -> HeadingSection:
        for section in self.sections:
            section.end_line = self.total_lines
        return self.top


def fence_is_closed(source: str, marker: str) -> bool:
    """Whether a fence's source (from its opening line) ends with a closing marker line."""
    lines = source.rstrip("\n").split("\n")
    if len(lines) < 2:
        return False
    last = lines[-1].strip()
    return last.startswith(marker) and set(last) <= {marker[0]}
