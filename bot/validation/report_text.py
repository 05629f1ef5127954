"""The validation report as comment text, in each tracker's own markup.

GitHub renders Markdown: the report is Markdown with two hidden HTML comments, the marker
that finds the comment again and the stamp (``kind:digest``) of the findings it shows.
Jira renders wiki markup for bodies sent through REST v2 (our documented choice; see
``sync.jira.live``): the report is wiki markup (``h3.``, ``*bold*``, ``{{monospace}}``,
``(x)``/``(/)`` icons) with every character Jira would read as markup escaped, and nothing
hidden in the text — the marker and the stamp live in a comment property.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync.jira.wiki import wiki_escape

if TYPE_CHECKING:
    from bot.validation.validator import IssueState, Report

MARKER = "<!-- backlog-bot:report -->"
HASH_PREFIX = "<!-- backlog-bot:hash="
TITLES = {"dor": "Definition of Ready / INVEST", "dod": "Definition of Done"}


def markdown(report: Report, state: IssueState, item: str, stamp: str) -> str:
    """The GitHub comment: hidden marker, verdict, one line per finding, hidden stamp."""
    lines = [MARKER, f"### {'❌' if report.failed else '✅'} {_verdict(report, item)}"]
    if report.findings:
        lines.append("")
        for finding in report.findings:
            where = f" (backlog line {finding.line})" if finding.line else ""
            hint = f" — {finding.suggestion}" if finding.suggestion else ""
            lines.append(
                f"- **{finding.severity}** `{finding.rule}`{where}: {finding.message}{hint}"
            )
    lines += _closing(report)
    lines += ["", f"_Checked by backlog-bot on the issue's current state ({state.key})._"]
    lines.append(f"{HASH_PREFIX}{stamp} -->")
    return "\n".join(lines)


def markdown_stamp(body: str | None) -> str | None:
    """The stamp hidden in a GitHub report (``None`` when the body is not a report)."""
    if not is_markdown_report(body):
        return None
    text = str(body)
    start = text.find(HASH_PREFIX)
    if start < 0:
        return None
    return text[start + len(HASH_PREFIX) :].split(" ", 1)[0].split("-->", 1)[0].strip()


def is_markdown_report(body: str | None) -> bool:
    return bool(body) and MARKER in str(body)


def jira_wiki(report: Report, state: IssueState, item: str) -> str:
    """The Jira comment in wiki markup; no marker in the text (it is a comment property)."""
    icon = "(x)" if report.failed else "(/)"
    lines = [f"h3. {icon} {wiki_escape(_verdict(report, item))}"]
    if report.findings:
        lines.append("")
        for finding in report.findings:
            where = f" (backlog line {finding.line})" if finding.line else ""
            hint = f" — {finding.suggestion}" if finding.suggestion else ""
            lines.append(
                f"* *{finding.severity}* {{{{{finding.rule}}}}}{where}: "
                + wiki_escape(f"{finding.message}{hint}")
            )
    lines += [wiki_escape(line) for line in _closing(report)]
    lines += ["", f"_Checked by backlog-bot on the issue's current state ({state.key})._"]
    return "\n".join(lines)


def _verdict(report: Report, item: str) -> str:
    title = TITLES[report.kind]
    return f"{item} {'does not meet' if report.failed else 'meets'} the {title}"


def _closing(report: Report) -> list[str]:
    rules = ", ".join(sorted({f.rule for f in report.enforced}))
    if report.enforced and report.kind == "dod":
        return ["", f"Reopened: the team enforces {rules} before an issue is done."]
    if report.action:
        return [
            "",
            f"Moved back ({report.action}): the team enforces {rules} before an issue is "
            "planned or started. Fix the findings above, then move it again.",
        ]
    return []
