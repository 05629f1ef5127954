"""The daily standup digest: where the running sprint stands.

``build_standup`` is pure (backlog, live state, last digest, findings in; ``StandupDigest``
out); ``standup_now`` gathers those from a ``SlackContext``. ``bot.slack.announce.post_standup``
posts it with its burndown chart and remembers what was done, so that tomorrow's digest can
say what moved to done since.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, tzinfo
from typing import Any

from backlog.errors import ConfigurationError
from backlog.model import Backlog, Sprint
from bot.digests.context import SlackContext
from bot.digests.reports import BlockedItem, Blocker, NotReadyStory, StandupDigest
from bot.digests.sprint_state import (
    LiveIssue,
    SprintItem,
    SprintProgress,
    Status,
    current_sprint_number,
    live_issues,
    sprint_calendar,
    sprint_progress,
    story_name,
)
from sync.state.slack import DigestPost, last_digest

KIND = "standup"
READY_PREFIXES = ("dor.", "invest.")


def build_standup(
    backlog: Backlog,
    progress: SprintProgress,
    live: Mapping[str, LiveIssue],
    *,
    last: DigestPost | None,
    findings: Iterable[Any],
    zone: tzinfo = UTC,
) -> StandupDigest:
    """The digest of ``progress`` (findings are ``rules.base.Finding`` of the next sprint)."""
    items = sorted(progress.items, key=lambda item: item.story_id)
    already_done = set(last.done_ids) if last is not None else set()
    moved = tuple(i for i in items if i.status is Status.done and i.story_id not in already_done)
    in_progress = tuple(i for i in items if i.status is Status.in_progress)
    blocked = tuple(_blocked(backlog, live, items))
    next_sprint = next((s for s in backlog.sprints if s.number == progress.sprint.number + 1), None)
    not_ready = _not_ready(backlog, live, next_sprint, findings) if next_sprint else ()
    since = last.posted_at.replace(tzinfo=UTC).astimezone(zone) if last is not None else None
    return StandupDigest(progress, since, moved, in_progress, blocked, next_sprint, not_ready)


def _blocked(
    backlog: Backlog, live: Mapping[str, LiveIssue], items: Sequence[SprintItem]
) -> Iterable[BlockedItem]:
    stories = backlog.stories_by_id()
    for item in items:
        if item.status is Status.done:
            continue
        blockers = []
        for dep in item.depends_on:
            issue = live.get(dep)
            status = issue.status if issue else Status.todo
            if status is Status.done or (dep not in stories and issue is None):
                continue
            title = story_name(stories[dep]) if dep in stories else dep
            blockers.append(Blocker(dep, title, status, issue.urls if issue else ()))
        if blockers:
            yield BlockedItem(item, tuple(blockers))


def _not_ready(
    backlog: Backlog,
    live: Mapping[str, LiveIssue],
    sprint: Sprint,
    findings: Iterable[Any],
) -> tuple[NotReadyStory, ...]:
    rules_by_story: dict[str, list[str]] = {}
    for finding in findings:
        if str(finding.severity) in ("error", "warning") and finding.rule.startswith(
            READY_PREFIXES
        ):
            rules_by_story.setdefault(finding.item, []).append(finding.rule)
    stories = backlog.stories_by_id()
    result = []
    for story_id in dict.fromkeys(c.story_id for c in sprint.committed if not c.continued):
        rules = rules_by_story.get(story_id)
        if not rules:
            continue
        story = stories.get(story_id)
        issue = live.get(story_id)
        result.append(
            NotReadyStory(
                story_id,
                story_name(story) if story else story_id,
                issue.urls if issue else (),
                tuple(dict.fromkeys(rules)),
            )
        )
    return tuple(result)


# --- gathering ------------------------------------------------------------------------


def resolve_sprint(ctx: SlackContext, requested: str | None = None) -> int | None:
    """The sprint a command or job talks about: ``requested`` ("3", "sprint-3"), else today's."""
    backlog = ctx.backlog()
    if requested:
        digits = "".join(ch for ch in requested if ch.isdigit())
        number = int(digits) if digits else None
        known = {s.number for s in backlog.sprints}
        return number if number in known else None
    calendar = sprint_calendar(backlog, ctx.config.calendar, ctx.links())
    return current_sprint_number(calendar, ctx.today())


def progress_now(ctx: SlackContext, sprint_number: int) -> SprintProgress:
    backlog = ctx.backlog()
    links = ctx.links()
    live = live_issues(links, prefer=ctx.config.status_source)
    calendar = sprint_calendar(backlog, ctx.config.calendar, links)
    return sprint_progress(backlog, sprint_number, live, calendar, ctx.today(), ctx.zone)


def standup_now(ctx: SlackContext, sprint_number: int | None = None) -> StandupDigest:
    """Today's digest of the running sprint (or ``sprint_number``)."""
    from rules.config import load_rules_config
    from rules.runner import run_rules

    backlog = ctx.backlog()
    number = sprint_number if sprint_number is not None else resolve_sprint(ctx)
    if number is None:
        raise ConfigurationError(
            f"no sprint is running on {ctx.today()}: set [calendar] sprint1_start in "
            "backlog-bot.toml, or name the sprint (digest standup --sprint 2)"
        )
    links = ctx.links()
    live = live_issues(links, prefer=ctx.config.status_source)
    calendar = sprint_calendar(backlog, ctx.config.calendar, links)
    progress = sprint_progress(backlog, number, live, calendar, ctx.today(), ctx.zone)
    next_ids = {c.story_id for s in backlog.sprints if s.number == number + 1 for c in s.committed}
    findings = run_rules(backlog, load_rules_config(), only_items=set(next_ids)) if next_ids else []
    last = last_digest(ctx.engine, KIND, number)
    return build_standup(backlog, progress, live, last=last, findings=findings, zone=ctx.zone)


def prewarm() -> None:
    """Import what a digest needs (matplotlib, the rules) so the first digest is fast."""
    from bot.digests.burndown import prewarm as prewarm_chart
    from rules.registry import load_rules

    load_rules()
    prewarm_chart()
