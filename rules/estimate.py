"""``estimate.*``: story points against the team's own estimation poker guide."""

from __future__ import annotations

from collections.abc import Iterator

from backlog.model import EstimationBand
from rules.base import Hit, Severity, fmt_number
from rules.context import RuleContext
from rules.registry import rule


def _band_text(band: EstimationBand) -> str:
    return f"{band.points} = {fmt_number(band.hours_min)}-{fmt_number(band.hours_max)} h"


@rule("estimate.scale", Severity.warning, "Story points are on the team's points scale.")
def scale(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: flags story points that are not a value of the team's scale: the rows
    of the document's estimation poker guide, else ``thresholds.points-scale``
    (1, 2, 3, 5, 8, 13, 21).
    Why it matters: off-scale numbers suggest false precision and break velocity
    comparisons; planning poker only offers the scale's cards.
    Example: ``**Story Points:** 10`` with a 1-3-5-8-13-21 guide.
    Instead: pick the nearest card (8 or 13) and discuss the difference.
    """
    cards = ctx.points_scale
    origin = (
        f"the estimation guide (line {ctx.bands[0].line})" if ctx.bands else "the default scale"
    )
    for story in ctx.stories:
        if story.points is not None and story.points not in cards:
            nearest = min(cards, key=lambda card: (abs(card - story.points), card))  # type: ignore[operator]
            yield Hit(
                story.id,
                f"{story.id} has {story.points} points, not a value of {origin}: "
                + ", ".join(map(str, cards)),
                story.line,
                f"re-estimate on the scale (nearest: {nearest})",
            )


@rule(
    "estimate.points-hours",
    Severity.warning,
    "Task hours match the guide's band for the points.",
)
def points_hours(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: compares a story's summed task hours with the hour range the
    estimation guide gives for its points, and flags sums outside the range.
    Why it matters: the guide is the team's own calibration; a 21-point story with 30 h of
    tasks is either over-estimated or missing tasks.
    Example: 21 points (guide: 48-64 h) with tasks adding up to 30 h.
    Instead: re-estimate (30 h is 8 points by the guide) or add the missing tasks.
    """
    for story in ctx.stories:
        if story.points is None or not story.tasks:
            continue
        band = ctx.band(story.points)
        if band is None or band.hours_min is None or band.hours_max is None:
            continue
        if any(task.hours is None for task in story.tasks):
            continue  # invest.estimable reports those; a partial sum would mislead
        hours = story.task_hours
        if band.hours_min <= hours <= band.hours_max:
            continue
        fitting = [
            str(b.points)
            for b in ctx.bands
            if b.hours_min is not None and b.hours_max is not None
            if b.hours_min <= hours <= b.hours_max
        ]
        hint = f" ({fmt_number(hours)} h is {' or '.join(fitting)} points by the guide)"
        yield Hit(
            story.id,
            f"{story.id} has {story.points} points but its {len(story.tasks)} tasks add up to "
            f"{fmt_number(hours)} h; the estimation guide says {_band_text(band)} "
            f"(line {band.line})",
            story.line,
            "re-estimate" + (hint if fitting else "") + " or complete the task list",
        )
