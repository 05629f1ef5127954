"""Finding formatters: text (grouped by item), JSON, Markdown and GitHub workflow annotations.

SARIF lives in ``rules.sarif``. Every formatter is a pure function of the findings and
returns a string, so the CLI, the webhook service and Slack messages share them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from rules.base import Finding, Severity
from rules.runner import summarize

REPORT_VERSION = 1


def summary_line(findings: Sequence[Finding]) -> str:
    """``Found 3 findings: 1 error, 1 warning, 1 info.`` (or ``No findings.``)."""
    if not findings:
        return "No findings."
    counts = summarize(findings)
    parts = [
        f"{counts['error']} error{'s' if counts['error'] != 1 else ''}",
        f"{counts['warning']} warning{'s' if counts['warning'] != 1 else ''}",
        f"{counts['info']} info",
    ]
    noun = "finding" if len(findings) == 1 else "findings"
    return f"Found {len(findings)} {noun}: {', '.join(parts)}."


def _location(finding: Finding) -> str:
    return f"{finding.file}:{finding.line}" if finding.line else finding.file


def group_by_item(findings: Sequence[Finding]) -> list[tuple[str, list[Finding]]]:
    """Findings grouped by item, groups ordered by their first line (file-level first)."""
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.item, []).append(finding)
    ordered = sorted(
        groups.items(),
        key=lambda pair: (min((f.file, f.line) for f in pair[1]), pair[0]),
    )
    return [(item, sorted(group, key=lambda f: f.sort_key)) for item, group in ordered]


def format_text(findings: Sequence[Finding]) -> str:
    """Human output: one block per item, each finding with its line, then the summary."""
    lines: list[str] = []
    for item, group in group_by_item(findings):
        lines.append(item)
        for finding in group:
            lines.append(
                f"  {_location(finding)}: {finding.severity.value} "
                f"[{finding.rule}] {finding.message}"
            )
            if finding.suggestion:
                lines.append(f"      help: {finding.suggestion}")
        lines.append("")
    lines.append(summary_line(findings))
    return "\n".join(lines) + "\n"


def format_json(findings: Sequence[Finding]) -> str:
    document = {
        "version": REPORT_VERSION,
        "summary": {"total": len(findings), **summarize(findings)},
        "findings": [finding.to_dict() for finding in findings],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


MARKDOWN_ICON = {Severity.error: "❌ error", Severity.warning: "⚠️ warning", Severity.info: "ℹ️ info"}


def format_markdown(findings: Sequence[Finding]) -> str:
    """A Markdown report for a pull-request comment or a Slack message."""
    lines = ["### backlog-bot validate", "", summary_line(findings)]
    if findings:
        lines += ["", "| Severity | Item | Line | Rule | Finding |", "|---|---|---|---|---|"]
        for item, group in group_by_item(findings):
            for finding in group:
                message = _cell(finding.message)
                if finding.suggestion:
                    message += f" — *{_cell(finding.suggestion)}*"
                lines.append(
                    f"| {MARKDOWN_ICON[finding.severity]} | {_cell(item)} | "
                    f"{finding.line or ''} | `{finding.rule}` | {message} |"
                )
    return "\n".join(lines) + "\n"


GITHUB_LEVEL = {Severity.error: "error", Severity.warning: "warning", Severity.info: "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(findings: Sequence[Finding]) -> str:
    """GitHub Actions workflow commands (``::error file=F,line=L,title=T::message``)."""
    lines = []
    for finding in findings:
        props = [f"file={_escape_property(finding.file)}"]
        if finding.line:
            props.append(f"line={finding.line}")
        props.append(f"title={_escape_property(f'{finding.rule} ({finding.item})')}")
        message = finding.message
        if finding.suggestion:
            message += f" (help: {finding.suggestion})"
        lines.append(
            f"::{GITHUB_LEVEL[finding.severity]} {','.join(props)}::{_escape_data(message)}"
        )
    lines.append(summary_line(findings))
    return "\n".join(lines) + "\n"


def formatter(name: str) -> Callable[[Sequence[Finding]], str]:
    """The formatter called ``name`` (text, json, markdown, sarif, github)."""
    if name == "sarif":
        from rules.sarif import format_sarif

        return format_sarif
    table: dict[str, Callable[[Sequence[Finding]], str]] = {
        "text": format_text,
        "json": format_json,
        "markdown": format_markdown,
        "github": format_github,
    }
    try:
        return table[name]
    except KeyError as exc:
        known = "text, json, markdown, sarif or github"
        raise ValueError(f"unknown format {name!r}; use {known}") from exc
