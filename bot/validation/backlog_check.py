"""The backlog file in the repository: pull requests get a check run, pushes get a plan.

- A pull request (opened, synchronize, reopened) that changes the backlog file gets a check
  run ``backlog-bot/validate`` on its head commit: the rules run on the file as the pull
  request has it, and every finding becomes an annotation on its line (errors fail the check,
  warnings and notes do not). A file that does not parse fails with the parser's line.
- A push to the default branch that changes the backlog file runs validate + plan for each
  configured sync target (+ apply when ``[validation] apply-on-push = true`` and no error
  findings), and reports on the pushed commit as the check run ``backlog-bot/plan``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from backlog.errors import BacklogBotError, BadInputError
from backlog.model import Backlog
from bot.service.inbox import Delivery
from bot.validation.validator import ValidationConfig
from rules.base import Finding, Severity
from sync.state.inbox import IGNORED

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.settings import Settings
    from bot.targets.factory import SyncTarget
    from sync.github.live import GitHubLiveAdapter

log = logging.getLogger(__name__)
LEVELS = {Severity.error: "failure", Severity.warning: "warning", Severity.info: "notice"}
PR_ACTIONS = ("opened", "synchronize", "reopened")


class BacklogCheck:
    """Handler for ``pull_request`` and ``push`` deliveries touching the backlog file."""

    def __init__(
        self,
        settings: Settings,
        config: ValidationConfig,
        adapter_factory: Callable[[], GitHubLiveAdapter],
        *,
        targets: Callable[[], dict[str, SyncTarget]] | None = None,
    ) -> None:
        self.settings = settings
        self.config = config
        self.path = (config.backlog_path or settings.backlog_file).lstrip("./")
        self.adapter_factory = adapter_factory
        self.targets = targets or (lambda: configured_targets(settings))

    def __call__(self, delivery: Delivery) -> str | None:
        repo = ((delivery.payload.get("repository") or {}).get("full_name") or "").lower()
        if repo != str(self.settings.github_repository or "").lower():
            return IGNORED
        if delivery.event == "pull_request" and delivery.action in PR_ACTIONS:
            return self.pull_request(delivery.payload)
        if delivery.event == "push":
            return self.push(delivery.payload)
        return IGNORED

    def pull_request(self, payload: dict[str, Any]) -> str | None:
        pull = payload.get("pull_request") or {}
        number, head = int(pull.get("number") or payload["number"]), pull["head"]["sha"]
        adapter = self.adapter_factory()
        try:
            if self.path not in adapter.pull_files(number):
                return IGNORED
            text = adapter.file_text(self.path, head)
            findings, _ = check_text(text, self.path)
            errors = sum(1 for f in findings if f.severity is Severity.error)
            adapter.create_check_run(
                name="backlog-bot/validate", head_sha=head,
                conclusion="failure" if errors else "success",
                title=summary(findings), summary=_table(findings),
                annotations=[annotation(f, self.path) for f in findings],
            )  # fmt: skip
        finally:
            adapter.close()
        log.info("backlog checked", extra={"pull": number, "findings": len(findings)})
        return None

    def push(self, payload: dict[str, Any]) -> str | None:
        default = (payload.get("repository") or {}).get("default_branch") or "main"
        if payload.get("ref") != f"refs/heads/{default}" or not _touches(payload, self.path):
            return IGNORED
        sha = str(payload.get("after"))
        adapter = self.adapter_factory()
        try:
            text = adapter.file_text(self.path, sha)
            findings, backlog = check_text(text, self.path)
            errors = any(f.severity is Severity.error for f in findings)
            lines = [summary(findings)]
            if backlog is not None and text is not None:
                apply = self.config.apply_on_push and not errors
                lines += self._plan(backlog, text, apply=apply)
            adapter.create_check_run(
                name="backlog-bot/plan", head_sha=sha,
                conclusion="failure" if errors else "success",
                title=lines[0], summary="\n".join(f"- {line}" for line in lines[1:]) or "-",
                annotations=[annotation(f, self.path) for f in findings],
            )  # fmt: skip
        finally:
            adapter.close()
        log.info("backlog pushed", extra={"sha": sha, "report": lines})
        return None

    def _plan(self, backlog: Backlog, text: str, *, apply: bool) -> list[str]:
        """Plan (or apply) each target two-way, as the CLI does: fields changed on the
        tracker since the last apply or pull are left alone and listed, never pushed back."""
        from bot.targets.newstories import adopt_matching
        from bot.targets.twoway import (
            guard,
            hold_left_alone,
            measure,
            policy,
            record_agreed,
            record_applied,
        )

        lines = []
        conflicts = policy()
        for name, runner in self.targets().items():
            try:
                # new stories a merged GitOps proposal brought: linked before any apply
                lines += adopt_matching(runner, backlog)
                drift = measure(runner, backlog, text, conflicts)
                record_agreed(runner, backlog, drift)  # a merged GitOps proposal: now agreed
                guarded = guard(runner, backlog, drift)
                hold_left_alone(runner, guarded, drift, backlog)
                if apply:
                    done = runner.apply(guarded, self.path, prune=False, progress=None)
                    if not done.failures:
                        record_applied(runner, backlog, text, drift)
                    lines.append(f"{name}: applied {_counts(done.plan.counts())}")
                else:
                    plan = runner.plan(guarded, self.path, prune=False).plan
                    lines.append(f"{name}: plan {_counts(plan.counts())}")
                lines += [f"{name}: left alone {m.describe_item()}" for m in drift.left_alone()]
            except BacklogBotError as exc:
                lines.append(f"{name}: {exc}")
            finally:
                runner.close()
        return lines


def configured_targets(settings: Settings, database: Engine | None = None) -> dict[str, SyncTarget]:
    """Every sync target whose settings are complete (on ``database``, the process's engine,
    when given)."""
    from bot.targets.factory import TARGET_NAMES, build_target

    runners: dict[str, SyncTarget] = {}
    for name in TARGET_NAMES:
        try:
            runners[name] = build_target(name, settings, database=database)
        except BacklogBotError:
            continue
    return runners


def check_text(text: str | None, path: str) -> tuple[list[Finding], Backlog | None]:
    """Findings of every enabled rule on ``text``; a parse error is an error finding."""
    from backlog.parse import parse_text
    from rules.config import load_rules_config
    from rules.runner import run_rules

    if text is None:
        return [Finding("engine.missing-file", Severity.error, path,
                        f"{path} does not exist at this commit", path, 0)], None  # fmt: skip
    try:
        backlog = parse_text(text, source=path)
    except BadInputError as exc:
        return [Finding("engine.parse", Severity.error, path, exc.message, path,
                        exc.line or 0)], None  # fmt: skip
    return run_rules(backlog, load_rules_config()), backlog


def annotation(finding: Finding, path: str) -> dict[str, Any]:
    line = max(1, finding.line)
    message = finding.message + (f"\n{finding.suggestion}" if finding.suggestion else "")
    return {
        "path": path, "start_line": line, "end_line": line,
        "annotation_level": LEVELS[finding.severity], "title": finding.rule, "message": message,
    }  # fmt: skip


def summary(findings: list[Finding]) -> str:
    counts = {s: sum(1 for f in findings if f.severity is s) for s in Severity}
    return (f"{counts[Severity.error]} error(s), {counts[Severity.warning]} warning(s), "
            f"{counts[Severity.info]} note(s)")  # fmt: skip


def _table(findings: list[Finding]) -> str:
    if not findings:
        return "The backlog passes every enabled rule."
    rows = [f"- line {f.line}: **{f.severity}** `{f.rule}` {f.message}" for f in findings[:100]]
    more = len(findings) - len(rows)
    return "\n".join(rows + ([f"- ... and {more} more"] if more > 0 else []))


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{v} {k}" for k, v in counts.items()) or "nothing to do"


def _touches(payload: dict[str, Any], path: str) -> bool:
    for commit in payload.get("commits") or []:
        for key in ("added", "modified", "removed"):
            if path in (commit.get(key) or ()):
                return True
    return False
