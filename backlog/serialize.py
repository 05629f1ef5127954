"""The canonical JSON and YAML forms of a backlog, and its JSON Schema.

Canonical data is every field of the model in field order (tuples as lists), but for the
story fields written only when set (``OMITTED_WHEN_UNSET``). Canonical JSON is that data with
two-space indentation, non-ASCII kept as is and a final newline; YAML is the same data.
Loading validates against the model, so a file written by hand gets a message naming the
field (and line, where the format tells us) that is wrong.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from backlog.errors import BadInputError
from backlog.model import SCHEMA_VERSION, Backlog

SCHEMA_ID = "urn:backlog-bot:schema:backlog:1"


# Story fields added after the first release, written only when set, so that a backlog
# which does not use them reads out as before they existed; each with how msgspec's compact
# JSON writes it unset. Only stories have these fields, never first, so each follows a comma;
# inside a JSON string a quote is escaped, so those bytes can only be the fields themselves.
OMITTED_WHEN_UNSET = {"labels": b"[]", "assignee": b"null"}
_UNSET = tuple(b',"%s":%s' % (name.encode(), empty) for name, empty in OMITTED_WHEN_UNSET.items())


def to_data(backlog: Backlog) -> dict[str, Any]:
    """The canonical data: what ``dump_json`` writes, as plain dicts, lists and scalars."""
    data: dict[str, Any] = msgspec.json.decode(_encode(backlog))
    return data


def dump_json(backlog: Backlog) -> str:
    return dump_json_bytes(backlog).decode("utf-8")


def dump_json_bytes(backlog: Backlog) -> bytes:
    """The canonical JSON, UTF-8 encoded (what a command writes, with no round trip to str)."""
    # msgspec's encoder and formatter (C) write the same text as json.dumps(indent=2,
    # ensure_ascii=False) of to_data(backlog), about ten times faster.
    return msgspec.json.format(_encode(backlog), indent=2) + b"\n"


def _encode(backlog: Backlog) -> bytes:
    encoded = msgspec.json.encode(backlog)
    for unset in _UNSET:
        encoded = encoded.replace(unset, b"")
    return encoded


def dump_yaml(backlog: Backlog) -> str:
    import yaml

    return yaml.dump(
        to_data(backlog),
        Dumper=_yaml_dumper(),
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )


def _yaml_dumper() -> type:
    """SafeDumper that double-quotes strings holding Unicode line breaks (NEL, LS, PS).

    Written raw, YAML readers fold those characters into line breaks; double-quoted
    scalars escape them, so the text survives the round trip.
    """
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = '"' if any(ch in value for ch in "\x85\u2028\u2029") else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, represent_str)
    return Dumper


def from_data(data: object, source: str | None = None) -> Backlog:
    """Validate plain data (from JSON or YAML) into a backlog."""
    if not isinstance(data, dict):
        raise BadInputError(
            "expected a JSON/YAML object with the backlog's fields at the top level",
            file=source,
            line=1,
        )
    version = data.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise BadInputError(
            f"schema_version {version!r} is not supported (this backlog-bot reads "
            f"{SCHEMA_VERSION})",
            file=source,
        )
    try:
        return msgspec.convert(data, Backlog)
    except msgspec.ValidationError as exc:
        raise BadInputError(_validation_message(str(exc)), file=source) from None


def _validation_message(text: str) -> str:
    """``Expected `int`, got `str` - at `$.epics[0].points``` -> ``epics.0.points: ...``."""
    message, _, path = text.partition(" - at `")
    path = path.rstrip("`").removeprefix("$").removeprefix(".")
    where = path.replace("[", ".").replace("]", "") or "(top level)"
    return f"{where}: {message}"


def load_json(text: str, source: str | None = None) -> Backlog:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInputError(f"invalid JSON: {exc.msg}", file=source, line=exc.lineno) from None
    except RecursionError:
        data = _TOO_DEEP
    _refuse_deep(data, source)
    return from_data(data, source)


def load_yaml(text: str, source: str | None = None) -> Backlog:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BadInputError(f"invalid YAML: {problem}", file=source, line=line) from None
    except RecursionError:
        data = _TOO_DEEP
    _refuse_deep(data, source)
    return from_data(data, source)


_TOO_DEEP = object()  # the parser itself ran out of recursion


def _refuse_deep(data: object, source: str | None) -> None:
    from backlog.nesting import MAX_DEPTH, too_deep

    if data is _TOO_DEEP or too_deep(data):
        raise BadInputError(
            f"lists or objects nest more than {MAX_DEPTH} levels deep: this is not a backlog",
            file=source,
        )


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the canonical form, as committed in docs/."""
    schema = msgspec.json.schema(Backlog)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # python -m backlog.serialize > docs/backlog.schema.json
    import sys

    sys.stdout.write(json_schema_text())
