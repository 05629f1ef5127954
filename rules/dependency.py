"""``dependency.*``: resolvable ids, cycles and the order of dependencies across sprints.

A story's dependencies are the union of its **Dependencies:** field and its dependency-matrix
row (``consistency.dependency-mismatch`` reports when they differ). An epic dependency
("EPIC-001 completed") stands for every story of the epic. Cycle detection runs Tarjan's
strongly-connected-components algorithm iteratively over a graph with one node per story and
per epic (story -> epic -> the epic's stories), so it is linear in stories plus dependencies.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping, Sequence

from rules.base import Hit, Severity
from rules.context import RuleContext
from rules.registry import rule


def strongly_connected_components(graph: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Tarjan's algorithm without recursion; components come in reverse topological order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = graph.get(node, ())
            recurse = False
            while child < len(successors):
                succ = successors[child]
                child += 1
                if succ not in index:
                    work.append((node, child))
                    work.append((succ, 0))
                    recurse = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if recurse:
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def _cycle_path(graph: Mapping[str, Sequence[str]], members: set[str], start: str) -> list[str]:
    """A shortest cycle through ``start`` inside one component (breadth-first)."""
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for succ in graph.get(node, ()):
            if succ not in members:
                continue
            if succ == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if succ not in previous:
                previous[succ] = node
                queue.append(succ)
    return [start]


def dependency_graph(ctx: RuleContext) -> dict[str, list[str]]:
    """Story and epic nodes; edges point from a story to what it depends on."""
    graph: dict[str, list[str]] = {story.id: [] for story in ctx.stories}
    for epic in ctx.backlog.epics:
        graph[epic.id] = [story.id for story in epic.stories]
    for story in ctx.stories:
        edges = graph[story.id]
        for dep, _, _ in ctx.declared_dependencies(story):
            if dep.kind == "epic" and dep.target in ctx.epics_by_id:
                edges.append(dep.target)
            else:
                edges.extend(t for t in ctx.dependency_targets(dep) if t in graph)
        graph[story.id] = list(dict.fromkeys(edges))
    return graph


@rule("dependency.unknown", Severity.error, "Dependencies name stories and epics that exist.")
def unknown(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: flags dependencies on story or epic ids the backlog does not define,
    dependency-matrix rows for unknown stories, and (as info) phrases such as "All previous
    stories" that backlog-bot could not resolve to stories.
    Why it matters: a dependency nobody can find cannot be planned, tracked or finished.
    Example: ``**Dependencies:** US-099`` in a backlog without US-099.
    Instead: use an existing id, or remove the dependency.
    """
    for story in ctx.stories:
        for dep, source, line in ctx.declared_dependencies(story):
            if dep.kind == "story" and dep.target not in ctx.stories_by_id:
                yield Hit(
                    story.id,
                    f"{story.id} depends on {dep.target} ({source}), which the backlog does "
                    "not define",
                    line,
                    "use an existing story id or remove the dependency",
                )
            elif dep.kind == "epic" and dep.target not in ctx.epics_by_id:
                yield Hit(
                    story.id,
                    f"{story.id} depends on {dep.target} ({source}), which the backlog does "
                    "not define",
                    line,
                    "use an existing epic id or remove the dependency",
                )
            elif dep.kind == "phrase" and not dep.resolved:
                yield Hit(
                    story.id,
                    f"{story.id} depends on {dep.raw!r} ({source}); backlog-bot cannot tell "
                    "which stories that means",
                    line,
                    "list the story or epic ids instead",
                    Severity.info,
                )
    for row in ctx.backlog.dependency_matrix:
        if row.story_id not in ctx.stories_by_id:
            yield Hit(
                row.story_id,
                f"the dependency matrix has a row for {row.story_id}, which the backlog does "
                "not define",
                row.line,
                "remove the row or fix the story id",
            )


@rule("dependency.cycle", Severity.error, "No dependency cycles.")
def cycle(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: finds cycles in the dependency graph (fields and matrix; an epic
    dependency counts as a dependency on each of its stories).
    Why it matters: stories in a cycle each wait for another; none can be finished first,
    so none is Independent and none can be scheduled.
    Example: US-003 depends on US-005 and US-005 depends on US-003.
    Instead: split out the shared part into its own story both can depend on.
    """
    graph = dependency_graph(ctx)
    for component in strongly_connected_components(graph):
        members = set(component)
        stories = sorted(m for m in component if m in ctx.stories_by_id)
        if not stories:
            continue
        if len(component) == 1 and component[0] not in graph.get(component[0], ()):
            continue
        start = stories[0]
        path = _cycle_path(graph, members, start)
        story = ctx.stories_by_id[start]
        yield Hit(
            start,
            f"dependency cycle: {' -> '.join(path)}"
            + (f" ({len(stories)} stories involved)" if len(stories) > len(path) - 1 else ""),
            story.line,
            "break the cycle: split out the shared work into its own story",
        )


def _planned_targets(ctx: RuleContext, story_id: str) -> list[tuple[str, str, int | None, int]]:
    """(dependency label, target story, its sprint, line) per dependency; cached per run."""
    cache = ctx.cache.setdefault("planned_targets", {})
    assert isinstance(cache, dict)
    cached = cache.get(story_id)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    story = ctx.stories_by_id[story_id]
    seen: set[str] = set()
    found: list[tuple[str, str, int | None, int]] = []
    for dep, _, line in ctx.declared_dependencies(story):
        label = dep.target if dep.kind in ("story", "epic") and dep.target else dep.raw
        for target in ctx.dependency_targets(dep):
            if target == story_id or target in seen or target not in ctx.stories_by_id:
                continue
            seen.add(target)
            found.append((label, target, ctx.sprint_of.get(target), line))
    cache[story_id] = found
    return found


@rule("dependency.order", Severity.error, "No dependency on work planned in a later sprint.")
def order(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: flags a planned story that depends on a story planned in a later sprint,
    or (as a warning) on a story planned in no sprint.
    Why it matters: the story cannot be finished in its sprint; the plan is impossible as
    written.
    Example: US-010 in sprint 3 depends on US-009, planned in sprint 5.
    Instead: move the dependency earlier or the story later.
    """
    for story in ctx.stories:
        sprint = ctx.sprint_of.get(story.id)
        if sprint is None:
            continue
        for label, target, planned, line in _planned_targets(ctx, story.id):
            via = f" (via {label})" if label != target else ""
            if planned is not None and planned > sprint:
                yield Hit(
                    story.id,
                    f"{story.id} is planned in sprint {sprint} but depends on {target}{via}, "
                    f"planned in sprint {planned}",
                    line,
                    f"move {target} before sprint {sprint} or {story.id} after sprint {planned}",
                )
            elif planned is None:
                yield Hit(
                    story.id,
                    f"{story.id} is planned in sprint {sprint} but depends on {target}{via}, "
                    "which is in no sprint",
                    line,
                    f"plan {target} before sprint {sprint}",
                    Severity.warning,
                )


@rule("dependency.same-sprint", Severity.info, "Dependencies planned in the same sprint.")
def same_sprint(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: notes a story that depends on stories planned in the same sprint.
    Why it matters: the dependent work can only start when the other story is done, which
    leaves it the end of the sprint; a slip in one becomes a slip in both.
    Example: US-002 and US-001 both in sprint 1, US-002 depending on US-001.
    Instead: sequence them explicitly in the sprint, or plan the dependency a sprint earlier.
    """
    for story in ctx.stories:
        sprint = ctx.sprint_of.get(story.id)
        if sprint is None:
            continue
        same = [
            (target, line)
            for _, target, planned, line in _planned_targets(ctx, story.id)
            if planned == sprint
        ]
        if same:
            names = ", ".join(target for target, _ in same)
            yield Hit(
                story.id,
                f"{story.id} depends on {names}, planned in the same sprint {sprint}",
                story.line,
                "finish the dependencies first in the sprint, or plan them a sprint earlier",
            )
