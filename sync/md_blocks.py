"""Markdown structure for the backlog parser: blocks and heading sections with line numbers.

The token tree comes from markdown-it-pyrs (a Rust port of markdown-it, chosen by
``bench/bench_parse.py``). Its source maps are UTF-8 byte offsets; :class:`LineIndex` turns
them into 1-based line numbers. Only this module touches the parser's node objects, so the
rest of the parser works on the small plain records defined here.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

Node = Any  # markdown_it_pyrs.Node: untyped extension object


class LineIndex:
    """Maps UTF-8 byte offsets of the source to 1-based line numbers."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._starts = [0]
        self._starts.extend(match.end() for match in re.finditer(b"\n", data))

    def line(self, offset: int) -> int:
        return bisect_right(self._starts, offset)

    def longest_line(self, total: int) -> tuple[int, int]:
        """(length in bytes, 1-based line) of the longest line."""
        starts = self._starts
        best, best_line = 0, 1
        ends = [*starts[1:], total]
        for number, (start, end) in enumerate(zip(starts, ends, strict=True), start=1):
            if end - start > best:
                best, best_line = end - start, number
        return best, best_line

    @property
    def count(self) -> int:
        return len(self._starts)


@dataclass(slots=True)
class Line:
    """One source line of a paragraph: plain text, and the bold label it starts with if any."""

    text: str
    line: int
    label: str | None = None
    value: str = ""


@dataclass(slots=True)
class Block:
    """A block-level element with its source lines.

    ``kind``: heading, paragraph, list (``ordered``), item, fence, table, quote, html, hr.
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


def inline_text(node: Node) -> str:
    """Plain text of an inline subtree (emphasis markers dropped, breaks as newlines)."""
    parts: list[str] = []
    _collect_inline(node, parts)
    return "".join(parts)


def _collect_inline(node: Node, parts: list[str]) -> None:
    for child in node.children:
        name = child.name
        if name == "text" or name == "html_inline":
            parts.append(child.meta.get("content", ""))
        elif name == "softbreak" or name == "hardbreak":
            parts.append("\n")
        else:
            _collect_inline(child, parts)


_LABEL_VALUE = re.compile(r"^\s*:?\s*")


def paragraph_lines(children: list[Node], index: LineIndex, fallback: int) -> list[Line]:
    """Split inline nodes into source lines, recognising a leading bold label on each line.

    ``**Story Points:** 5``, ``**Story Points**: 5`` and ``**Total Story Points: 615** (…)``
    all give label ``Story Points``/``Total Story Points`` and the rest as value.
    """
    lines: list[Line] = []
    current: list[str] = []
    label: str | None = None
    start: int | None = None
    first = True
    for child in children:
        name = child.name
        if name == "softbreak" or name == "hardbreak":
            lines.append(_finish_line(current, label, start, fallback, index))
            current, label, start, first = [], None, None, True
            continue
        if start is None:
            start = child.srcmap[0]
        if first and name == "strong":
            label = inline_text(child)
            first = False
            continue
        if first and name == "text" and not child.meta.get("content", "").strip():
            continue
        first = False
        if name == "text" or name == "html_inline":
            current.append(child.meta.get("content", ""))
        else:
            current.append(inline_text(child))
    lines.append(_finish_line(current, label, start, fallback, index))
    return lines


def _finish_line(
    parts: list[str], label: str | None, start: int | None, fallback: int, index: LineIndex
) -> Line:
    rest = "".join(parts)
    number = index.line(start if start is not None else fallback)
    if label is None:
        return Line(text=rest.strip(), line=number)
    text = f"{label}{rest}".strip()
    label = label.strip()
    if label.endswith(":"):
        return Line(text=text, line=number, label=label[:-1].strip(), value=rest.strip())
    if rest.lstrip().startswith(":"):
        return Line(text=text, line=number, label=label, value=_LABEL_VALUE.sub("", rest).strip())
    if ":" in label:
        name, _, inner = label.partition(":")
        value = f"{inner.strip()} {rest.strip()}".strip()
        return Line(text=text, line=number, label=name.strip(), value=value)
    # Bold text that is not a label (``**Buffer** (70 pts)``): keep the bold part separately.
    return Line(text=text, line=number, label=None, value=label)


def convert_block(node: Node, index: LineIndex) -> Block | None:
    """Turn one block node of the token tree into a :class:`Block` (None for unknown kinds)."""
    name = node.name
    start, end = node.srcmap
    line = index.line(start)
    end_line = index.line(max(start, end - 1))
    if name == "paragraph":
        lines = paragraph_lines(node.children, index, start)
        text = "\n".join(item.text for item in lines)
        return Block("paragraph", line, end_line, text=text, lines=lines)
    if name in ("bullet_list", "ordered_list"):
        items = [_convert_item(child, index) for child in node.children]
        ordered = name == "ordered_list"
        start_number = int(node.meta.get("start", 1)) if ordered else 0
        return Block("list", line, end_line, children=items, ordered=ordered, level=start_number)
    if name == "fence" or name == "code_block":
        meta = node.meta
        closed = True
        if name == "fence":
            source = index.data[start:end].decode("utf-8", "replace")
            marker = str(meta.get("marker", "`")) * int(meta.get("marker_len", 3))
            closed = fence_is_closed(source, marker)
        return Block(
            "fence",
            line,
            end_line,
            text=meta.get("content", ""),
            info=str(meta.get("info", "")).strip(),
            closed=closed,
        )
    if name == "table":
        return _convert_table(node, index, line, end_line)
    if name == "blockquote":
        children = [b for b in (convert_block(c, index) for c in node.children) if b]
        text = "\n".join(child.text for child in children)
        return Block("quote", line, end_line, text=text, children=children)
    if name == "html_block":
        return Block("html", line, end_line, text=node.meta.get("content", ""))
    if name == "hr":
        return Block("hr", line, end_line)
    if name == "heading":
        return Block(
            "heading", line, end_line, text=inline_text(node).strip(), level=node.meta["level"]
        )
    return None


_BLOCK_NAMES = frozenset(
    {
        "paragraph",
        "bullet_list",
        "ordered_list",
        "fence",
        "code_block",
        "table",
        "blockquote",
        "html_block",
        "hr",
        "heading",
    }
)


def _convert_item(node: Node, index: LineIndex) -> Block:
    """A list item: its first paragraph (tight lists give bare inlines) and nested blocks."""
    start, end = node.srcmap
    line = index.line(start)
    children: list[Block] = []
    lines: list[Line] | None = None
    inlines: list[Node] = []
    for child in node.children:
        if child.name not in _BLOCK_NAMES:
            inlines.append(child)
            continue
        if inlines:
            if lines is None:
                lines = paragraph_lines(inlines, index, start)
            inlines = []
        if child.name == "paragraph" and lines is None:
            lines = paragraph_lines(child.children, index, child.srcmap[0])
            continue
        block = convert_block(child, index)
        if block is not None:
            children.append(block)
    if inlines and lines is None:
        lines = paragraph_lines(inlines, index, start)
    lines = lines or []
    text = "\n".join(item.text for item in lines)
    return Block(
        "item", line, index.line(max(start, end - 1)), text=text, lines=lines, children=children
    )


def _convert_table(node: Node, index: LineIndex, line: int, end_line: int) -> Block:
    rows: list[list[str]] = []
    row_lines: list[int] = []
    for part in node.children:  # thead, tbody
        for row in part.children:
            rows.append([inline_text(cell).strip() for cell in row.children])
            row_lines.append(index.line(row.srcmap[0]))
    return Block("table", line, end_line, rows=rows, row_lines=row_lines)


def build_sections(root: Node, index: LineIndex, total_lines: int) -> HeadingSection:
    """Group the document's blocks under their headings (a tree rooted at level 0)."""
    top = HeadingSection(title="", level=0, line=1)
    stack = [top]
    for node in root.children:
        if node.name == "heading":
            level = node.meta["level"]
            line = index.line(node.srcmap[0])
            section = HeadingSection(title=inline_text(node).strip(), level=level, line=line)
            while stack[-1].level >= level:
                done = stack.pop()
                done.end_line = line - 1
            stack[-1].children.append(section)
            stack.append(section)
            continue
        block = convert_block(node, index)
        if block is not None:
            stack[-1].blocks.append(block)
    for section in stack:
        section.end_line = total_lines
    return top


def fence_is_closed(node_text: str, marker: str) -> bool:
    """Whether a fence's source (from the opening line) has a closing marker line."""
    lines = node_text.rstrip("\n").split("\n")
    if len(lines) < 2:
        return False
    last = lines[-1].strip()
    return last.startswith(marker) and set(last) <= set(marker[0])
