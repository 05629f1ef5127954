"""How deeply parsed JSON/YAML data nests, measured without recursion.

Deeply nested input (``[`` x 100,000) makes the JSON and YAML parsers, and anything that later
walks the data recursively (validation, serialisation, a database JSON column), exceed
Python's recursion limit. Readers catch the parser's ``RecursionError`` and then check the
result with ``too_deep``, so the input is refused as bad input in one line, never a traceback.
"""

from __future__ import annotations

MAX_DEPTH = 64  # a backlog nests about 6 levels, a GitHub or Jira webhook about 8


def too_deep(value: object, limit: int = MAX_DEPTH) -> bool:
    """True when lists/dicts inside ``value`` nest more than ``limit`` levels."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: list[object] | tuple[object, ...] = list(item.values())
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
