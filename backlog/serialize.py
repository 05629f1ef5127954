"""The canonical JSON and YAML forms of a backlog, and its JSON Schema.

Canonical JSON is ``Backlog.model_dump(mode="json")`` written with two-space indentation,
keys in model field order, non-ASCII kept as is and a final newline; YAML is the same data.
Loading validates against the model, so a file written by hand gets a message naming the
field (and line, where the format tells us) that is wrong.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from backlog.errors import BadInputError
from backlog.model import SCHEMA_VERSION, Backlog

SCHEMA_ID = "urn:backlog-bot:schema:backlog:1"


def to_data(backlog: Backlog) -> dict[str, Any]:
    return backlog.model_dump(mode="json")


def dump_json(backlog: Backlog) -> str:
    # pydantic's serializer (Rust) writes the same text as json.dumps(indent=2,
    # ensure_ascii=False) of model_dump(mode="json"), about ten times faster. Its type
    # warnings are off: a validated model holds no value of the wrong type, and checking
    # every value for one costs a third of the dump.
    return backlog.model_dump_json(indent=2, warnings=False) + "\n"


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
        return Backlog.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise BadInputError(f"{where}: {error['msg']}{more}", file=source) from None


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
    schema = Backlog.model_json_schema(mode="validation")
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
