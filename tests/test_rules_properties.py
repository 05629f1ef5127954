"""Property tests: Tarjan's SCCs equal a brute-force answer; no rule crashes on odd backlogs."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backlog.model import Dependency, Sprint, SprintCommitment, Task
from rules.config import RulesConfig
from rules.dependency import strongly_connected_components
from rules.runner import CRASH_RULE, run_rules
from tests.rules_factories import clean_backlog, story

graphs = st.integers(min_value=1, max_value=9).flatmap(
    lambda n: st.dictionaries(
        st.sampled_from([f"n{i}" for i in range(n)]),
        st.lists(st.sampled_from([f"n{i}" for i in range(n)]), max_size=4),
    )
)


def _reachable(graph: dict[str, list[str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for succ in graph.get(todo.pop(), ()):
            if succ not in seen:
                seen.add(succ)
                todo.append(succ)
    return seen


@settings(max_examples=200, deadline=None)
@given(graphs)
def test_tarjan_matches_mutual_reachability(graph: dict[str, list[str]]) -> None:
    nodes = set(graph) | {succ for succs in graph.values() for succ in succs}
    components = strongly_connected_components(graph)
    got = {frozenset(c) for c in components}
    reach = {node: _reachable(graph, node) for node in nodes}
    expected = {frozenset(m for m in nodes if m in reach[n] and n in reach[m]) for n in nodes}
    assert got == expected
    assert sum(len(c) for c in components) == len(nodes)


ids = st.sampled_from(["US-001", "US-002", "US-003", "US-404", "EPIC-001", "EPIC-9"])
dependencies = st.lists(
    st.one_of(
        ids.map(lambda t: Dependency(raw=t, kind="epic" if "EPIC" in t else "story", target=t)),
        st.just(Dependency(raw="All previous stories", kind="phrase")),
        st.just(Dependency(raw="None", kind="none")),
    ),
    max_size=3,
)
tasks = st.lists(
    st.builds(
        Task,
        title=st.just("work"),
        hours=st.one_of(st.none(), st.floats(min_value=0, max_value=200)),
        roles=st.lists(st.sampled_from(["Backend", "QA", "Designer", ""]), max_size=2).map(tuple),
    ),
    max_size=3,
).map(tuple)
stories = st.builds(
    lambda number, points, deps, work, priority: story(
        f"US-00{number}",
        10 * number,
        points=points,
        dependencies=tuple(deps),
        dependencies_raw=", ".join(d.raw for d in deps) or None,
        tasks=work,
        priority=priority,
    ),
    st.integers(min_value=1, max_value=3),
    st.one_of(st.none(), st.integers(min_value=0, max_value=40)),
    dependencies,
    tasks,
    st.sampled_from([None, "", "High"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(stories, min_size=1, max_size=3, unique_by=lambda s: s.id),
    st.lists(st.sampled_from(["US-001", "US-002", "US-003", "US-404"]), max_size=4),
    st.one_of(st.none(), st.integers(min_value=0, max_value=30)),
)
def test_no_rule_crashes_and_findings_are_well_formed(
    chosen: list, committed: list[str], capacity: int | None
) -> None:
    backlog = clean_backlog(*chosen).replace(
        sprints=(
            Sprint(
                number=1,
                capacity_points=capacity,
                committed=tuple(SprintCommitment(story_id=c) for c in committed),
            ),
        )
    )
    findings = run_rules(backlog, RulesConfig(preview=True))
    assert [f for f in findings if f.rule == CRASH_RULE] == []
    for finding in findings:
        assert finding.item and finding.message and finding.line >= 0
