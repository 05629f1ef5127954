"""What ``/backlog <command>`` does, independent of Slack's transport.

``Commands.quick_reply`` answers at once what needs no work (help, unknown input, an admin
command from a non-admin, a missing argument): bolt puts that in the ``ack()``. Everything else
is ``Commands.run``, called from a lazy listener after the ack, whose reply goes to the
command's ``response_url``. ``plan`` and ``sync`` call the Jira/GitHub sync through
``SyncActions`` (built by the composition root), so this module never builds adapters.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from backlog.errors import BacklogBotError
from bot.digests.context import SlackContext
from bot.digests.reports import ReadyReport
from bot.digests.sprint_state import pts
from bot.slack import messages
from bot.slack.messages import SlackMessage
from bot.slack.post import SlackPoster

ADMIN_ONLY = frozenset({"plan", "sync"})
KNOWN = frozenset({"help", "status", "ready", "capacity", "standup", "rules", *ADMIN_ONLY})
SYNC_TARGETS = ("jira", "github")
STORY_ID = re.compile(r"^[A-Za-z]+-\d+$")


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    args: tuple[str, ...]
    raw: str

    @property
    def arg(self) -> str | None:
        return self.args[0] if self.args else None


def parse_command(text: str) -> ParsedCommand:
    words = text.strip().split()
    if not words:
        return ParsedCommand("help", (), text)
    return ParsedCommand(words[0].casefold(), tuple(words[1:]), text)


@dataclass(frozen=True)
class SyncActions:
    """The sync operations admins may run from Slack; each returns one line per target."""

    plan: Callable[[SlackContext], list[str]] | None = None
    pull: Callable[[SlackContext, Sequence[str]], list[str]] | None = None


class Commands:
    """The ``/backlog`` commands over one ``SlackContext``."""

    def __init__(
        self,
        ctx: SlackContext,
        *,
        poster: Callable[[], SlackPoster],
        actions: SyncActions | None = None,
        command_name: str = "/backlog",
    ) -> None:
        self.ctx = ctx
        self.poster = poster
        self.actions = actions or SyncActions()
        self.command_name = command_name

    # --- the fast path (inside ack) -------------------------------------------------------------

    def quick_reply(self, parsed: ParsedCommand, user_id: str) -> SlackMessage | None:
        """The whole answer when no work is needed; None when ``run`` must do the work."""
        if parsed.name == "help":
            return messages.help_message(self.command_name)
        if parsed.name not in KNOWN:
            return messages.help_message(self.command_name, unknown=parsed.raw.strip())
        if parsed.name in ADMIN_ONLY and not self.ctx.is_admin(user_id):
            return messages.refusal_message(parsed.name, self.ctx.config.admins)
        if parsed.name == "ready" and (not parsed.arg or not STORY_ID.match(parsed.arg)):
            return messages.usage_message("ready US-001", "Which story? Give its id.")
        if parsed.name == "sync" and parsed.arg and parsed.arg.casefold() not in SYNC_TARGETS:
            return messages.usage_message("sync [jira|github]", f"I can't sync {parsed.arg!r}.")
        return None

    def working(self, parsed: ParsedCommand) -> SlackMessage:
        return messages.working_message(f"/backlog {parsed.name}")

    # --- the slow path (lazy listener) ----------------------------------------------------------

    def run(self, parsed: ParsedCommand, user_id: str) -> SlackMessage:
        """Do the work of a command that ``quick_reply`` did not answer."""
        quick = self.quick_reply(parsed, user_id)
        if quick is not None:
            return quick
        handler = getattr(self, f"_run_{parsed.name}")
        try:
            result: SlackMessage = handler(parsed)
        except BacklogBotError as exc:
            return messages.error_message(exc)
        return result

    def _run_status(self, parsed: ParsedCommand) -> SlackMessage:
        from bot.digests.standup import progress_now, resolve_sprint

        number = resolve_sprint(self.ctx, parsed.arg)
        if number is None:
            return messages.no_sprint_message(parsed.arg)
        return messages.status_message(progress_now(self.ctx, number))

    def _run_ready(self, parsed: ParsedCommand) -> SlackMessage:
        report = self.ready_report(str(parsed.arg).upper())
        if report is None:
            return messages.unknown_story_message(str(parsed.arg))
        return messages.ready_message(report)

    def ready_report(self, story_id: str) -> ReadyReport | None:
        """DoR and INVEST findings of one story, with what the trackers say about it."""
        from bot.digests.sprint_state import live_issues, story_name
        from bot.digests.standup import READY_PREFIXES
        from rules.config import load_rules_config
        from rules.runner import run_rules

        backlog = self.ctx.backlog()
        story = backlog.story(story_id)
        if story is None:
            return None
        findings = tuple(
            f
            for f in run_rules(backlog, load_rules_config(), only_items={story_id})
            if f.rule.startswith(READY_PREFIXES) and f.item == story_id
        )
        live = live_issues(self.ctx.links(), prefer=self.ctx.config.status_source).get(story_id)
        sprint = backlog.sprint_of().get(story_id)
        where = " · ".join(
            part
            for part in (
                f"{pts(story.points)} pts" if story.points is not None else "no points",
                f"priority {story.priority}" if story.priority else "no priority",
                f"planned in sprint {sprint}" if sprint else "not planned in a sprint",
            )
        )
        live_line = ""
        if live is not None:
            parts = [f"Live: {live.status_raw or 'no status'}"]
            if live.assignee:
                parts.append(live.assignee)
            if live.points is not None and live.points != story.points:
                parts.append(
                    f"{pts(live.points)} pts in the tracker (backlog says {pts(story.points)})"
                )
            if live.sprint:
                number = live.sprint_number
                parts.append(f"sprint {number}" if number is not None else live.sprint)
            live_line = " · ".join(parts)
        return ReadyReport(
            story_id, story_name(story), live.urls if live else (), where, live_line, findings
        )

    def _run_capacity(self, parsed: ParsedCommand) -> SlackMessage:
        from bot.digests.alerts import with_live_sprints
        from bot.digests.sprint_state import live_issues
        from rules.capacity import sprint_loads
        from rules.context import RuleContext

        backlog = self.ctx.backlog()
        live = live_issues(self.ctx.links(), prefer=self.ctx.config.status_source)
        loads = sprint_loads(RuleContext(with_live_sprints(backlog, live)))
        if parsed.arg:
            from bot.digests.standup import resolve_sprint

            number = resolve_sprint(self.ctx, parsed.arg)
            if number is None:
                return messages.no_sprint_message(parsed.arg)
            loads = [load for load in loads if load.sprint.number == number]
        return messages.capacity_message(loads, self.ctx.config.warn_pct)

    def _run_standup(self, parsed: ParsedCommand) -> SlackMessage:
        from bot.digests.standup import resolve_sprint, standup_now
        from bot.slack.announce import post_standup

        number = resolve_sprint(self.ctx, parsed.arg) if parsed.arg else None
        if parsed.arg and number is None:
            return messages.no_sprint_message(parsed.arg)
        poster = self.poster()
        post_standup(self.ctx, poster, standup_now(self.ctx, number))
        return messages.posted_message("standup digest", poster.channel)

    def _run_rules(self, parsed: ParsedCommand) -> SlackMessage:
        from rules.registry import load_rules

        registry = load_rules()
        if not parsed.arg:
            return messages.rules_message(list(registry.values()))
        found = registry.get(parsed.arg.casefold())
        if found is None:
            close = difflib.get_close_matches(parsed.arg.casefold(), registry, n=3, cutoff=0.8)
            family = [rid for rid in registry if rid.startswith(parsed.arg.casefold() + ".")]
            if family:
                rules = [registry[rid] for rid in family]
                return messages.rules_message(rules, family=parsed.arg.casefold())
            return messages.unknown_rule_message(parsed.arg, close)
        return messages.rule_message(found)

    def _run_plan(self, parsed: ParsedCommand) -> SlackMessage:
        if self.actions.plan is None:
            return messages.error_message(messages.SYNC_NOT_CONFIGURED)
        return messages.report_message("Plan", self.actions.plan(self.ctx))

    def _run_sync(self, parsed: ParsedCommand) -> SlackMessage:
        if self.actions.pull is None:
            return messages.error_message(messages.SYNC_NOT_CONFIGURED)
        targets = [parsed.arg.casefold()] if parsed.arg else list(SYNC_TARGETS)
        return messages.report_message("Sync", self.actions.pull(self.ctx, targets))
