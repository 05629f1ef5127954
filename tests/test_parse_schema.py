"""The committed JSON Schema (docs/backlog.schema.json) is current and describes real output."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from backlog import serialize
from backlog.parse import load_backlog

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_FILE = ROOT / "docs" / "backlog.schema.json"


def test_committed_schema_is_up_to_date() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == serialize.json_schema_text(), (
        "docs/backlog.schema.json is stale: run "
        "'.venv/bin/python -m backlog.serialize > docs/backlog.schema.json'"
    )


def test_reference_json_validates_against_the_schema() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    data = json.loads(serialize.dump_json(load_backlog(ROOT / "examples" / "bss-modernization.md")))
    jsonschema.Draft202012Validator(schema).validate(data)


def test_schema_rejects_what_the_model_rejects() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    assert not validator.is_valid({"epics": [{"id": "EPIC-1", "points": "many"}]})
    assert not validator.is_valid({"title": "x", "unknown_field": 1})
    assert validator.is_valid({"title": "x", "epics": [{"id": "EPIC-1", "points": 3}]})
