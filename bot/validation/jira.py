"""Jira side of webhook-triggered validation: the tracker and the webhook handler.

Triggers: ``jira:issue_created``, and ``jira:issue_updated`` whose changelog touches anything
but labels, comments or watchers (moved into a sprint, status changed, estimate or text
edited). The issue is re-read (status category ``done`` -> Definition of Done, else Definition
of Ready / INVEST with the estimate Jira holds now). For the Definition of Done the pull
requests come from GitHub when the story is synced there too (its issue is found through
``sync_link``); sub-tasks come from Jira. Events from ``bot-logins`` (account id or display
name) are echoes; label-only changes are what the bot itself writes.

Enforcement: an issue that fails an ``enforce``d Definition-of-Ready rule right after the
changelog shows it moved into a sprint (``Sprint`` gained a value) or to one of the
``ready-statuses`` is moved back: out of the sprint to the backlog (Agile API), or transitioned
back to the changelog's ``fromString`` status; only if the re-read issue still shows the move.
Neither move back is itself a move into a sprint or ready status, so it triggers no round.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.service.deferral import LONGEST_WAIT_SECONDS
from bot.service.inbox import Delivery
from bot.validation.report_text import jira_wiki
from bot.validation.validator import (
    IssueState,
    LinkIndex,
    Move,
    Report,
    ValidationConfig,
    Validator,
)
from rules.live import LiveIssue, LiveSubtask, PullRequestSnapshot
from sync.jira.adapter import SAFE_POSTS
from sync.jira.live import JiraLiveAdapter
from sync.retry import RetryPolicy
from sync.state.inbox import IGNORED

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.service.metrics import Metrics
    from bot.service.worker import HandlerRegistry
    from bot.settings import Settings
    from bot.validation.github import TrackerFactory

REPORT_PROPERTY = "backlog-bot.report"  # the comment property that marks the bot's report
QUIET_FIELDS = {"labels", "comment", "watches", "watchers", "rank", "lastviewed"}
log = logging.getLogger(__name__)


class JiraTracker:
    """Reads issues and writes reports through ``JiraLiveAdapter``."""

    name = "jira"

    def __init__(
        self,
        adapter: JiraLiveAdapter,
        *,
        links: LinkIndex | None = None,
        github: TrackerFactory | None = None,
    ) -> None:
        self.adapter = adapter
        self.links = links
        self.github = github

    def read(self, ref: str) -> IssueState | None:
        issue = self.adapter.issue(ref)
        if issue is None:
            return None
        return IssueState(
            tracker=self.name, ref=issue.key, key=issue.key,
            url=self.adapter.config().issue_url(issue.key), title="",
            story_id=issue.backlog_id, done=issue.status_category == "done",
            labels=issue.labels, points=issue.points, status=issue.status or "",
            sprint=str(issue.sprint_id) if issue.sprint_id is not None else "",
        )  # fmt: skip

    def live_issue(self, state: IssueState) -> LiveIssue:
        subtasks = tuple(
            LiveSubtask(s.key, s.backlog_id or "", s.status_category == "done")
            for s in self.adapter.subtasks(state.ref)
        )
        pulls: tuple[PullRequestSnapshot, ...] = ()
        number = self._github_number(state.story_id)
        if number is not None and self.github is not None:
            tracker = self.github()
            try:
                pulls = tuple(tracker._pull(n) for n in tracker.adapter.linked_pull_numbers(number))
            finally:
                tracker.close()
        return LiveIssue(
            key=state.key, story_id=state.story_id, url=state.url, status=state.status,
            done=state.done, pull_requests=pulls, subtasks=subtasks,
        )  # fmt: skip

    def _github_number(self, story_id: str | None) -> int | None:
        if story_id is None or self.links is None:
            return None
        from sqlmodel import Session, select

        from sync.state.tables import SyncLink

        with Session(self.links.engine) as session:
            row = session.exec(
                select(SyncLink).where(
                    SyncLink.target == "github",
                    SyncLink.kind == "story",
                    SyncLink.backlog_id == story_id,
                )
            ).first()
        key = row.remote_key if row is not None else None
        return int(key.lstrip("#")) if key and key.lstrip("#").isdigit() else None

    def find_report(self, ref: str) -> tuple[str, str | None] | None:
        found = self.adapter.comment_with_property(ref, REPORT_PROPERTY)
        if found is None:
            return None
        value = found[1] if isinstance(found[1], dict) else {}
        stamp = value.get("stamp")
        return found[0], str(stamp) if stamp else None

    def render_report(self, report: Report, state: IssueState, item: str, stamp: str) -> str:
        return jira_wiki(report, state, item)

    def write_report(self, ref: str, comment_id: str | None, body: str, stamp: str) -> None:
        marker = {REPORT_PROPERTY: {"stamp": stamp}}
        if comment_id is None:
            self.adapter.add_comment(ref, body, marker)
        else:
            self.adapter.update_comment(ref, comment_id, body, marker)

    def set_labels(self, ref: str, labels: Sequence[str]) -> None:
        self.adapter.set_labels(ref, list(labels))

    def reopen(self, state: IssueState) -> None:
        self.adapter.reopen_issue(state.ref)

    def move_back(self, state: IssueState, move: Move) -> str | None:
        """Undo a move into a sprint or ready status the re-read issue still shows."""
        if move.field == "sprint" and state.sprint == move.after:
            self.adapter.move_to_backlog(state.ref)
            return f"removed from sprint {move.after_name or move.after}, back to the backlog"
        if move.field == "status" and move.before_name:
            if state.status.casefold() != move.after.casefold():
                return None  # moved again since: the newer delivery decides
            if self.adapter.transition_to(state.ref, move.before_name):
                return f"status {move.after} back to {move.before_name}"
        return None


def issue_key(delivery: Delivery, config: ValidationConfig) -> str | None:
    """The issue a Jira delivery asks to re-check, or ``None``."""
    payload = delivery.payload
    user = payload.get("user") or {}
    actor = {str(user.get(k)) for k in ("accountId", "displayName", "name") if user.get(k)}
    if actor & set(config.bot_logins):
        return None
    if delivery.event not in ("jira:issue_created", "jira:issue_updated"):
        return None
    if delivery.event == "jira:issue_updated":
        items = (payload.get("changelog") or {}).get("items") or []
        fields = {str(item.get("field", "")).casefold() for item in items}
        if not fields or fields <= QUIET_FIELDS:
            return None
    key = (payload.get("issue") or {}).get("key")
    return str(key) if key else None


def changelog_move(delivery: Delivery) -> Move | None:
    """The move into a sprint or a status that a ``jira:issue_updated`` changelog shows."""
    if delivery.event != "jira:issue_updated":
        return None
    items = (delivery.payload.get("changelog") or {}).get("items") or []
    for item in items:
        name = str(item.get("field", "")).casefold()
        to, to_name = item.get("to"), item.get("toString")
        if name == "sprint" and (to or to_name):
            # real Jira: ids in from/to, names in fromString/toString (ids may be a list)
            after = str(to or to_name).split(",")[-1].strip()
            return Move(
                "sprint", after, str(to_name or ""), item.get("from"), item.get("fromString")
            )
    for item in items:
        if str(item.get("field", "")).casefold() == "status" and item.get("toString"):
            return Move(
                "status", str(item["toString"]), str(item["toString"]),
                item.get("from"), item.get("fromString"),
            )  # fmt: skip
    return None


class JiraValidation:
    """The webhook handler: Jira deliveries -> ``Validator`` runs."""

    def __init__(self, validator: Validator, tracker: JiraTracker) -> None:
        self.validator = validator
        self.tracker = tracker

    def __call__(self, delivery: Delivery) -> str | None:
        key = issue_key(delivery, self.validator.config)
        if key is None:
            return IGNORED
        outcome = self.validator.validate(self.tracker, key, move=changelog_move(delivery))
        log.info(
            "validated",
            extra={"issue": outcome.issue, "story": outcome.story_id, "kind": outcome.kind,
                   "failed": outcome.failed, "writes": outcome.writes,
                   "skipped": outcome.skipped},
        )  # fmt: skip
        return None


def service_retry_policy() -> RetryPolicy:
    """The Jira retries of the service: as the CLI's, but a 429 asking for more than
    ``LONGEST_WAIT_SECONDS`` of waiting (in all) is not slept on in the worker: it raises
    ``RateLimitedError`` and the delivery is deferred to Jira's reset time."""
    return RetryPolicy(safe_post_paths=SAFE_POSTS, longest_rate_limit_wait=LONGEST_WAIT_SECONDS)


def register_jira_validation(
    registry: HandlerRegistry,
    settings: Settings,
    engine: Engine,
    config: ValidationConfig,
    github: TrackerFactory | None = None,
    *,
    metrics: Metrics | None = None,
) -> Validator:
    """Add the Jira validation handler (needs JIRA_URL and JIRA_API_TOKEN, and JIRA_EMAIL on
    Jira Cloud; Data Center authenticates with the personal access token alone)."""
    from backlog.errors import ConfigurationError
    from bot.service.issue_locks import issue_guard
    from bot.validation.validator import BacklogCache
    from rules.config import load_rules_config

    if not settings.jira_url or settings.jira_api_token is None:
        raise ConfigurationError("Jira validation needs JIRA_URL and JIRA_API_TOKEN")
    links = LinkIndex(engine)
    validator = Validator(
        BacklogCache(settings.backlog_file), config, rules_config=load_rules_config(),
        story_for=links.story_for, metrics=metrics, guard=issue_guard(engine, settings),
    )  # fmt: skip
    from bot.settings import load_config_table
    from sync.jira.flavour import deployment_choice

    adapter = JiraLiveAdapter(
        settings.jira_url, settings.jira_email or "", settings.jira_api_token.get_secret_value(),
        settings.jira_project, deployment=deployment_choice(load_config_table("jira")),
        retry=service_retry_policy(),
    )  # fmt: skip
    handler = JiraValidation(validator, JiraTracker(adapter, links=links, github=github))
    for event in ("jira:issue_created", "jira:issue_updated"):
        registry.add("jira", event, handler)
    return validator
