"""Run the selected rules over a backlog (and live issue snapshots) and collect findings.

A rule that raises becomes an ``engine.rule-crashed`` finding and the other rules still run.
Severities come from the configuration (most specific id prefix), else the rule's own
choice for the hit, else the rule's default. Findings silenced by a per-item ignore in the
config or by a story's inline suppression are dropped. The result is sorted by file, line,
severity and rule id.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from typing import Any

from backlog.model import Backlog
from rules.base import Finding, Rule, Severity, matches_prefix
from rules.config import RulesConfig
from rules.context import RuleContext
from rules.live import LiveIssue
from rules.registry import load_rules, select_rules

CRASH_RULE = "engine.rule-crashed"
UNUSED_IGNORE = "document.unused-ignore"


def enabled_rules(config: RulesConfig) -> list[Rule]:
    return select_rules(
        load_rules().values(), select=config.select, ignore=config.ignore, preview=config.preview
    )


def run_rules(
    backlog: Backlog,
    config: RulesConfig | None = None,
    live: Iterable[LiveIssue] | None = None,
    *,
    only_items: Collection[str] | None = None,
    rules: Iterable[Rule] | None = None,
) -> list[Finding]:
    """Check ``backlog`` (and ``live`` issues for the DoD rules); return sorted findings.

    ``only_items`` keeps findings about those items (story ids such as ``US-001``, epic ids,
    ``sprint-N``, or a live issue's key): the webhook service checks one story this way.
    Cross-item rules still see the whole backlog, so their evidence stays right.
    """
    config = config or RulesConfig()
    ctx = RuleContext(backlog=backlog, config=config, live=tuple(live or ()))
    chosen = list(rules) if rules is not None else enabled_rules(config)
    inline = {story.id: story.suppressions for story in ctx.stories if story.suppressions}
    wanted = set(only_items) if only_items is not None else None
    findings: list[Finding] = []
    used: set[tuple[str, str]] = set()  # (story id, inline ignore) that silenced a finding
    for item in chosen:
        if item.scope == "live" and not ctx.live:
            continue
        try:
            hits = list(item.check(ctx))
        except Exception as exc:  # a broken rule must not hide the other rules' findings
            findings.append(_crash_finding(item, exc, ctx.file))
            continue
        configured = config.severity_for(item.id)
        for hit in hits:
            if wanted is not None and hit.item not in wanted:
                continue
            if config.is_suppressed(item.id, hit.item):
                continue
            silencing = [p for p in inline.get(hit.item, ()) if matches_prefix(item.id, [p])]
            if silencing:
                used.update((hit.item, prefix) for prefix in silencing)
                continue
            findings.append(
                Finding(
                    rule=item.id,
                    severity=configured or hit.severity or item.severity,
                    item=hit.item,
                    message=hit.message,
                    file=hit.file or ctx.file,
                    line=hit.line,
                    suggestion=hit.suggestion,
                )
            )
    if any(item.id == UNUSED_IGNORE for item in chosen):
        findings.extend(_unused_ignores(ctx, chosen, used, config, wanted))
    findings.sort(key=lambda finding: finding.sort_key)
    return findings


def _unused_ignores(
    ctx: RuleContext,
    chosen: list[Rule],
    used: set[tuple[str, str]],
    config: RulesConfig,
    wanted: set[str] | None,
) -> Iterator[Finding]:
    """Inline ignores that silenced nothing in this run (only for rules that ran)."""
    severity = config.severity_for(UNUSED_IGNORE) or Severity.warning
    for story in ctx.stories:
        if wanted is not None and story.id not in wanted:
            continue
        for prefix in story.suppressions:
            if (story.id, prefix) in used:
                continue
            ran = [rule.id for rule in chosen if matches_prefix(rule.id, [prefix])]
            if not ran:
                continue  # unknown ids are reported by the rule itself; unselected rules: quiet
            yield Finding(
                rule=UNUSED_IGNORE,
                severity=severity,
                item=story.id,
                message=f"{story.id}: the inline ignore {prefix!r} silences nothing "
                f"({', '.join(ran[:3])}{' ...' if len(ran) > 3 else ''} found nothing here)",
                file=ctx.file,
                line=story.line,
                suggestion="remove the ignore comment",
            )


def check_live_issue(
    issue: LiveIssue, backlog: Backlog | None = None, config: RulesConfig | None = None
) -> list[Finding]:
    """DoD findings for one live issue; the backlog (when given) supplies its DoD."""
    config = config or RulesConfig()
    rules = [r for r in enabled_rules(config) if r.scope == "live"]
    return run_rules(backlog or Backlog(), config, [issue], rules=rules)


def _crash_finding(item: Rule, exc: Exception, file: str) -> Finding:
    return Finding(
        rule=CRASH_RULE,
        severity=Severity.error,
        item=item.id,
        message=f"rule {item.id} crashed ({type(exc).__name__}: {exc}); the other rules ran",
        file=file,
        line=0,
        suggestion=f"report this bug; meanwhile silence the rule with --ignore {item.id}",
    )


def summarize(findings: Iterable[Finding]) -> dict[str, Any]:
    """Counts by severity, for report footers and JSON output."""
    counts = {severity.value: 0 for severity in Severity}
    for finding in findings:
        counts[finding.severity.value] += 1
    return counts


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(finding.severity is Severity.error for finding in findings)
