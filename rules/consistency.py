"""``consistency.*``: totals the document declares against what its items add up to."""

from __future__ import annotations

from collections.abc import Iterator

from backlog.model import Dependency, role_key
from rules.base import Hit, Severity, fmt_number
from rules.capacity import sprint_loads
from rules.context import RuleContext
from rules.registry import rule


@rule("consistency.epic-points", Severity.error, "Epic's declared points equal its stories' sum.")
def epic_points(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: compares an epic's **Story Points:** with the sum of its stories' points.
    Why it matters: roadmaps, budgets and forecasts use the epic total; when it disagrees
    with the stories, one of them is wrong and every plan built on it is too.
    Example: EPIC-001 declares 155 points; its seven stories add up to 89.
    Instead: correct the epic total, or add the stories that make up the difference.
    """
    for epic in ctx.backlog.epics:
        if epic.points is None or not epic.stories:
            continue
        total = epic.story_points_sum
        if total != epic.points:
            yield Hit(
                epic.id,
                f"{epic.id} declares {epic.points} points but its {len(epic.stories)} stories "
                f"add up to {total} ({epic.points - total:+d} points unaccounted for)",
                epic.line,
                f"set the epic's Story Points to {total} or add the missing stories",
            )


@rule("consistency.total-points", Severity.error, "Declared project total equals the stories' sum.")
def total_points(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: compares the document's **Total Story Points:** with the sum of all
    stories' points (and with the sum of the epics' declared points).
    Why it matters: the project total drives the release forecast; a total that the stories
    do not back promises scope nobody has written down.
    Example: Total Story Points 620 while the 29 stories add up to 411.
    Instead: correct the total, or write the missing stories.
    """
    declared = ctx.backlog.declared_total_points
    if declared is None or not ctx.stories:
        return
    stories = sum(story.points or 0 for story in ctx.stories)
    if stories != declared:
        epics = sum(epic.points or 0 for epic in ctx.backlog.epics)
        also = f"; the epics declare {epics}" if epics and epics != stories else ""
        yield Hit(
            "backlog",
            f"the document declares {declared} total story points but its "
            f"{len(ctx.stories)} stories add up to {stories}{also}",
            ctx.backlog.declared_total_points_line,
            f"set the total to {stories} or add the missing stories",
        )


@rule("consistency.sprint-points", Severity.error, "Sprint totals agree with what they commit.")
def sprint_points(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: compares the sprint overview's points for each sprint with the points
    the sprint commits (stories plus buffer items), the points a sprint plan gives a story
    with the story's own points, and the overview's stated total with the sum of its rows.
    Why it matters: the overview is what stakeholders read; when it disagrees with the
    sprint plans, it reports progress that is not planned.
    Example: the overview gives sprint 1 85 points; its committed stories add up to 89.
    Instead: correct the overview row or the sprint plan.
    """
    overview_sum = 0
    for load in sprint_loads(ctx):
        sprint = load.sprint
        if sprint.overview_points is not None:
            overview_sum += sprint.overview_points
            if sprint.overview_points != load.points:
                buffer = f" + {load.buffer_points} buffer" if load.buffer_points else ""
                yield Hit(
                    sprint.id,
                    f"the sprint overview gives sprint {sprint.number} {sprint.overview_points} "
                    f"points but it commits {load.points} ({load.story_points} in stories"
                    f"{buffer})",
                    sprint.line,
                    "make the overview row and the sprint plan agree",
                )
        for item in sprint.committed:
            story = ctx.stories_by_id.get(item.story_id)
            if (
                story
                and item.points is not None
                and story.points is not None
                and item.points != story.points
            ):
                yield Hit(
                    sprint.id,
                    f"sprint {sprint.number} lists {item.story_id} at {item.points} points "
                    f"but the story has {story.points} (line {story.line})",
                    item.line,
                    "use the story's points in the sprint plan",
                )
    stated = ctx.backlog.sprint_overview_total_points
    if stated is not None and overview_sum and stated != overview_sum:
        yield Hit(
            "sprint-overview",
            f"the sprint overview states a total of {stated} points but its rows add up to "
            f"{overview_sum}",
            ctx.backlog.sprint_overview_total_line,
            f"set the total to {overview_sum}",
        )


@rule("consistency.stated-hours", Severity.error, "Stated hour totals equal the task hours.")
def stated_hours(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: checks each "Sprint Capacity Check" line (its sum, and its stated total
    against the committed stories' task hours for that role) and each committed story's
    stated "Total: N hrs" against the story's task hours.
    Why it matters: the capacity check is how the team convinced itself the sprint fits;
    if its numbers are not the tasks' numbers, the sprint may not fit at all.
    Example: "Backend: 5 + 6 + 4 + 5 + 4 + 10 + 8 = 42 hrs" while the committed stories hold
    55 h of Backend tasks.
    Instead: recompute the check from the tasks (``backlog-bot capacity`` prints them).
    """
    loads = {load.sprint.number: load for load in sprint_loads(ctx)}
    for sprint in ctx.backlog.sprints:
        load = loads[sprint.number]
        actual = {role.key: role for role in load.roles}
        for check in sprint.capacity_check:
            label = check.role
            if check.addends and check.stated_total is not None:
                added = sum(check.addends)
                if abs(added - check.stated_total) > 1e-9:
                    terms = " + ".join(fmt_number(a) for a in check.addends)
                    yield Hit(
                        sprint.id,
                        f"sprint {sprint.number} capacity check: {label} {terms} is "
                        f"{fmt_number(added)}, not {fmt_number(check.stated_total)}",
                        check.line,
                        f"write {fmt_number(added)}",
                    )
            if check.stated_total is None:
                continue
            key = role_key(label)
            if key == "total":
                real = sum(role.hours for role in load.roles)
                name = "all roles"
                detail = ""
            elif key in actual:
                real = actual[key].hours
                name = actual[key].name
                parts = actual[key].by_story
                detail = " (" + ", ".join(f"{s} {fmt_number(h)}" for s, h in parts) + ")"
            else:
                continue
            if abs(real - check.stated_total) > 1e-9:
                yield Hit(
                    sprint.id,
                    f"sprint {sprint.number} capacity check states {fmt_number(check.stated_total)}"
                    f" h for {label} but the committed stories' {name} tasks add up to "
                    f"{fmt_number(real)} h{detail}",
                    check.line,
                    f"correct the capacity check to {fmt_number(real)} h",
                )
        for item in sprint.committed:
            story = ctx.stories_by_id.get(item.story_id)
            if item.stated_total_hours is None or story is None or not story.tasks:
                continue
            if abs(story.task_hours - item.stated_total_hours) > 1e-9:
                yield Hit(
                    item.story_id,
                    f"sprint {sprint.number} states {fmt_number(item.stated_total_hours)} h for "
                    f"{item.story_id} but its tasks add up to {fmt_number(story.task_hours)} h "
                    f"(line {story.line})",
                    item.line,
                    f"write Total: {fmt_number(story.task_hours)} hrs",
                )


def _dependency_key(dep: Dependency) -> str | None:
    if dep.kind in ("story", "epic") and dep.target:
        return dep.target
    if dep.kind == "phrase":
        return dep.raw.strip().casefold()
    return None


@rule(
    "consistency.dependency-mismatch",
    Severity.error,
    "A story's Dependencies field agrees with its dependency-matrix row.",
)
def dependency_mismatch(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: compares each dependency-matrix row's "Depends On" with the
    **Dependencies:** field of that story.
    Why it matters: two sources that disagree mean someone plans on the wrong one; work
    starts before what it needs, or waits for nothing.
    Example: the matrix says US-009 depends on US-001; the story says None.
    Instead: make the story field and the matrix row list the same dependencies.
    """
    for row in ctx.backlog.dependency_matrix:
        story = ctx.stories_by_id.get(row.story_id)
        if story is None:
            continue  # dependency.unknown reports rows for unknown stories
        field = {k for k in map(_dependency_key, story.dependencies) if k}
        matrix = {k for k in map(_dependency_key, row.depends_on) if k}
        if field != matrix:
            written = story.dependencies_raw or "(no field)"
            yield Hit(
                story.id,
                f"{story.id}'s Dependencies field says {written!r} but the dependency matrix "
                f"(line {row.line}) says {row.depends_on_raw or 'None'!r}",
                story.line,
                "list the same dependencies in both places",
            )


@rule(
    "consistency.blocks-mismatch",
    Severity.warning,
    "The matrix's Blocks column agrees with the blocked stories' dependencies.",
)
def blocks_mismatch(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: for each "Blocks" entry of the dependency matrix (A blocks B), checks
    that B depends on A, in its Dependencies field or its own matrix row.
    Why it matters: a block nobody records on the blocked story is invisible to whoever
    plans that story.
    Example: the matrix says US-008 blocks US-013; US-013's Dependencies say None.
    Instead: add the dependency to the blocked story, or remove it from Blocks.
    """
    for row in ctx.backlog.dependency_matrix:
        for blocked in row.blocks:
            story = ctx.stories_by_id.get(blocked)
            if story is None:
                continue
            targets: set[str] = set()
            for dep, _, _ in ctx.declared_dependencies(story):
                targets.update(ctx.dependency_targets(dep))
                if dep.target:
                    targets.add(dep.target)
            if row.story_id not in targets:
                yield Hit(
                    blocked,
                    f"the dependency matrix (line {row.line}) says {row.story_id} blocks "
                    f"{blocked}, but {blocked} does not depend on {row.story_id} "
                    f"(Dependencies: {story.dependencies_raw or 'none'!r})",
                    story.line,
                    f"add {row.story_id} to {blocked}'s Dependencies or fix the Blocks column",
                )
