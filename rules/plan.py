"""``plan.*``: the sprint plan covers the backlog and nothing else."""

from __future__ import annotations

from collections.abc import Iterator

from rules.base import Hit, Severity
from rules.context import RuleContext
from rules.registry import rule


@rule("plan.unscheduled", Severity.warning, "Every story is planned in some sprint.")
def unscheduled(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: flags a story that no sprint commits (continuations do not count).
    Why it matters: unscheduled stories are silently out of the release; nobody decided to
    drop them.
    Example: US-030 is in EPIC-004 but in no sprint's Committed Stories.
    Instead: commit it to a sprint, or move it to a later release explicitly.
    """
    if not ctx.backlog.sprints:
        return
    for story in ctx.stories:
        if story.id not in ctx.sprint_of:
            yield Hit(
                story.id,
                f"{story.id} ({story.points if story.points is not None else '?'} points) is "
                f"in no sprint of the plan ({len(ctx.backlog.sprints)} sprints)",
                story.line,
                "commit it to a sprint or mark it as out of scope",
            )


@rule("plan.unknown-story", Severity.error, "Sprints commit only stories the backlog defines.")
def unknown_story(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: flags a sprint commitment whose story id the backlog does not define.
    Why it matters: the sprint plans work nobody has described, estimated or accepted.
    Example: ``1. **US-099: Something** (8 pts)`` with no US-099 story.
    Instead: write the story, or fix the id.
    """
    for sprint in ctx.backlog.sprints:
        for item in sprint.committed:
            if item.story_id not in ctx.stories_by_id:
                yield Hit(
                    sprint.id,
                    f"sprint {sprint.number} commits {item.story_id}, which the backlog does "
                    "not define",
                    item.line,
                    "fix the id or write the story",
                )
