"""Reading a backlog from a file or text: Markdown, or the canonical JSON / YAML form.

Public entry points: :func:`load_backlog` (dispatches on the file suffix) and
:func:`parse_text` (Markdown text). Every problem is a :class:`backlog.errors.BadInputError`
whose message is one line naming the file and line.
"""

from __future__ import annotations

import re
from pathlib import Path

from backlog.errors import BadInputError
from backlog.model import Backlog

MAX_LINE_CHARS = 200_000
MAX_NESTING = 40
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdown", ".txt"})
JSON_SUFFIXES = frozenset({".json"})
YAML_SUFFIXES = frozenset({".yaml", ".yml"})

# A line whose container prefix (block quotes, list markers) nests deeper than MAX_NESTING:
# the Rust tokenizer recurses per level and would overflow its stack.
_DEEP_NESTING = re.compile(
    rf"^(?:[ \t]*(?:>|[-+*](?=[ \t])|\d{{1,9}}[.)](?=[ \t]))){{{MAX_NESTING + 1}}}", re.M
)
_DEEP_INDENT = re.compile(rf"^[ \t>]{{{4 * MAX_NESTING + 1}}}[ \t>]*[-+*>\d]", re.M)
# Both patterns need a line whose first MAX_NESTING + 1 characters are all container
# characters. This one finds such a line quickly (it searches for the literal newline first),
# so ordinary documents skip the two exact scans, which test every position of the text.
_SUSPECT_LINE = re.compile(rf"\n[ \t>\-+*\d.)]{{{MAX_NESTING + 1}}}")


def load_backlog(path: str | Path) -> Backlog:
    """Read a backlog file: ``.md`` Markdown, ``.json`` or ``.yaml``/``.yml`` canonical form."""
    path = Path(path)
    name = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadInputError("no such file", file=name) from None
    except IsADirectoryError:
        raise BadInputError("is a directory, not a backlog file", file=name) from None
    except OSError as exc:
        raise BadInputError(f"cannot read the file: {exc.strerror}", file=name) from None
    suffix = path.suffix.casefold()
    if suffix in JSON_SUFFIXES or suffix in YAML_SUFFIXES:
        from backlog import serialize

        text = decode(data, name)
        if suffix in JSON_SUFFIXES:
            return serialize.load_json(text, source=name)
        return serialize.load_yaml(text, source=name)
    return parse_bytes(data, source=name)


def parse_bytes(data: bytes, source: str | None = None) -> Backlog:
    return parse_text(decode(data, source), source=source)


def decode(data: bytes, source: str | None) -> str:
    """UTF-8 (a BOM is accepted); names the line of the first invalid byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise BadInputError(
            f"invalid UTF-8 (byte 0x{data[exc.start]:02x} at column {column}); "
            "save the file as UTF-8",
            file=source,
            line=line,
        ) from None


def parse_text(text: str, source: str | None = None) -> Backlog:
    """Parse backlog Markdown text into the model."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise BadInputError(
            "the document is empty: expected a Markdown backlog with epics and stories",
            file=source,
            line=1,
        )
    lines = text.split("\n")
    _check_shape(text, lines, source)
    from backlog.markdown.reader import parse_markdown

    return parse_markdown(text, source, lines=lines)


def _check_shape(text: str, lines: list[str], source: str | None) -> None:
    """Refuse input the tokenizer cannot handle sanely: huge lines and runaway nesting."""
    lengths = list(map(len, lines))
    longest = max(lengths)
    if longest > MAX_LINE_CHARS:
        raise BadInputError(
            f"line is {longest:,} characters long (limit {MAX_LINE_CHARS:,}): "
            "this does not look like a Markdown backlog",
            file=source,
            line=lengths.index(longest) + 1,
        )
    if not _SUSPECT_LINE.search("\n" + lines[0]) and not _SUSPECT_LINE.search(text):
        return
    for pattern in (_DEEP_NESTING, _DEEP_INDENT):
        match = pattern.search(text)
        if match:
            raise BadInputError(
                f"lists or block quotes nest more than {MAX_NESTING} levels deep",
                file=source,
                line=text.count("\n", 0, match.start()) + 1,
            )
