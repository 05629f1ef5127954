"""GitHub side of webhook-triggered validation: the tracker and the webhook handlers.

Triggers (``issues`` events of the configured repository; other repositories are ignored):
opened / edited / reopened / milestoned (moved into a sprint) -> Definition of Ready and
INVEST, with the Story Points the Projects v2 board holds now (GraphQL); closed -> Definition
of Done. ``projects_v2_item`` edits (Status column, Sprint, Iteration or Story Points
field) re-check the board item's issue. ``pull_request`` closed, a submitted review or a
completed check re-check the issues the pull request closes, if already done.
Enforcement (rules under ``enforce``): an unready issue just given a milestone loses it again;
a card just moved to one of the ``ready-statuses`` goes back to the Status column it came from
(``changes.field_value.from``) — only if the re-read issue still shows the move.
``labeled``/``unlabeled``/comment events are never triggers (they are what the bot writes).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from bot.service.deferral import LONGEST_WAIT_SECONDS
from bot.service.inbox import Delivery
from bot.validation.report_text import is_markdown_report, markdown, markdown_stamp
from bot.validation.validator import (
    IssueState,
    LinkIndex,
    Move,
    Report,
    ValidationConfig,
    Validator,
)
from rules.live import ChecklistEntry, CheckRun, LiveIssue, LiveSubtask, PullRequestSnapshot
from sync.github.graphql import GitHubProjectsClient
from sync.github.live import CLOSING_RE, GitHubLiveAdapter
from sync.github.mapping import FIELD_POINTS, FIELD_STATUS
from sync.state.inbox import IGNORED

ISSUE_ACTIONS = ("opened", "edited", "reopened", "closed", "milestoned", "demilestoned")
BOARD_FIELDS = ("status", "sprint", "iteration", "story points")  # what DoR reads
CHECKBOX_RE = re.compile(r"^\s*[-*]\s+\[([ xX])\]\s+(.+?)\s*$", re.M)
COVERAGE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*%")
OWN_CHECK = "backlog-bot"
log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.service.metrics import Metrics
    from bot.service.worker import HandlerRegistry
    from bot.settings import Settings


class GitHubTracker:
    """Reads issues and writes reports through ``GitHubLiveAdapter``."""

    name = "github"

    def __init__(
        self,
        adapter: GitHubLiveAdapter,
        *,
        projects: Callable[[], GitHubProjectsClient] | None = None,
        project_title: str | None = None,
    ) -> None:
        self.adapter = adapter
        self._projects_factory = projects if project_title else None
        self._projects: GitHubProjectsClient | None = None
        self.project_title = project_title or ""

    def close(self) -> None:
        self.adapter.close()
        if self._projects is not None:
            self._projects.close()

    def points(self, number: int) -> float | None:
        """The Story Points the board holds now (``None``: no board configured, no value)."""
        if self._projects_factory is None:
            return None
        if self._projects is None:
            self._projects = self._projects_factory()
        return self._projects.issue_number_value(number, FIELD_POINTS, self.project_title)

    def read(self, ref: str) -> IssueState | None:
        from backlog.errors import NotFoundError

        try:
            issue = self.adapter.get_issue(int(ref))
        except NotFoundError:
            return None
        if issue is None:
            return None
        return IssueState(
            tracker=self.name, ref=str(issue.number), key=f"#{issue.number}", url=issue.url,
            title=issue.title, story_id=issue.backlog_id, done=issue.state == "closed",
            labels=issue.labels, status=issue.state,
            sprint=str(issue.milestone) if issue.milestone is not None else "",
            points=None if issue.state == "closed" else self.points(issue.number),
        )  # fmt: skip

    def live_issue(self, state: IssueState) -> LiveIssue:
        number = int(state.ref)
        issue = self.adapter.get_issue(number)
        body = issue.body if issue is not None else ""
        pulls = tuple(self._pull(n) for n in self.adapter.linked_pull_numbers(number))
        subtasks = tuple(
            LiveSubtask(f"#{s['number']}", s["title"], s["state"] == "closed")
            for s in self.adapter.sub_issues(number)
        )
        checklist = tuple(
            ChecklistEntry(text.strip(), mark.lower() == "x")
            for mark, text in CHECKBOX_RE.findall(body)
        )
        return LiveIssue(
            key=state.key, story_id=state.story_id, title=state.title, url=state.url,
            status=state.status, done=state.done, pull_requests=pulls, subtasks=subtasks,
            checklist=checklist,
        )  # fmt: skip

    def _pull(self, number: int) -> PullRequestSnapshot:
        pull = self.adapter.pull_request(number)
        latest: dict[str, str] = {}
        for review in self.adapter.pull_reviews(number):
            login = (review.get("user") or {}).get("login", "?")
            if review.get("state") in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                latest[login] = review["state"]
        runs = [
            r for r in self.adapter.check_runs(pull["head"]["sha"])
            if not str(r.get("name", "")).startswith(OWN_CHECK)
        ]  # fmt: skip
        return PullRequestSnapshot(
            number=number,
            url=str(pull.get("html_url") or ""),
            merged=bool(pull.get("merged") or pull.get("merged_at")),
            state="closed" if pull.get("state") == "closed" else "open",
            approvals=sum(1 for s in latest.values() if s == "APPROVED"),
            changes_requested=sum(1 for s in latest.values() if s == "CHANGES_REQUESTED"),
            checks=tuple(
                CheckRun(str(r["name"]), r.get("status") or "completed", r.get("conclusion"))
                for r in runs
            ),
            coverage_pct=_coverage(runs),
        )

    def find_report(self, ref: str) -> tuple[str, str | None] | None:
        for comment in self.adapter.list_comments(int(ref)):
            if is_markdown_report(comment.get("body")):
                return str(comment["id"]), markdown_stamp(comment.get("body"))
        return None

    def render_report(self, report: Report, state: IssueState, item: str, stamp: str) -> str:
        return markdown(report, state, item, stamp)

    def write_report(self, ref: str, comment_id: str | None, body: str, stamp: str) -> None:
        if comment_id is None:
            self.adapter.create_comment(int(ref), body)
        else:
            self.adapter.edit_comment(int(comment_id), body)

    def set_labels(self, ref: str, labels: Sequence[str]) -> None:
        self.adapter.update_issue(int(ref), {"labels": list(labels)})

    def reopen(self, state: IssueState) -> None:
        self.adapter.update_issue(int(state.ref), {"state": "open"})

    def move_back(self, state: IssueState, move: Move) -> str | None:
        """Take away the milestone the issue was just given, or put its card back in the
        Status column it came from — if the re-read issue still shows the move."""
        if move.field == "milestone" and state.sprint == move.after:
            self.adapter.update_issue(int(state.ref), {"milestone": None})
            return f"milestone {move.after_name or move.after} removed"
        if move.field == "status" and move.board is not None and self._projects_factory:
            project, item, field = move.board
            if self._projects is None:
                self._projects = self._projects_factory()
            current = self._projects.item_field_value(item, FIELD_STATUS)
            if str(current or "").casefold() != move.after.casefold():
                return None  # moved again since: the newer delivery decides
            value = {"singleSelectOptionId": move.before} if move.before else None
            self._projects.set_values(project, [(item, field, value)])
            return f"Status {move.after} back to {move.before_name or 'no status'}"
        return None


def _coverage(runs: list[dict[str, Any]]) -> float | None:
    """Coverage as a check named ``coverage`` reports it in its output title or summary."""
    for run in runs:
        if "coverage" in str(run.get("name", "")).lower():
            output = run.get("output") or {}
            found = COVERAGE_RE.search(f"{output.get('title') or ''} {output.get('summary') or ''}")
            if found:
                return float(found.group(1))
    return None


def issue_refs(delivery: Delivery, config: ValidationConfig, links: LinkIndex) -> list[str]:
    """The issue numbers a GitHub delivery asks to re-check (empty: not a trigger)."""
    payload = delivery.payload
    sender = (payload.get("sender") or {}).get("login")
    if sender and sender in config.bot_logins:
        return []  # our own change coming back
    if delivery.event == "issues" and delivery.action in ISSUE_ACTIONS:
        issue = payload.get("issue") or {}
        if "pull_request" in issue or issue.get("number") is None:
            return []
        return [str(issue["number"])]
    if delivery.event == "projects_v2_item" and delivery.action == "edited":
        change = (payload.get("changes") or {}).get("field_value") or {}
        name = str(change.get("field_name") or "").casefold()
        if name and name not in BOARD_FIELDS:
            return []  # (older payloads name no field: any board edit is a hint)
        item = payload.get("projects_v2_item") or {}
        number = links.number_for_node(item.get("content_node_id"))
        return [str(number)] if number is not None else []
    if delivery.event in ("pull_request", "pull_request_review"):
        if delivery.event == "pull_request" and delivery.action != "closed":
            return []
        body = (payload.get("pull_request") or {}).get("body") or ""
        return sorted(set(CLOSING_RE.findall(body)))
    return []


def delivered_move(delivery: Delivery) -> Move | None:
    """``issues`` ``milestoned`` (moved into a sprint) or a card's Status column changed."""
    if delivery.event == "projects_v2_item" and delivery.action == "edited":
        return _status_move(delivery.payload)
    if delivery.event != "issues" or delivery.action != "milestoned":
        return None
    milestone = delivery.payload.get("milestone") or {}
    if milestone.get("number") is None:
        return None
    return Move("milestone", str(milestone["number"]), str(milestone.get("title") or ""))


def _status_move(payload: dict[str, Any]) -> Move | None:
    change = (payload.get("changes") or {}).get("field_value") or {}
    if str(change.get("field_name") or "").casefold() != FIELD_STATUS.casefold():
        return None
    before, after = change.get("from"), change.get("to")
    if not isinstance(after, dict) or not after.get("name"):
        return None
    item = payload.get("projects_v2_item") or {}
    ids = (item.get("project_node_id"), item.get("node_id"), change.get("field_node_id"))
    if not all(ids):
        return None
    before = before if isinstance(before, dict) else {}
    return Move(
        "status", str(after["name"]), str(after["name"]),
        before.get("id"), before.get("name"), board=(str(ids[0]), str(ids[1]), str(ids[2])),
    )  # fmt: skip


class GitHubValidation:
    """The webhook handler: GitHub deliveries -> ``Validator`` runs on the issues they name."""

    def __init__(
        self,
        validator: Validator,
        tracker_factory: TrackerFactory,
        repository: str,
        links: LinkIndex,
    ) -> None:
        self.validator = validator
        self.tracker_factory = tracker_factory
        self.repository = repository
        self.links = links

    def __call__(self, delivery: Delivery) -> str | None:
        repo = ((delivery.payload.get("repository") or {}).get("full_name") or "").lower()
        if delivery.event != "projects_v2_item" and repo != self.repository.lower():
            return IGNORED  # another repository's hook
        refs = issue_refs(delivery, self.validator.config, self.links)
        if delivery.event == "check_run":
            refs = self._refs_for_check(delivery)
        if not refs:
            return IGNORED
        only_if_done = delivery.event != "issues" and delivery.event != "projects_v2_item"
        move = delivered_move(delivery)
        tracker = self.tracker_factory()
        try:
            for ref in refs:
                outcome = self.validator.validate(
                    tracker, ref, only_if_done=only_if_done, move=move
                )
                log.info(
                    "validated",
                    extra={
                        "issue": outcome.issue,
                        "story": outcome.story_id,
                        "kind": outcome.kind,
                        "failed": outcome.failed,
                        "writes": outcome.writes,
                        "skipped": outcome.skipped,
                    },
                )
        finally:
            tracker.close()
        return None

    def _refs_for_check(self, delivery: Delivery) -> list[str]:
        run = delivery.payload.get("check_run") or {}
        if str(run.get("name", "")).startswith(OWN_CHECK) or delivery.action != "completed":
            return []
        refs: set[str] = set()
        tracker = self.tracker_factory()
        try:
            for pull in run.get("pull_requests") or []:
                data = tracker.adapter.pull_request(int(pull["number"]))
                refs.update(CLOSING_RE.findall(data.get("body") or ""))
        finally:
            tracker.close()
        return sorted(refs)


def register_github_validation(
    registry: HandlerRegistry,
    settings: Settings,
    engine: Engine,
    config: ValidationConfig,
    *,
    metrics: Metrics | None = None,
) -> Validator:
    """Add the GitHub validation handler to ``registry`` (needs GITHUB_TOKEN/REPOSITORY)."""
    from bot.service.issue_locks import issue_guard
    from bot.validation.backlog_check import BacklogCheck, configured_targets
    from bot.validation.validator import BacklogCache
    from rules.config import load_rules_config

    links = LinkIndex(engine)
    validator = Validator(
        BacklogCache(settings.backlog_file), config, rules_config=load_rules_config(),
        story_for=links.story_for, metrics=metrics, guard=issue_guard(engine, settings),
    )  # fmt: skip
    tracker = github_tracker_factory(settings)
    handler = GitHubValidation(validator, tracker, str(settings.github_repository), links)
    check = BacklogCheck(
        settings,
        config,
        lambda: tracker().adapter,
        targets=lambda: configured_targets(settings, engine),
    )
    registry.add("github", "push", check)
    registry.add("github", "pull_request", check)
    for event in ("issues", "projects_v2_item", "pull_request", "pull_request_review", "check_run"):
        registry.add("github", event, handler)
    return validator


TrackerFactory = Callable[[], GitHubTracker]


def github_tracker_factory(settings: Settings) -> TrackerFactory:
    """A function making a fresh ``GitHubTracker`` (one HTTP session per delivery)."""
    from bot.github_credentials import github_credential, has_github_credentials

    if not has_github_credentials(settings) or not settings.github_repository:
        from backlog.errors import ConfigurationError

        raise ConfigurationError(
            "GitHub validation needs GITHUB_TOKEN (or a GitHub App) and GITHUB_REPOSITORY"
        )
    token = github_credential(settings)  # one App token source for every delivery
    repository = settings.github_repository

    from sync.github.limits import PacingPolicy

    def tracker() -> GitHubTracker:
        adapter = GitHubLiveAdapter(
            api_url=settings.github_api_url,
            token=token,
            repository=repository,
            # never sleep through a spent limit (the reset can be an hour away): defer
            pacing=PacingPolicy(max_wait=LONGEST_WAIT_SECONDS),
        )

        def projects() -> GitHubProjectsClient:
            return GitHubProjectsClient(
                api_url=settings.github_api_url, token=token,
                repository=repository, counter=adapter.calls,
                governor=adapter.governor,
            )  # fmt: skip

        return GitHubTracker(adapter, projects=projects, project_title=settings.github_project)

    return tracker
