"""Webhook-triggered validation of live issues: DoR/INVEST while open, DoD when done.

A webhook is only a hint that an issue changed. The validator re-reads the issue from its
tracker, maps it back to its backlog story (the hidden id marker, else ``SyncLink``), and runs
the rules on the *current* state: the Definition of Ready and INVEST while the issue is open
(created, edited, moved into a sprint or to a ready status), the Definition of Done (with the
linked pull requests, reviews, checks, sub-tasks and acceptance checklist) once it is done.

It reports where people look — ONE bot comment per issue, in the tracker's own markup
(``bot.validation.report_text``), found again by its marker (a hidden HTML comment on GitHub,
a comment property on Jira) and edited in place, and a ``dor:failed`` / ``dod:failed`` label
set and cleared — and, for rules listed under ``enforce``, reopens a done issue, or moves an
unready one back out of the sprint (milestone) or ready status it was just moved into, with the
explanation in the same comment.
Echo suppression: events sent by the bot's own account are ignored, and the report carries a
hash of its findings, so an unchanged result writes nothing at all (no comment edit, no label
call); a move back is never itself a move into a sprint or ready status, so it cannot loop.

Configuration (``[validation]`` in backlog-bot.toml, all optional)::

    bot-logins = ["backlog-bot[bot]"]   # our own actor(s): their events are echoes
    dor-rules = ["dor", "invest"]       # rule id prefixes checked while open
    dod-rules = ["dod"]                 # ... and when done
    fail-on = "warning"                 # lowest severity that fails (error|warning|info)
    enforce = ["dod.reviewed", "dor.estimated"]  # failing these reopens / moves back
    ready-statuses = ["Ready", "Selected for Development", "In Progress"]  # commitments
    backlog-path = "docs/backlog.md"    # the backlog in the repository (default BACKLOG_FILE)
    apply-on-push = false               # push to the default branch: validate, plan, apply
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from backlog.errors import ConfigurationError
from backlog.model import Backlog
from rules.base import Finding, Severity, matches_prefix
from rules.live import LiveIssue
from sync.issue_text import CHECK_LABELS

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.service.metrics import Metrics
    from rules.config import RulesConfig

log = logging.getLogger(__name__)
LABELS = CHECK_LABELS


@dataclass(frozen=True)
class ValidationConfig:
    bot_logins: tuple[str, ...] = ()
    dor_rules: tuple[str, ...] = ("dor", "invest")
    dod_rules: tuple[str, ...] = ("dod",)
    fail_on: Severity = Severity.warning
    enforce: tuple[str, ...] = ()
    ready_statuses: tuple[str, ...] = ("Ready", "Selected for Development", "In Progress")
    backlog_path: str = ""  # the backlog file's path in the repository (default BACKLOG_FILE)
    apply_on_push: bool = False  # a push to the default branch also applies the plan

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> ValidationConfig:
        data = {str(k).replace("-", "_"): v for k, v in table.items()}
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigurationError(
                f"[validation] unknown key(s) {', '.join(unknown)}; known: "
                + ", ".join(sorted(k.replace("_", "-") for k in known))
            )
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key == "fail_on":
                try:
                    values[key] = Severity(str(value))
                except ValueError as exc:
                    raise ConfigurationError(
                        f"[validation] fail-on = {value!r}: use error, warning or info"
                    ) from exc
            elif key == "apply_on_push":
                if not isinstance(value, bool):
                    raise ConfigurationError("[validation] apply-on-push: true or false")
                values[key] = value
            elif key == "backlog_path":
                values[key] = str(value)
            elif isinstance(value, str | list | tuple):
                values[key] = (value,) if isinstance(value, str) else tuple(map(str, value))
            else:
                raise ConfigurationError(f"[validation] {key.replace('_', '-')}: a list of text")
        return cls(**values)


@dataclass(frozen=True)
class IssueState:
    """An issue as re-read from its tracker at validation time."""

    tracker: str  # github | jira
    ref: str  # what the tracker needs to find it again: "12" or "BSS-7"
    key: str  # what people call it: "#12" or "BSS-7"
    url: str
    title: str
    story_id: str | None
    done: bool
    labels: tuple[str, ...] = ()
    points: float | None = None
    status: str = ""
    sprint: str = ""  # the sprint id (Jira) or milestone number (GitHub) it is in now


@dataclass(frozen=True)
class Move:
    """What a delivery says was just done to an issue, for enforcing the Definition of Ready.

    ``field``: ``status``, ``sprint`` (Jira) or ``milestone`` (GitHub). ``after`` is where it
    went, as the re-read issue must still show it (status name, sprint id, milestone number);
    ``before`` / ``before_name`` where it came from (the changelog's ``from`` / ``fromString``).
    """

    field: str
    after: str
    after_name: str = ""
    before: str | None = None
    before_name: str | None = None
    board: tuple[str, str, str] | None = None  # GitHub: (project, item, field) node ids


@dataclass(frozen=True)
class Report:
    kind: str  # dor | dod
    findings: tuple[Finding, ...]
    failed: bool
    enforced: tuple[Finding, ...] = ()
    action: str = ""  # what enforcement just did ("removed from milestone ...")

    @property
    def digest(self) -> str:
        text = "\n".join(f"{f.rule}|{f.severity}|{f.message}" for f in self.findings)
        return hashlib.sha256(f"{self.kind}\n{self.failed}\n{text}".encode()).hexdigest()[:16]


class Tracker(Protocol):
    """What the validator needs from Jira or GitHub (``bot.validation.github`` etc.)."""

    name: str

    def read(self, ref: str) -> IssueState | None: ...

    def live_issue(self, state: IssueState) -> LiveIssue: ...

    def find_report(self, ref: str) -> tuple[str, str | None] | None:
        """The bot's report comment on ``ref``: its id and the stamp it was written with."""
        ...

    def render_report(self, report: Report, state: IssueState, item: str, stamp: str) -> str:
        """The comment text in the tracker's own markup (Markdown, Jira wiki markup)."""
        ...

    def write_report(self, ref: str, comment_id: str | None, body: str, stamp: str) -> None:
        """Add (``comment_id`` None) or edit the report, remembering ``stamp`` with it."""
        ...

    def set_labels(self, ref: str, labels: Sequence[str]) -> None: ...

    def reopen(self, state: IssueState) -> None: ...

    def move_back(self, state: IssueState, move: Move) -> str | None:
        """Undo ``move`` if the re-read ``state`` still shows it; say what was done."""
        ...


@dataclass
class Outcome:
    """What one validation did (for logs, metrics and tests)."""

    issue: str
    kind: str | None = None
    story_id: str | None = None
    failed: bool = False
    writes: list[str] = field(default_factory=list)
    skipped: str | None = None


class Validator:
    """Runs the rules on one re-read issue and reports on it; safe to call repeatedly."""

    def __init__(
        self,
        backlog: Callable[[], Backlog],
        config: ValidationConfig,
        *,
        rules_config: RulesConfig | None = None,
        story_for: Callable[[str, IssueState], str | None] | None = None,
        metrics: Metrics | None = None,
        guard: Callable[[str], AbstractContextManager[None]] | None = None,
    ) -> None:
        self.backlog = backlog
        self.config = config
        self.rules_config = rules_config
        self.story_for = story_for or (lambda tracker, state: None)
        self.metrics = metrics
        self.guard = guard or (lambda key: nullcontext())

    def validate(
        self, tracker: Tracker, ref: str, *, only_if_done: bool = False, move: Move | None = None
    ) -> Outcome:
        """Re-read ``ref``, check it (DoR/INVEST if open, DoD if done) and report.

        ``only_if_done``: a pull request, review or check changed; only a done issue's
        Definition of Done can change with it. ``move``: the delivery moved the issue into a
        sprint or a status; undone when it fails an enforced Definition-of-Ready rule.
        The whole read-check-report runs under ``guard`` for the issue (``IssueLocks`` in the
        service), so two replicas never both find "no bot comment" and both create one.
        """
        with self.guard(f"{tracker.name}:{ref}"):
            return self._validate(tracker, ref, only_if_done=only_if_done, move=move)

    def _validate(
        self, tracker: Tracker, ref: str, *, only_if_done: bool, move: Move | None
    ) -> Outcome:
        state = tracker.read(ref)
        if state is None:
            return Outcome(ref, skipped="issue not found")
        if only_if_done and not state.done:
            return Outcome(state.key, skipped="not done")
        story_id = state.story_id or self.story_for(tracker.name, state)
        outcome = Outcome(state.key, story_id=story_id)
        backlog = self.backlog()
        if story_id is None or not any(s.id == story_id for e in backlog.epics for s in e.stories):
            outcome.skipped = "not a story of the backlog"
            return outcome
        kind = "dod" if state.done else "dor"
        outcome.kind = kind
        report = self.check(backlog, kind, story_id, state, tracker)
        outcome.failed = report.failed
        if kind == "dor" and report.failed and report.enforced and self.is_commitment(move):
            assert move is not None
            action = tracker.move_back(state, move)
            if action:
                report = replace(report, action=action)
                outcome.writes.append("move-back")
        self._publish(tracker, state, report, outcome)
        if report.failed and report.enforced and kind == "dod":
            tracker.reopen(state)
            outcome.writes.append("reopen")
        return outcome

    def is_commitment(self, move: Move | None) -> bool:
        """Moved into a sprint/milestone, or from another status to one of ``ready-statuses``."""
        if move is None or not move.after:
            return False
        if move.field == "status":
            # from one ready status to another is no new commitment (nor is a move back)
            ready = {s.casefold() for s in self.config.ready_statuses}
            into = (move.after_name or move.after).casefold() in ready
            return into and (move.before_name or "").casefold() not in ready
        return move.field in ("sprint", "milestone")

    def check(
        self, backlog: Backlog, kind: str, story_id: str, state: IssueState, tracker: Tracker
    ) -> Report:
        from rules.config import RulesConfig
        from rules.runner import run_rules

        base = self.rules_config or RulesConfig()
        prefixes = self.config.dod_rules if kind == "dod" else self.config.dor_rules
        config = _with_select(base, prefixes)
        live: list[LiveIssue] = []
        items = {story_id}
        if kind == "dod":
            issue = tracker.live_issue(state)
            live.append(issue)
            items.add(issue.item)
        else:
            backlog = _with_live_points(backlog, story_id, state.points)
        findings = tuple(run_rules(backlog, config, live, only_items=items))
        if self.metrics is not None:
            self.metrics.record_findings(findings)
        failing = tuple(f for f in findings if f.severity.rank <= self.config.fail_on.rank)
        enforced = tuple(f for f in failing if matches_prefix(f.rule, self.config.enforce))
        return Report(kind, findings, bool(failing), enforced)

    def _publish(
        self, tracker: Tracker, state: IssueState, report: Report, outcome: Outcome
    ) -> None:
        found = tracker.find_report(state.ref)
        previous = found[1] if found else None
        stamp = f"{report.kind}:{report.digest}"
        if found is None and not report.failed:
            pass  # a passing issue that never failed gets no comment
        elif report.kind == "dor" and not report.failed and (previous or "").startswith("dod:"):
            pass  # a reopened issue keeps its Definition-of-Done report until DoD passes
        elif previous != stamp or report.action:
            body = tracker.render_report(report, state, outcome.story_id or state.key, stamp)
            tracker.write_report(state.ref, found[0] if found else None, body, stamp)
            outcome.writes.append("comment-edit" if found else "comment")
        labels = set(state.labels)
        wanted = set(labels)
        label = LABELS[report.kind]
        (wanted.add if report.failed else wanted.discard)(label)
        if report.kind == "dod":
            wanted.discard(LABELS["dor"])  # readiness no longer matters once done
        if wanted != labels:
            tracker.set_labels(state.ref, sorted(wanted))
            outcome.writes.append("labels")


def _with_select(base: Any, prefixes: Sequence[str]) -> Any:
    return replace(base, select=tuple(prefixes))


def _with_live_points(backlog: Backlog, story_id: str, points: float | None) -> Backlog:
    """The tracker owns the estimate once synced: check the story with its live points."""
    if points is None:
        return backlog
    epics = []
    for epic in backlog.epics:
        stories = tuple(
            s.replace(points=int(points), points_raw=str(int(points))) if s.id == story_id else s
            for s in epic.stories
        )
        epics.append(epic.replace(stories=stories))
    return backlog.replace(epics=tuple(epics))


class LinkIndex:
    """Maps a tracker's issue back to its backlog story through the ``sync_link`` rows."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def story_for(self, tracker: str, state: IssueState) -> str | None:
        from sqlmodel import Session, select

        from sync.state.tables import SyncLink

        with Session(self.engine) as session:
            row = session.exec(
                select(SyncLink).where(
                    SyncLink.target == tracker,
                    SyncLink.kind == "story",
                    SyncLink.remote_key == state.key,
                )
            ).first()
            return row.backlog_id if row is not None else None

    def number_for_node(self, node_id: str | None) -> int | None:
        """The GitHub issue number of a board item's issue, by the issue's node id: one
        indexed lookup (``sync_link.remote_node_id``), whatever the number of links."""
        from sqlmodel import Session, col, select

        from sync.state.tables import SyncLink

        if not node_id:
            return None
        with Session(self.engine) as session:
            row = session.exec(
                select(SyncLink).where(
                    SyncLink.target == "github",
                    col(SyncLink.remote_node_id) == node_id,
                    col(SyncLink.kind).in_(("epic", "story", "task", "subtask")),
                )
            ).first()
        number = (row.extra or {}).get("number") if row is not None else None
        return int(number) if number is not None else None


class BacklogCache:
    """The backlog file, parsed again only when it changed on disk."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._stamp: tuple[float, int] | None = None
        self._backlog: Backlog | None = None

    def __call__(self) -> Backlog:
        from backlog.parse import load_backlog

        stat = self.path.stat()
        stamp = (stat.st_mtime, stat.st_size)
        if self._backlog is None or stamp != self._stamp:
            self._backlog, self._stamp = load_backlog(self.path), stamp
        return self._backlog
