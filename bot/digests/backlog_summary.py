"""The text summary ``backlog-bot parse FILE`` prints: counts, epics and sprints as tables."""

from __future__ import annotations

from backlog.model import Backlog


def summary_counts(backlog: Backlog) -> dict[str, int]:
    """The element counts shown in the summary (also handy for tests)."""
    stories = backlog.stories
    return {
        "epics": len(backlog.epics),
        "stories": len(stories),
        "tasks": sum(len(story.tasks) for story in stories),
        "subtasks": sum(len(story.subtasks) for story in stories),
        "sprints": len(backlog.sprints),
        "team roles": len(backlog.team.roles),
        "DoR items": len(backlog.definition_of_ready.items) if backlog.definition_of_ready else 0,
        "DoD items": len(backlog.definition_of_done.items) if backlog.definition_of_done else 0,
        "estimation bands": len(backlog.estimation_guide),
        "velocity records": len(backlog.velocity_history),
        "dependency rows": len(backlog.dependency_matrix),
        "risks": len(backlog.risks),
        "other sections": len(backlog.other_sections),
    }


def render_summary(backlog: Backlog, width: int = 100) -> str:
    from rich.console import Console
    from rich.table import Table

    console = Console(record=True, width=width, force_terminal=False, color_system=None)
    console.begin_capture()
    title = backlog.title or "(untitled backlog)"
    console.print(f"{title}", markup=False)
    if backlog.source:
        console.print(f"source: {backlog.source}", markup=False)

    counts = Table(title="Counts", show_header=True, header_style="bold")
    counts.add_column("element")
    counts.add_column("count", justify="right")
    for name, value in summary_counts(backlog).items():
        counts.add_row(name, str(value))
    console.print(counts)

    stories = backlog.stories
    points = sum(story.points or 0 for story in stories)
    unestimated = [story.id for story in stories if story.points is None]
    hours = sum(story.task_hours for story in stories)
    line = f"story points: {points}"
    if backlog.declared_total_points is not None:
        line += f" (declared {backlog.declared_total_points})"
    if unestimated:
        line += f"; not estimated: {', '.join(unestimated)}"
    console.print(line, markup=False)
    console.print(f"task hours: {hours:g}", markup=False)

    epics = Table(title="Epics", header_style="bold")
    for column in ("epic", "name", "stories", "points", "declared"):
        epics.add_column(column, justify="right" if column in ("stories", "points") else "left")
    for epic in backlog.epics:
        epics.add_row(
            epic.id,
            epic.name,
            str(len(epic.stories)),
            str(epic.story_points_sum),
            epic.points_raw or "",
        )
    console.print(epics)

    if backlog.sprints:
        sprints = Table(title="Sprints", header_style="bold")
        for column in ("sprint", "name", "stories", "points", "capacity"):
            sprints.add_column(column)
        by_id = backlog.stories_by_id()
        for sprint in backlog.sprints:
            committed = [
                by_id[item.story_id].points or 0
                for item in sprint.committed
                if not item.continued and item.story_id in by_id
            ]
            buffers = sum(item.points or 0 for item in sprint.buffer_items)
            sprints.add_row(
                str(sprint.number),
                sprint.name,
                str(len(sprint.committed_story_ids)),
                f"{sum(committed)}" + (f" + {buffers} buffer" if buffers else ""),
                "" if sprint.capacity_points is None else str(sprint.capacity_points),
            )
        console.print(sprints)
    return console.end_capture()
