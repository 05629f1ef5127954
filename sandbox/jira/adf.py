"""Atlassian Document Format checks: what Jira Cloud's REST v3 accepts as rich text.

Jira's v3 description types a description or comment body only as "Atlassian Document Format"
with a link; the format itself is Atlassian's JSON Schema, ``adf-schema.v1.json`` next to this
module, copied unchanged from the npm package ``@atlaskit/adf-schema`` 57.7.22
(``json-schema/v1/full.json``, Apache-2.0, the file Atlassian links as the ADF schema). A body
sent through v3 must validate against it; Jira answers 400 otherwise. v2 bodies are wiki markup
strings and are kept as sent: a Markdown comment posted through v2 is stored (and shown) as the
literal text a Jira user would see.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

SCHEMA_PATH = Path(__file__).with_name("adf-schema.v1.json")
NOT_A_DOCUMENT = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"


@cache
def _validator() -> Draft4Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return Draft4Validator(schema)


def adf_problem(value: Any) -> str | None:
    """Why ``value`` is not a valid ADF document (the deepest schema error), or ``None``."""
    if not isinstance(value, dict):
        return NOT_A_DOCUMENT
    errors = sorted(_validator().iter_errors(value), key=lambda e: len(list(e.absolute_path)))
    if not errors:
        return None
    deepest = errors[-1]
    where = "/".join(str(part) for part in deepest.absolute_path) or "document"
    return f"{NOT_A_DOCUMENT}: {where}: {deepest.message[:200]}"


def is_adf(value: Any) -> bool:
    return adf_problem(value) is None
