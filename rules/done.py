"""``dod.*``: the Definition of Done on live issues (``rules.live`` snapshots).

Like the DoR, the document's DoD decides which checks run; each item is mapped by keyword
(``DOD_KEYWORDS``) and its numbers are read from its text: "(2 approvals)" sets the number of
approvals, "80% coverage minimum" the coverage floor. Without a DoD every check runs with the
defaults in ``DOD_DEFAULTS`` and ``thresholds`` (1 approval, 80% coverage). Sub-tasks must be
done whatever the DoD says. The checks look only at issues marked ``done`` (being closed);
fields a tracker did not report (``None``, no checks, no changed files) keep a check silent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from rules.base import Hit, Severity, fmt_number
from rules.context import DefinitionCheck, RuleContext, map_definition
from rules.live import LiveIssue
from rules.registry import rule

DOD_KEYWORDS: dict[str, tuple[str, ...]] = {
    "reviewed": (r"\breviewed\b", r"code review", r"approv", r"pull request"),
    "checks": (r"tests? (are )?passing", r"\bci\b", r"checks? (are )?(green|passing)", r"build"),
    "coverage": (r"coverage",),
    "acceptance": (r"acceptance",),
    "docs": (r"documentation", r"\bdocs?\b"),
}
DOD_DEFAULTS: dict[str, str] = {
    "reviewed": "a linked pull request merged with approvals",
    "checks": "required checks green",
    "coverage": "coverage at or above the minimum",
    "acceptance": "acceptance criteria checklist ticked",
    "docs": "documentation updated",
}
DOD = "Definition of Done"


def _check(ctx: RuleContext, key: str) -> DefinitionCheck | None:
    checks, _ = map_definition(ctx.backlog.definition_of_done, DOD_KEYWORDS, DOD_DEFAULTS)
    return checks.get(key)


def _done_issues(ctx: RuleContext) -> Iterator[LiveIssue]:
    yield from (issue for issue in ctx.live if issue.done)


def _where(ctx: RuleContext, issue: LiveIssue) -> tuple[str | None, int]:
    """Findings point at the story in the backlog when known, else at the issue's URL."""
    story = ctx.stories_by_id.get(issue.story_id or "")
    if story is not None:
        return None, story.line
    return issue.url or issue.key, 0


def _hit(ctx: RuleContext, issue: LiveIssue, message: str, suggestion: str) -> Hit:
    file, line = _where(ctx, issue)
    label = issue.key if issue.item == issue.key else f"{issue.key} ({issue.item})"
    return Hit(issue.item, f"{label} is done but {message}", line, suggestion, file=file)


def required_approvals(text: str, default: int) -> int:
    match = re.search(r"(\d+)\s*(?:approvals?|approvers?|reviewers?|reviews?)", text, re.I)
    return int(match.group(1)) if match else default


def minimum_coverage(text: str, default: float) -> float:
    match = re.search(r"(\d+(?:\.\d+)?)\s*%", text)
    return float(match.group(1)) if match else default


@rule(
    "dod.reviewed", Severity.error, "Done issue has a merged, approved pull request.", scope="live"
)
def reviewed(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: for an issue being closed, requires a linked pull request that is merged
    and has at least N approvals, N read from the DoD item ("reviewed (2 approvals)").
    Why it matters: the Definition of Done says code is reviewed; an unmerged or
    under-reviewed change is not done.
    Example: PR #12 merged with 1 approval when the DoD asks for 2 approvals.
    Instead: get the missing review before closing the issue.
    """
    check = _check(ctx, "reviewed")
    if check is None:
        return
    need = required_approvals(check.text, ctx.config.thresholds.min_approvals)
    for issue in _done_issues(ctx):
        if not issue.pull_requests:
            yield _hit(ctx, issue, f"has no linked pull request ({check.cite(DOD)})", "link the PR")
            continue
        merged = [pr for pr in issue.pull_requests if pr.merged]
        if not merged:
            numbers = ", ".join(f"#{pr.number}" for pr in issue.pull_requests)
            yield _hit(
                ctx, issue, f"its pull request {numbers} is not merged", "merge it or reopen"
            )
            continue
        for pr in merged:
            if pr.approvals < need:
                yield _hit(
                    ctx,
                    issue,
                    f"pull request #{pr.number} was merged with {pr.approvals} approval"
                    f"{'s' if pr.approvals != 1 else ''}; {check.cite(DOD)} asks for {need}",
                    "get the missing reviews, or reopen the issue",
                )


@rule("dod.checks-green", Severity.error, "Required PR checks are green.", scope="live")
def checks_green(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: for an issue being closed, flags required checks (CI runs, statuses)
    of its linked pull requests that are not completed successfully.
    Why it matters: the Definition of Done asks for passing tests; a red or pending check
    means nobody knows whether they pass.
    Example: check "integration-tests" concluded "failure" on PR #12.
    Instead: fix the failure and let the checks finish before closing.
    """
    check = _check(ctx, "checks")
    if check is None:
        return
    for issue in _done_issues(ctx):
        for pr in issue.pull_requests:
            bad = [c for c in pr.checks if c.required and not c.is_green]
            if bad:
                states = ", ".join(f"{c.name}: {c.conclusion or c.state}" for c in bad)
                yield _hit(
                    ctx,
                    issue,
                    f"pull request #{pr.number} has required checks that are not green "
                    f"({states}); {check.cite(DOD)}",
                    "fix the checks before closing the issue",
                )


@rule("dod.coverage", Severity.error, "Coverage meets the DoD's minimum.", scope="live")
def coverage(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: when a pull request reports coverage, flags coverage below the minimum
    read from the DoD item ("80% coverage minimum"; default ``thresholds.min-coverage``).
    Why it matters: the team agreed on a coverage floor in its Definition of Done.
    Example: coverage 72.5% when the DoD says "80% coverage minimum".
    Instead: add tests for the uncovered code before closing.
    """
    check = _check(ctx, "coverage")
    if check is None:
        return
    floor = minimum_coverage(check.text, ctx.config.thresholds.min_coverage)
    for issue in _done_issues(ctx):
        for pr in issue.pull_requests:
            if pr.coverage_pct is not None and pr.coverage_pct < floor:
                yield _hit(
                    ctx,
                    issue,
                    f"pull request #{pr.number} has {fmt_number(pr.coverage_pct)}% coverage, "
                    f"below the {fmt_number(floor)}% of {check.cite(DOD)}",
                    "add tests until coverage reaches the minimum",
                )


@rule("dod.subtasks-done", Severity.error, "All sub-tasks of a done issue are done.", scope="live")
def subtasks_done(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: flags an issue being closed while some of its sub-tasks are open.
    Why it matters: the story's work is its sub-tasks; an open one is unfinished work the
    tracker will no longer show.
    Example: BSS-12 closed with sub-task BSS-15 "Configure Jaeger storage" open.
    Instead: finish or explicitly drop the sub-task first.
    """
    for issue in _done_issues(ctx):
        open_ = [sub for sub in issue.subtasks if not sub.done]
        if open_:
            names = ", ".join(f"{s.key} {s.title!r}" if s.title else s.key for s in open_[:5])
            yield _hit(
                ctx,
                issue,
                f"{len(open_)} of {len(issue.subtasks)} sub-tasks are open ({names})",
                "finish or close the sub-tasks first",
            )


@rule("dod.acceptance-checked", Severity.error, "Acceptance checklist fully ticked.", scope="live")
def acceptance_checked(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: flags an issue being closed whose acceptance-criteria checklist has
    unticked items.
    Why it matters: the Definition of Done asks that acceptance criteria are validated; an
    unticked item was not.
    Example: ``- [ ] Retention policies configured`` still open.
    Instead: validate the criterion and tick it, or renegotiate it with the Product Owner.
    """
    check = _check(ctx, "acceptance")
    if check is None:
        return
    for issue in _done_issues(ctx):
        open_ = [entry for entry in issue.checklist if not entry.checked]
        if open_:
            yield _hit(
                ctx,
                issue,
                f"{len(open_)} of {len(issue.checklist)} acceptance items are not ticked "
                f"(first: {open_[0].text!r}); {check.cite(DOD)}",
                "validate and tick every acceptance item",
            )


@rule(
    "dod.docs-updated", Severity.warning, "Documentation touched when the DoD asks.", scope="live"
)
def docs_updated(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: when the DoD asks for updated documentation, flags an issue being closed
    whose merged pull requests change no documentation file (``thresholds.docs-paths``:
    docs/, README, CHANGELOG, ``*.md``, ``*.rst``, adr/).
    Why it matters: the Definition of Done says documentation is updated; no doc file
    changed is strong evidence it was not.
    Example: PR #12 changes only ``src/`` files.
    Instead: update the docs in the same pull request (or a linked one).
    """
    check = _check(ctx, "docs")
    if check is None:
        return
    markers = ctx.config.thresholds.docs_paths
    for issue in _done_issues(ctx):
        files = [f for pr in issue.pull_requests if pr.merged for f in pr.changed_files]
        if not files:
            continue
        if not any(marker in path for path in files for marker in markers):
            yield _hit(
                ctx,
                issue,
                f"its merged pull requests change {len(files)} files and none is "
                f"documentation; {check.cite(DOD)}",
                "update the documentation in a linked pull request",
            )


@rule("dod.unchecked", Severity.info, "A Definition-of-Done item no rule can check.")
def unchecked(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: lists Definition-of-Done items that no dod.* rule understands.
    Why it matters: the team may believe those items are enforced on live issues; they are
    checked by people only.
    Example: ``- [ ] Code deployed to staging environment``.
    Instead: keep them as a manual checklist, or reword them with a keyword a rule knows
    (reviewed/approvals, tests passing, coverage, acceptance, documentation).
    """
    _, unmapped = map_definition(ctx.backlog.definition_of_done, DOD_KEYWORDS, DOD_DEFAULTS)
    for item in unmapped:
        yield Hit(
            "definition-of-done",
            f'the Definition of Done item "{item.text}" is not checked automatically',
            item.line,
            "check it by hand when closing an issue",
        )
