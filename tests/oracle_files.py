"""The vendors' API descriptions the tests check against, committed under ``tests/oracles``.

Jira's and Slack's descriptions live in the repository (the large ones gzipped), with their
provenance and checksums in ``tests/oracles/README.md``; GitHub's are npm packages that
``scripts/test.sh`` installs (``sandbox.oracles``).
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any

ORACLES = Path(__file__).resolve().parent / "oracles"
# Atlassian's one documented webhook payload (jira:issue_updated with a changelog)
JIRA_ISSUE_UPDATED = (
    ORACLES / "jira" / "webhook-examples" / "jira_issue_updated.atlassian-doc-example.json"
)


def read_oracle(name: str) -> bytes:
    """The file's bytes as the vendor published them (``.gz`` files are decompressed)."""
    data = (ORACLES / name).read_bytes()
    return gzip.decompress(data) if name.endswith(".gz") else data


@cache
def load_oracle_json(name: str) -> Any:
    """A JSON description, parsed once per test session (callers must not mutate it)."""
    return json.loads(read_oracle(name))
