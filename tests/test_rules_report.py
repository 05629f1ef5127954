"""Report formats: SARIF validated against the OASIS 2.1.0 schema, escaping, empty reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from backlog.parse import load_backlog
from rules.base import Finding, Severity
from rules.registry import load_rules
from rules.report import format_github, format_json, format_markdown, format_text, formatter
from rules.runner import run_rules
from rules.sarif import sarif_log

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def reference_findings() -> list[Finding]:
    return run_rules(load_backlog(ROOT / "examples" / "bss-modernization.md"))


def finding(**changes: object) -> Finding:
    base = {
        "rule": "invest.small",
        "severity": Severity.warning,
        "item": "US-001",
        "message": "too big",
        "file": "backlog.md",
        "line": 7,
        "suggestion": "split it",
    }
    base.update(changes)
    return Finding(**base)  # type: ignore[arg-type]


def test_sarif_is_valid_against_the_oasis_schema(reference_findings: list[Finding]) -> None:
    log = sarif_log(reference_findings)
    Draft4Validator.check_schema(SCHEMA)
    errors = sorted(Draft4Validator(SCHEMA).iter_errors(log), key=lambda e: list(e.path))
    assert errors == []
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(load_rules())
    assert len(run["results"]) == len(reference_findings)
    for result, source in zip(run["results"], reference_findings, strict=True):
        assert rules[result["ruleIndex"]]["id"] == source.rule
        assert (
            result["level"]
            == {"error": "error", "warning": "warning", "info": "note"}[source.severity.value]
        )
        region = result["locations"][0]["physicalLocation"].get("region")
        assert region == ({"startLine": source.line} if source.line else None)


def test_sarif_for_no_findings_is_valid() -> None:
    log = sarif_log([])
    assert list(Draft4Validator(SCHEMA).iter_errors(log)) == []
    assert log["runs"][0]["results"] == []


def test_sarif_rejects_what_the_schema_rejects() -> None:
    """The schema is really enforced: a result without a message is invalid."""
    log = sarif_log([finding()])
    del log["runs"][0]["results"][0]["message"]
    assert list(Draft4Validator(SCHEMA).iter_errors(log))


def test_github_annotation_escaping() -> None:
    text = format_github(
        [finding(message="50% done\nnext", file="dir,a:b.md", severity=Severity.info, line=0)]
    )
    assert text.splitlines()[0] == (
        "::notice file=dir%2Ca%3Ab.md,title=invest.small (US-001)::50%25 done%0Anext "
        "(help: split it)"
    )


def test_markdown_escapes_pipes() -> None:
    text = format_markdown([finding(message="a | b")])
    assert "| a \\| b — *split it* |" in text


def test_empty_reports() -> None:
    assert format_text([]) == "No findings.\n"
    assert json.loads(format_json([])) == {
        "version": 1,
        "summary": {"total": 0, "error": 0, "warning": 0, "info": 0},
        "findings": [],
    }
    assert format_markdown([]) == "### backlog-bot validate\n\nNo findings.\n"


def test_text_groups_by_item_in_line_order() -> None:
    text = format_text(
        [finding(item="US-002", line=30), finding(line=7), finding(line=9, rule="dor.estimated")]
    )
    assert [line for line in text.splitlines() if line and not line.startswith(" ")] == [
        "US-001",
        "US-002",
        "Found 3 findings: 0 errors, 3 warnings, 0 info.",
    ]


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        formatter("xml")


def test_finding_to_dict_has_every_field_in_order() -> None:
    import dataclasses

    item = finding()
    expected = {field.name: getattr(item, field.name) for field in dataclasses.fields(Finding)}
    expected["severity"] = item.severity.value
    assert list(item.to_dict().items()) == list(expected.items())
