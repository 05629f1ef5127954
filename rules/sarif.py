"""SARIF 2.1.0 output for code-scanning tools (GitHub code scanning and others).

One run; the tool's driver lists every registered rule (id, summary, full documentation,
default level, lifecycle), each result points at the backlog file and line. Info findings
become SARIF ``note`` results. Validated in the tests against the OASIS JSON schema.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rules.base import Finding, Rule, Severity
from rules.registry import load_rules

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "backlog-bot"
LEVEL = {Severity.error: "error", Severity.warning: "warning", Severity.info: "note"}


def _descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.replace("-", ".").split(".")),
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.doc.splitlines()[0] if rule.doc else rule.summary},
        "help": {"text": rule.doc or rule.summary},
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {"lifecycle": rule.lifecycle.value, "family": rule.family},
    }


def _location(finding: Finding) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": finding.file}}
    if "://" not in finding.file and not finding.file.startswith("/"):
        physical["artifactLocation"]["uriBaseId"] = "%SRCROOT%"
    if finding.line > 0:
        physical["region"] = {"startLine": finding.line}
    return {
        "physicalLocation": physical,
        "logicalLocations": [{"name": finding.item, "kind": "object"}],
    }


def sarif_log(findings: Sequence[Finding], version: str = "0.1.0") -> dict[str, Any]:
    """The SARIF log as a dict."""
    rules = list(load_rules().values())
    index = {rule.id: position for position, rule in enumerate(rules)}
    results = []
    for finding in findings:
        result: dict[str, Any] = {
            "ruleId": finding.rule,
            "level": LEVEL[finding.severity],
            "message": {
                "text": finding.message
                + (f" (help: {finding.suggestion})" if finding.suggestion else "")
            },
            "locations": [_location(finding)],
            "partialFingerprints": {
                "backlogBotItem/v1": f"{finding.rule}:{finding.item}:{finding.message}"
            },
        }
        if finding.rule in index:
            result["ruleIndex"] = index[finding.rule]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": version,
                        "rules": [_descriptor(rule) for rule in rules],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def format_sarif(findings: Sequence[Finding]) -> str:
    return json.dumps(sarif_log(findings), indent=2, ensure_ascii=False) + "\n"
