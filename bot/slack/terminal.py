"""The standup digest and capacity alerts as the terminal shows them (``digest``, ``demo``).

The lines are the Slack messages' own (``bot.slack.messages``), so the terminal and Slack say
the same thing; rich adds bold headings when the output is a terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.digests.reports import Alert, StandupDigest
from bot.digests.sprint_state import SprintItem, SprintProgress

if TYPE_CHECKING:
    from rich.console import Console


def print_standup(digest: StandupDigest, console: Console | None = None) -> None:
    """The digest's lines with headings in bold (rich; plain when not a terminal)."""
    from rich.console import Console
    from rich.text import Text

    from bot.slack.messages import standup_lines

    console = console or Console(highlight=False, soft_wrap=True)
    lines = standup_lines(digest)
    console.rule(Text(lines[0], style="bold"))
    for line in lines[1:]:
        is_heading = line and not line.startswith(" ")
        console.print(Text(line, style="bold" if is_heading and "(" in line else ""))


def print_alerts(alerts: Sequence[Alert], console: Console | None = None) -> None:
    from rich.console import Console
    from rich.text import Text

    from bot.slack.messages import alert_message

    console = console or Console(highlight=False, soft_wrap=True)
    if not alerts:
        console.print("No capacity alerts: every role fits its hours in the watched sprints.")
    for alert in alerts:
        style = "bold red" if alert.level == "error" else "yellow"
        console.print(Text(f"{alert.level}: {alert_message(alert).text}", style=style))


def save_chart(progress: SprintProgress, path: Path) -> None:
    from bot.digests.burndown import render_png

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render_png(progress))


def digest_dict(digest: StandupDigest) -> dict[str, Any]:
    """The digest as ``digest standup --format json`` prints it."""
    progress = digest.progress

    def item(i: SprintItem) -> dict[str, Any]:
        return {"story": i.story_id, "title": i.title, "points": i.points, "status": i.status_raw}

    return {
        "sprint": progress.sprint.number,
        "day": progress.day,
        "days": progress.days,
        "committed_points": progress.committed_points,
        "done_points": progress.done_points,
        "burndown": [[day.isoformat(), left] for day, left in progress.burndown],
        "moved_to_done": [item(i) for i in digest.moved_to_done],
        "in_progress": [item(i) for i in digest.in_progress],
        "blocked": [
            {**item(b.item), "blocked_by": [x.story_id for x in b.blockers]} for b in digest.blocked
        ],
        "not_ready": [{"story": s.story_id, "rules": list(s.rules)} for s in digest.not_ready],
    }
