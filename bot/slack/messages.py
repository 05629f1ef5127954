"""Every user-facing Slack string and Block Kit builder of backlog-bot.

Text from the backlog, Jira or GitHub (titles, names, statuses, rule messages) and from the
user's command goes through ``esc``: Slack's control characters ``&``, ``<``, ``>`` become
entities, so a story titled ``<!channel>`` cannot ping anyone nor forge a link. Messages are
short sections meant to read well on a phone; lists are capped to stay inside Block Kit limits
(50 blocks, 3,000 characters per section).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.digests.reports import (
    Alert,
    BlockedItem,
    CapacityAlert,
    PointsAlert,
    ReadyReport,
    StandupDigest,
)
from bot.digests.sprint_state import SprintItem, SprintProgress, pts, sprint_title
from rules.base import Rule
from rules.capacity import SprintLoad

MAX_SECTION = 2900  # Slack allows 3,000 characters; keep room for "and N more"
MAX_LIST_ITEMS = 12
LEVEL_ICON = {"error": ":red_circle:", "warning": ":large_orange_circle:", "info": ":white_circle:"}
STATUS_LABEL = {"done": "Done", "in_progress": "In progress", "todo": "To do"}
TARGET_LABEL = {"jira": "Jira", "github": "GitHub"}


@dataclass(frozen=True)
class SlackMessage:
    """A message: ``text`` is the notification/fallback text, ``blocks`` the Block Kit body."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


# --- escaping and small pieces --------------------------------------------------------------


def esc(text: object) -> str:
    """Escape Slack's mrkdwn control characters in text we did not write ourselves."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str | None, label: object) -> str:
    """``<url|label>`` for http(s) URLs; just the escaped label otherwise."""
    if not url or not url.startswith(("http://", "https://")):
        return esc(label)
    safe = esc(url).replace("|", "%7C")
    label_text = esc(label).replace("|", "¦")
    return f"<{safe}|{label_text}>"


def plural(count: float, word: str) -> str:
    return word if count == 1 else word + "s"


def pct(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f}%"


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150], "emoji": True}}


def section(markdown: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": markdown[:3000]}}


def context(markdown: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": markdown[:3000]}]}


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def bullet_section(title: str, lines: Sequence[str], empty: str | None = None) -> dict[str, Any]:
    """``*title* (n)`` and bullets, cut to fit one section ("…and 4 more")."""
    if not lines:
        return section(f"*{title}*\n{empty or 'None.'}")
    body = f"*{title}* ({len(lines)})"
    shown = 0
    for line in lines[:MAX_LIST_ITEMS]:
        candidate = f"{body}\n• {line}"
        if len(candidate) > MAX_SECTION:
            break
        body, shown = candidate, shown + 1
    if shown < len(lines):
        body += f"\n…and {len(lines) - shown} more"
    return section(body)


def item_ref(story_id: str, urls: Iterable[tuple[str, str]]) -> str:
    """``US-001`` linked to its first remote issue, then the other trackers as short links."""
    urls = list(urls)
    if not urls:
        return f"*{esc(story_id)}*"
    first = f"*{link(urls[0][1], story_id)}*"
    others = [link(url, TARGET_LABEL.get(target, target)) for target, url in urls[1:]]
    return " ".join([first, *others])


def item_line(item: SprintItem, *, with_status: bool = False, with_owner: bool = True) -> str:
    parts = [f"{item_ref(item.story_id, item.urls)} {esc(item.title)}", f"{pts(item.points)} pts"]
    if with_status:
        parts.append(esc(item.status_raw or STATUS_LABEL[item.status.value]))
    if with_owner and item.assignee:
        parts.append(esc(item.assignee))
    return " · ".join(parts)


# --- help, refusals, errors -----------------------------------------------------------------

COMMANDS = (
    ("status [sprint]", "progress of the current (or given) sprint"),
    ("ready US-001", "Definition of Ready and INVEST check of one story"),
    ("capacity [sprint]", "load per sprint and role"),
    ("standup", "post the standup digest to the channel now"),
    ("rules [id]", "list the rules, or explain one"),
    ("plan", "what a sync would change in Jira and GitHub (admins)"),
    ("sync [jira|github]", "pull the live issue state now (admins)"),
)


def help_message(command: str = "/backlog", unknown: str | None = None) -> SlackMessage:
    lines = [f"• `{command} {usage}` — {what}" for usage, what in COMMANDS]
    blocks = []
    if unknown:
        blocks.append(section(f"I don't know `{esc(unknown)}`. Here is what I can do:"))
    blocks.append(section("*backlog-bot* keeps the backlog honest.\n" + "\n".join(lines)))
    return SlackMessage("backlog-bot commands: " + ", ".join(u for u, _ in COMMANDS), blocks)


def refusal_message(subcommand: str, admins: Sequence[str]) -> SlackMessage:
    who = ", ".join(f"<@{esc(user)}>" for user in admins) if admins else "a workspace admin"
    text = (
        f"Sorry, `/backlog {esc(subcommand)}` changes or reads the trackers for everyone, so "
        f"only backlog-bot admins can run it. Please ask {who}."
    )
    return SlackMessage(f"Only backlog-bot admins can run /backlog {subcommand}.", [section(text)])


def working_message(what: str) -> SlackMessage:
    return SlackMessage(f"Working on {what}…", [context(f":hourglass_flowing_sand: {esc(what)}…")])


def error_message(problem: object) -> SlackMessage:
    text = f":warning: That did not work: {esc(problem)}"
    return SlackMessage(f"That did not work: {problem}", [section(text)])


def usage_message(usage: str, problem: str) -> SlackMessage:
    text = f"{esc(problem)}\nUsage: `/backlog {esc(usage)}`"
    return SlackMessage(problem, [section(text)])


def posted_message(what: str, channel: str) -> SlackMessage:
    return SlackMessage(
        f"Posted the {what}.", [section(f"Posted the {what} in <#{esc(channel)}>.")]
    )


# --- sprint status --------------------------------------------------------------------------


def progress_summary(progress: SprintProgress) -> list[str]:
    """Plain sentences (no mrkdwn) shared by Slack and the terminal."""
    lines = []
    if progress.dates:
        start = progress.dates.start
        end = progress.working_days[-1] if progress.working_days else progress.dates.end
        span = f"{start:%a %d %b} – {end:%a %d %b}"
        if progress.day == 0:
            lines.append(f"Starts {start:%a %d %b} ({progress.days} working days, {span})")
        else:
            lines.append(f"Day {progress.day} of {progress.days} ({span})")
    else:
        lines.append("Sprint dates unknown: set [calendar] sprint1_start in backlog-bot.toml")
    committed, done = progress.committed_points, progress.done_points
    share = f" ({100 * done / committed:.0f}%)" if committed else ""
    lines.append(f"{pts(done)} of {pts(committed)} points done{share}")
    if progress.dates and progress.day:
        ideal_done = committed - progress.ideal_remaining(progress.day)
        gap = done - ideal_done
        side = "ahead of" if gap > 0 else "behind"
        verdict = (
            "on track"
            if abs(gap) < 0.5
            else f"{pts(abs(gap))} {plural(abs(gap), 'point')} {side} the ideal line"
        )
        lines.append(f"Ideal by today: {pts(ideal_done)} points done, {verdict}")
    return lines


def status_message(progress: SprintProgress) -> SlackMessage:
    title = sprint_title(progress)
    blocks = [header(title), section("\n".join(esc(line) for line in progress_summary(progress)))]
    order = {"in_progress": 0, "todo": 1, "done": 2}
    items = sorted(progress.items, key=lambda i: (order[i.status.value], i.story_id))
    blocks.append(bullet_section("Stories", [item_line(i, with_status=True) for i in items]))
    if progress.removed:
        moved = ", ".join(esc(story) for story in progress.removed)
        blocks.append(context(f"Moved out of this sprint in the trackers: {moved}"))
    summary = progress_summary(progress)
    return SlackMessage(f"{title}: {summary[-1] if len(summary) > 1 else summary[0]}", blocks)


def no_sprint_message(requested: str | None) -> SlackMessage:
    if requested:
        text = f"There is no sprint `{esc(requested)}` in the backlog."
    else:
        text = "No sprint is running today (check [calendar] sprint1_start in backlog-bot.toml)."
    return SlackMessage(text, [section(text)])


# --- standup digest -------------------------------------------------------------------------


def standup_lines(digest: StandupDigest) -> list[str]:
    """The digest as plain lines for the terminal (same facts as the Slack message)."""
    progress = digest.progress
    lines = [f"Standup · {sprint_title(progress)}", *progress_summary(progress), ""]

    def plain(item: SprintItem) -> str:
        owner = f" · {item.assignee}" if item.assignee else ""
        return f"  - {item.story_id} {item.title} · {pts(item.points)} pts{owner}"

    lines.append(f"{_since_title(digest)} ({len(digest.moved_to_done)})")
    lines.extend(plain(i) for i in digest.moved_to_done)
    lines.append(f"In progress ({len(digest.in_progress)})")
    lines.extend(plain(i) for i in digest.in_progress)
    lines.append(f"Blocked ({len(digest.blocked)})")
    for blocked in digest.blocked:
        waits = ", ".join(
            f"{b.story_id} ({STATUS_LABEL[b.status.value]})" for b in blocked.blockers
        )
        lines.append(f"  - {blocked.item.story_id} {blocked.item.title} · waiting for {waits}")
    if digest.next_sprint is not None:
        lines.append(
            f"Sprint {digest.next_sprint.number} stories not ready ({len(digest.not_ready)})"
        )
        for story in digest.not_ready:
            lines.append(f"  - {story.story_id} {story.title} · {', '.join(story.rules)}")
    return lines


def _since_title(digest: StandupDigest) -> str:
    if digest.since is None:
        return "Done so far"
    return f"Moved to done since {digest.since:%a %d %b %H:%M}"


def standup_message(digest: StandupDigest) -> SlackMessage:
    progress = digest.progress
    summary = progress_summary(progress)
    blocks = [
        header(f"Standup · {sprint_title(progress)}"),
        section("\n".join(esc(line) for line in summary)),
        bullet_section(_since_title(digest), [item_line(i) for i in digest.moved_to_done]),
        bullet_section("In progress", [item_line(i) for i in digest.in_progress]),
        bullet_section("Blocked", [_blocked_line(b) for b in digest.blocked]),
    ]
    if digest.next_sprint is not None:
        lines = [
            f"{item_ref(s.story_id, s.urls)} {esc(s.title)} · "
            + ", ".join(f"`{esc(rule)}`" for rule in s.rules)
            for s in digest.not_ready
        ]
        title = f"Sprint {digest.next_sprint.number} stories not ready"
        blocks.append(bullet_section(title, lines, "All ready. :white_check_mark:"))
    if digest.chart_note:
        blocks.append(context(esc(digest.chart_note)))
    text = f"Standup · {sprint_title(progress)}: " + "; ".join(summary[:2])
    return SlackMessage(text, blocks)


def _blocked_line(blocked: BlockedItem) -> str:
    waits = ", ".join(
        f"{item_ref(b.story_id, b.urls)} ({esc(STATUS_LABEL[b.status.value])})"
        for b in blocked.blockers
    )
    item = blocked.item
    return f"{item_ref(item.story_id, item.urls)} {esc(item.title)} · waiting for {waits}"


CHART_IN_THREAD = "Burndown chart in the thread."


def chart_comment(progress: SprintProgress) -> str:
    return f"Burndown of {sprint_title(progress)} (points remaining vs the ideal line)"


# --- ready / INVEST report ------------------------------------------------------------------


def ready_message(report: ReadyReport) -> SlackMessage:
    errors = sum(1 for f in report.findings if f.severity == "error")
    warnings = sum(1 for f in report.findings if f.severity == "warning")
    verdict = (
        ":white_check_mark: *Ready*: meets the Definition of Ready and INVEST."
        if errors == 0 and warnings == 0
        else f":no_entry: *Not ready*: {errors} error(s), {warnings} warning(s)."
        if errors
        else f":large_orange_circle: *Ready with warnings*: {warnings} warning(s)."
    )
    blocks = [
        header(f"{report.story_id} · {report.title}"),
        section(verdict + "\n" + item_ref(report.story_id, report.urls) + " " + report.where),
    ]
    if report.live_line:
        blocks.append(context(esc(report.live_line)))
    lines = [
        f"{LEVEL_ICON.get(str(f.severity), '')} `{esc(f.rule)}` {esc(f.message)}"
        + (f" (line {f.line})" if f.line else "")
        for f in report.findings
    ]
    if lines:
        blocks.append(bullet_section("Findings", lines))
    text = f"{report.story_id}: " + verdict.replace("*", "").split(":", 2)[-1].strip()
    return SlackMessage(text, blocks)


def unknown_story_message(story_id: str) -> SlackMessage:
    text = f"There is no story `{esc(story_id)}` in the backlog. Try an id like `US-001`."
    return SlackMessage(f"No story {story_id} in the backlog.", [section(text)])


# --- capacity -------------------------------------------------------------------------------


def load_icon(load: float | None, warn_pct: float) -> str:
    if load is None:
        return ":white_circle:"
    if load > 100:
        return LEVEL_ICON["error"]
    return LEVEL_ICON["warning"] if load > warn_pct else ":large_green_circle:"


def capacity_message(loads: Sequence[SprintLoad], warn_pct: float) -> SlackMessage:
    """The rules engine's load per sprint and role."""
    blocks: list[dict[str, Any]] = [header("Capacity per sprint and role")]
    for load in loads[:40]:
        cap = load.sprint.capacity_points
        title = (
            f"{load_icon(load.load_pct, warn_pct)} *Sprint {load.sprint.number}* · "
            f"{load.points} of {pts(cap)} pts ({pct(load.load_pct)})"
        )
        roles = [
            f"{load_icon(r.load_pct, warn_pct)} {esc(r.name)}: {pts(r.hours)} of "
            f"{pts(r.capacity)} h ({pct(r.load_pct)})"
            for r in load.roles
            if r.hours or r.capacity
        ]
        blocks.append(section("\n".join([title, *roles])))
    blocks.append(context(f"Warning above {pts(warn_pct)}% of a role's hours, error above 100%."))
    over = [str(load.sprint.number) for load in loads if load.is_over]
    text = "Capacity: " + (f"over in sprint {', '.join(over)}" if over else "every sprint fits")
    return SlackMessage(text, blocks)


def capacity_alert_message(alert: CapacityAlert, trigger: str | None = None) -> SlackMessage:
    if alert.level == "error":
        headline = (
            f"{LEVEL_ICON['error']} *Sprint {alert.sprint} is over capacity for "
            f"{esc(alert.role)}*: {pts(alert.hours)} of {pts(alert.capacity)} h "
            f"({pct(alert.load_pct)})"
        )
    else:
        headline = (
            f"{LEVEL_ICON['warning']} *Sprint {alert.sprint}: {esc(alert.role)} at "
            f"{pct(alert.load_pct)}* ({pts(alert.hours)} of {pts(alert.capacity)} h), above "
            f"the {pts(alert.threshold)}% warning level"
        )
    parts = ", ".join(f"{esc(story)} {pts(hours)} h" for story, hours in alert.biggest)
    lines = [headline]
    if parts:
        lines.append(f"Biggest items: {parts}")
    if trigger:
        lines.append(f"Triggered by: {esc(trigger)}")
    lines.append("Move a story to another sprint or rebalance its tasks.")
    text = (
        f"Sprint {alert.sprint}: {alert.role} at {pct(alert.load_pct)} of capacity ({alert.level})"
    )
    return SlackMessage(text, [section("\n".join(lines))])


def points_alert_message(alert: PointsAlert, trigger: str | None = None) -> SlackMessage:
    """One points alert (``bot.digests.points_alerts``)."""
    if alert.level == "error":
        headline = (
            f"{LEVEL_ICON['error']} *Sprint {alert.sprint} commits {pts(alert.points)} points "
            f"against a capacity of {pts(alert.limit)}* ({pct(alert.load_pct)}, "
            f"{pts(alert.points - alert.limit)} over)"
        )
        text = (
            f"Sprint {alert.sprint}: {pts(alert.points)} points committed against a capacity "
            f"of {pts(alert.limit)} (error)"
        )
    else:
        headline = (
            f"{LEVEL_ICON['warning']} *Sprint {alert.sprint} commits {pts(alert.points)} "
            f"points, above the recent velocity of {pts(alert.limit)}*"
        )
        text = (
            f"Sprint {alert.sprint}: {pts(alert.points)} points above the recent velocity of "
            f"{pts(alert.limit)} (warning)"
        )
    lines = [headline]
    if alert.recent:
        recent = ", ".join(f"{esc(story)} {pts(points)} pts" for story, points in alert.recent)
        lines.append(f"Added most recently: {recent}")
    if trigger:
        lines.append(f"Triggered by: {esc(trigger)}")
    lines.append("Move a story to a later sprint or split it.")
    return SlackMessage(text, [section("\n".join(lines))])


def alert_message(alert: Alert, trigger: str | None = None) -> SlackMessage:
    """A role alert or a points alert."""
    if isinstance(alert, PointsAlert):
        return points_alert_message(alert, trigger)
    return capacity_alert_message(alert, trigger)


# --- rules ----------------------------------------------------------------------------------


def rules_message(rules: Sequence[Rule], family: str | None = None) -> SlackMessage:
    """All rules grouped by family (one line each), or one family's rules in full."""
    if family is not None:
        lines = [f"`{esc(r.id)}` {esc(r.severity)} — {esc(r.summary)}" for r in rules]
        blocks = [bullet_section(f"Rules {esc(family)}.*", lines)]
    else:
        families: dict[str, list[str]] = {}
        for r in rules:
            families.setdefault(r.id.split(".", 1)[0], []).append(r.id.split(".", 1)[1])
        lines = [f"*{esc(name)}* — {esc(', '.join(ids))}" for name, ids in families.items()]
        blocks = [header(f"{len(rules)} rules"), section("\n".join(lines))]
    blocks.append(
        context(
            "`/backlog rules dor` lists a family; `/backlog rules dor.prioritized` explains one."
        )
    )
    return SlackMessage(f"{len(rules)} rules", blocks)


def rule_message(rule: Rule) -> SlackMessage:
    title = f"`{esc(rule.id)}` · {esc(rule.severity)} · {esc(rule.lifecycle)}"
    blocks = [section(f"{title}\n*{esc(rule.summary)}*"), section(esc(rule.doc)[:2900])]
    return SlackMessage(f"{rule.id}: {rule.summary}", blocks)


def unknown_rule_message(rule_id: str, suggestions: Sequence[str]) -> SlackMessage:
    text = f"There is no rule `{esc(rule_id)}`."
    if suggestions:
        text += " Did you mean " + ", ".join(f"`{esc(s)}`" for s in suggestions) + "?"
    return SlackMessage(f"No rule {rule_id}.", [section(text)])


# --- plan and sync (admins) -----------------------------------------------------------------


SYNC_NOT_CONFIGURED = (
    "the Jira/GitHub sync is not configured on this service "
    "(set JIRA_URL and GITHUB_REPOSITORY with their tokens)"
)


def report_message(title: str, lines: Sequence[str]) -> SlackMessage:
    """A short report of a plan or sync run: one plain line per target."""
    body = "\n".join(f"• {esc(line)}" for line in lines) or "Nothing to report."
    return SlackMessage(f"{title}: " + "; ".join(lines), [header(title), section(body)])
