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
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any

import msgspec

_NEWLINE = re.compile(b"\n")


class LineIndex:
    """Maps UTF-8 byte offsets of the source to 1-based line numbers."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        # Line i + 1 starts after the i-th newline (scanned in C: a Python loop over the
        # lines costs more than twice as much on large documents).
        starts = [0]
        starts.extend(match.end() for match in _NEWLINE.finditer(data))
        self._starts = starts
        # line(offset): called once per block and per paragraph line, so no wrapper frame.
        self.line: Callable[[int], int] = partial(bisect_right, starts)


# The records are msgspec Structs rather than dataclasses: one is built per list item,
# paragraph and line (about forty per story), and a Struct is built in C, several times faster.


class Line(msgspec.Struct):
    """One source line of a paragraph: plain text, and the bold label it starts with if any.

    ``**Story Points:** 5``, ``**Story Points**: 5`` and ``**Total Story Points: 615** (…)``
    give label ``Story Points``/``Total Story Points`` and the rest as value. Bold text that
    is not a label (``**Buffer** (70 pts)``) gives label None and the bold part as value.
    """

    text: str
    line: int
    label: str | None = None
    value: str = ""


class Block(msgspec.Struct):
    """A block-level element with its source lines.

    ``kind``: heading, paragraph, list (``ordered``; ``level`` is the start number), item,
    fence (``info``, ``closed``), table (``rows``, ``row_lines``), quote, html, hr.
    """

    kind: str
    line: int
    end_line: int
    text: str = ""
    lines: list[Line] = msgspec.field(default_factory=list)
    children: list[Block] = msgspec.field(default_factory=list)
    # Only tables have rows: other blocks share the empty tuple (a block is built per list
    # item and paragraph, and two lists fewer each is measurable on large backlogs).
    rows: Sequence[list[str]] = ()
    row_lines: Sequence[int] = ()
    info: str = ""
    ordered: bool = False
    level: int = 0
    closed: bool = True


class HeadingSection(msgspec.Struct):
    """A heading, the blocks directly under it and its sub-sections."""

    title: str
    level: int
    line: int
    end_line: int = 0
    blocks: list[Block] = msgspec.field(default_factory=list)
    children: list[HeadingSection] = msgspec.field(default_factory=list)


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


def _joined(lines: list[Line]) -> str:
    return "\n".join([item.text for item in lines])


def build_sections(text: str, index: LineIndex, total_lines: int) -> HeadingSection:
    """Tokenise the document and group its blocks under their headings (a tree, level 0 root)."""
    import pyromark

    events = pyromark.events_with_range(text, options=pyromark.Options.ENABLE_TABLES)
    return _build(events, index, total_lines)


def _build(events: Iterable[Any], index: LineIndex, total_lines: int) -> HeadingSection:
    """Fold the event stream into heading sections and blocks.

    This is the parser's hot loop (one iteration per event, about 170 per story), so its
    state lives in local variables rather than on objects, and the frequent events (text,
    list items, bold labels, paragraphs) are handled inline; the rest go through the small
    closures below. The inline collector (``active`` and the variables after it) gathers
    the text of one paragraph, heading, table cell or tight list item, line by line.
    """
    line_of = index.line
    top = HeadingSection(title="", level=0, line=1)
    sections = [top]
    stack: list[Block] = []  # open containers: list, item, quote, table
    code: list[str] | None = None  # text of an open code or HTML block
    row: list[str] | None = None  # cells of an open table row
    table_rows: list[list[str]] = []  # rows and their lines of the open table
    table_lines: list[int] = []
    # The inline collector: finished lines, then the line being collected.
    active = False
    done: list[Line] = []
    parts: list[str] = []
    label: list[str] | None = None  # bold text that opens the line, while collected
    capturing = False
    depth = 0
    fresh = True
    first = -1  # byte offset of the line's first inline event

    def open_inline() -> None:
        nonlocal active, done, parts, label, capturing, depth, fresh, first
        active, done, parts, label, capturing, depth, fresh, first = (
            True, [], [], None, False, 0, True, -1
        )  # fmt: skip

    def end_line(offset: int) -> None:
        nonlocal parts, label, capturing, depth, fresh, first
        number = line_of(first if first >= 0 else offset)
        if label is None:
            done.append(Line("".join(parts).strip(), number))
        else:
            done.append(make_line("".join(parts), "".join(label), number))
        parts, label, capturing, depth, fresh, first = [], None, False, 0, True, -1

    def take(offset: int) -> list[Line]:
        """Close the collector; its lines (an empty collector still gives one line)."""
        nonlocal active
        if not active:
            return []
        if parts or label is not None or not done:
            end_line(offset)
        active = False
        return done

    def close_item_text(item: Block) -> None:
        """Tight item text ends where the item's first nested block begins."""
        nonlocal active
        if active and (done or parts or label is not None):
            lines = take(0)
            if item.lines:
                item.children.append(
                    Block("paragraph", lines[0].line, lines[-1].line, _joined(lines), lines)
                )
            else:
                item.lines = lines
                item.text = _joined(lines)
        active = False

    def add(block: Block) -> None:
        if stack:
            parent = stack[-1]
            if parent.kind == "item":
                close_item_text(parent)
            parent.children.append(block)
        else:
            sections[-1].blocks.append(block)

    def inline_text(value: str, offset: int) -> None:
        nonlocal fresh, first
        if not active:
            if not stack or stack[-1].kind != "item":
                return
            open_inline()
        if first < 0:
            first = offset
        if capturing:
            assert label is not None
            label.append(value)
        elif not fresh or value.strip():
            fresh = False
            parts.append(value)

    def block(kind: str, start: int, end: int, **values: Any) -> Block:
        return Block(kind, line_of(start), line_of(end - 1 if end > start else start), **values)

    def heading(title: str, level: int, line: int) -> None:
        section = HeadingSection(title=title, level=level, line=line)
        while sections[-1].level >= level:
            sections.pop().end_line = line - 1
        sections[-1].children.append(section)
        sections.append(section)

    def start_other(name: str, tag: Any, start: int, end: int) -> None:
        nonlocal code, row, table_rows, table_lines
        if name == "List":
            number = tag["List"]
            opened = block("list", start, end, ordered=number is not None, level=number or 0)
        elif name == "BlockQuote":
            opened = block("quote", start, end)
        elif name == "Table":
            table_rows, table_lines = [], []
            opened = block("table", start, end, rows=table_rows, row_lines=table_lines)
        elif name == "TableHead" or name == "TableRow":
            row = []
            assert stack and stack[-1].kind == "table"
            table_lines.append(line_of(start))
            return
        elif name == "CodeBlock" or name == "HtmlBlock":
            if stack and stack[-1].kind == "item":
                close_item_text(stack[-1])
            code = []
            return
        else:
            return
        add(opened)
        stack.append(opened)

    def end_other(name: str, tag: Any, start: int, end: int) -> None:
        nonlocal code, row
        if name == "Heading":
            lines = take(start)
            title = " ".join(item.text for item in lines).strip()
            level = int(str(tag["Heading"])[1:]) if type(tag) is dict else 1
            if stack:
                add(block("heading", start, end, text=title, level=level))
            else:
                heading(title, level, line_of(start))
        elif name == "List" or name == "BlockQuote" or name == "Table":
            closed = stack.pop()
            if closed.kind == "quote":
                closed.text = "\n".join(child.text for child in closed.children)
        elif name == "TableCell":
            lines = take(start)
            if row is not None:
                row.append(" ".join(item.text for item in lines).strip())
        elif name == "TableHead" or name == "TableRow":
            if stack and stack[-1].kind == "table" and row is not None:
                table_rows.append(row)
            row = None
        elif name == "CodeBlock":
            content = "".join(code or [])
            code = None
            add(_code_block(index, content, start, end))
        elif name == "HtmlBlock":
            content = "".join(code or [])
            code = None
            add(block("html", start, end, text=content))

    for event, span in events:
        if type(event) is not dict:
            if event == "SoftBreak" or event == "HardBreak":
                if active:
                    end_line(span["start"])
            elif event == "Rule":
                add(block("hr", span["start"], span["end"]))
            continue
        # One key per event; a membership test is the cheapest way to find it.
        if "Text" in event:
            value = event["Text"]
            if code is not None:
                code.append(value)
            elif active or (stack and stack[-1].kind == "item"):  # inline_text, inlined
                if not active:  # open_inline(): an item's tight text begins
                    active, done, parts, label, capturing, depth, fresh, first = (
                        True, [], [], None, False, 0, True, -1
                    )  # fmt: skip
                if first < 0:
                    first = span["start"]
                if capturing:
                    label.append(value)  # type: ignore[union-attr]
                elif not fresh or value.strip():
                    fresh = False
                    parts.append(value)
        elif "Start" in event:
            value = event["Start"]
            name = value if type(value) is str else next(iter(value))
            if name == "Item":
                start, end = span["start"], span["end"]
                item = Block("item", line_of(start), line_of(end - 1 if end > start else start))
                if stack and stack[-1].kind == "list":  # always, in pulldown-cmark's stream
                    stack[-1].children.append(item)
                else:
                    add(item)
                stack.append(item)
                active = False
            elif name == "Strong":
                if not active and stack and stack[-1].kind == "item":
                    # open_inline(), inline: bold text opens most tight list items.
                    active, done, parts, label, capturing, depth, fresh, first = (
                        True, [], [], None, False, 0, True, -1
                    )  # fmt: skip
                if active:
                    if first < 0:
                        first = span["start"]
                    if capturing:
                        depth += 1
                    elif fresh and label is None:
                        capturing, depth, fresh, label = True, 1, False, []
            elif name == "Paragraph" or name == "Heading" or name == "TableCell":
                if active and stack and stack[-1].kind == "item":
                    close_item_text(stack[-1])
                active, done, parts, label, capturing, depth, fresh, first = (
                    True, [], [], None, False, 0, True, -1
                )  # fmt: skip
            else:
                start_other(name, value, span["start"], span["end"])
        elif "End" in event:
            value = event["End"]
            name = value if type(value) is str else next(iter(value))
            if name == "Item":
                item = stack.pop()
                if active and not item.lines and (done or parts or label is not None):
                    # close_item_text(item), inline for the common tight item: its text
                    # is its one line (end_line, inline) or lines.
                    if parts or label is not None:
                        number = line_of(first if first >= 0 else 0)
                        if label is None:
                            done.append(Line("".join(parts).strip(), number))
                        else:
                            done.append(make_line("".join(parts), "".join(label), number))
                        parts, label, capturing, depth, fresh, first = [], None, False, 0, True, -1
                    item.lines = done
                    item.text = done[0].text if len(done) == 1 else _joined(done)
                elif active and (done or parts or label is not None):
                    close_item_text(item)
                active = False
            elif name == "Strong":
                if active and capturing:
                    depth -= 1
                    capturing = depth > 0
            elif name == "Paragraph":
                start = span["start"]
                if active:  # take(start) and end_line(start), inline
                    if parts or label is not None or not done:
                        number = line_of(first if first >= 0 else start)
                        if label is None:
                            done.append(Line("".join(parts).strip(), number))
                        else:
                            done.append(make_line("".join(parts), "".join(label), number))
                        parts, label, capturing, depth, fresh, first = (
                            [], None, False, 0, True, -1
                        )  # fmt: skip
                    active = False
                    lines = done
                else:
                    lines = []
                parent = stack[-1] if stack else None
                if (
                    parent is not None
                    and parent.kind == "item"
                    and not parent.lines
                    and not parent.children
                ):
                    parent.lines, parent.text = lines, _joined(lines)
                else:
                    end = span["end"]
                    paragraph = Block(
                        "paragraph",
                        line_of(start),
                        line_of(end - 1 if end > start else start),
                        _joined(lines),
                        lines,
                    )
                    if parent is None:
                        sections[-1].blocks.append(paragraph)
                    else:
                        add(paragraph)
            else:
                end_other(name, value, span["start"], span["end"])
        elif "Code" in event or "InlineHtml" in event or "Html" in event:
            (value,) = event.values()
            if code is not None:
                code.append(value)
            else:
                inline_text(value, span["start"])
    for section in sections:
        section.end_line = total_lines
    return top


def _code_block(index: LineIndex, content: str, start: int, end: int) -> Block:
    source = index.data[start:end].decode("utf-8", "replace")
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
    line_of = index.line
    return Block(
        "fence",
        line_of(start),
        line_of(end - 1 if end > start else start),
        text=content,
        info=info,
        closed=closed,
    )


def fence_is_closed(source: str, marker: str) -> bool:
    """Whether a fence's source (from its opening line) ends with a closing marker line."""
    body = source.rstrip("\n")
    if "\n" not in body:
        return False
    last = body.rpartition("\n")[2].strip()
    return last.startswith(marker) and set(last) <= {marker[0]}
