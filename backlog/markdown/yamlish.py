"""YAML-shaped text inside a backlog: front matter and stories written as fenced YAML blocks.

Teams write these by hand and rarely check them with a YAML parser: prose with ``:`` inside
list items (``THEN je vois :``) makes most of them invalid YAML. So they are read line by line
instead: a top-level ``key: value`` line starts a field, and the indented or ``-`` lines under
it are its value (list items joined with their continuation lines). Comments are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)\s*:(?P<value>.*)$")
_ITEM = re.compile(r"^(?P<indent>\s*)-\s+(?P<text>.*)$")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<body>(?:.*\n)*?)(?:---|\.\.\.)[ \t]*(?:\n|\Z)")


@dataclass
class YamlField:
    """One top-level key: its inline value, its list items and the line it starts on."""

    key: str
    value: str
    line: int
    items: list[str] = field(default_factory=list)
    item_lines: list[int] = field(default_factory=list)


def read_fields(text: str, first_line: int) -> dict[str, YamlField]:
    """Top-level keys of a YAML-ish block (first occurrence wins), keys case-folded."""
    fields: dict[str, YamlField] = {}
    current: YamlField | None = None
    item_indent = -1
    for offset, raw in enumerate(text.split("\n")):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key = _KEY.match(raw) if not raw[:1].isspace() else None
        if key is not None:
            name = key.group("key").casefold()
            current = YamlField(name, _unquote(key.group("value")), first_line + offset)
            fields.setdefault(name, current)
            item_indent = -1
            continue
        if current is None:
            continue
        item = _ITEM.match(raw)
        if item and (item_indent < 0 or len(item.group("indent")) <= item_indent):
            item_indent = len(item.group("indent"))
            current.items.append(_unquote(item.group("text").split(" #", 1)[0]))
            current.item_lines.append(first_line + offset)
        elif current.items:
            current.items[-1] = f"{current.items[-1]}\n{stripped}"
        elif current.value in ("|", ">", "|-", ">-", ""):
            current.value = f"{current.value}\n{stripped}".lstrip("|>- \n")
    return fields


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def split_front_matter(text: str) -> tuple[dict[str, str], int]:
    """``--- key: value ... ---`` at the very top: (metadata, number of lines it spans)."""
    if not text.startswith("---"):
        return {}, 0
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}, 0
    fields = read_fields(match.group("body"), 2)
    if not fields:
        return {}, 0
    metadata = {name: item.value or ", ".join(item.items) for name, item in fields.items() if name}
    return metadata, match.group(0).count("\n") + (0 if match.group(0).endswith("\n") else 1)
