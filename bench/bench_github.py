"""GitHub sync figures for the reference backlog, against the sandbox GitHub over HTTP.

Prints, for the default mapping (tasks as task lists) and for tasks/subtasks as sub-issues:
calls of the first apply and of a no-op re-apply (REST by method, GraphQL by operation),
calls of a one-story change, wall time with pacing off, and the time pacing needs against
github.com's documented limits, computed from the counts:

- content-creating requests (REST POST/PATCH/PUT/DELETE and GraphQL mutations): at least one
  second apart, at most 80 per minute and 500 per hour (simulated with the adapter's own
  ``RateGovernor`` on a virtual clock);
- secondary points: 900 per minute for REST (GET 1, writes 5), 2,000 per minute for GraphQL
  (queries 1, mutations 5) — a lower bound on minutes;
- primary: 5,000 REST requests per hour.

Run: ``.venv/bin/python bench/bench_github.py``
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backlog.parse import load_backlog, parse_text  # noqa: E402
from sandbox.github import GitHubSandbox  # noqa: E402
from sync.calls import CallCounter  # noqa: E402
from sync.github.adapter import GitHubRestAdapter  # noqa: E402
from sync.github.engine import GitHubSync  # noqa: E402
from sync.github.graphql import GitHubProjectsClient  # noqa: E402
from sync.github.limits import PacingPolicy, RateGovernor  # noqa: E402
from sync.github.mapping import GitHubOptions, desired_state  # noqa: E402
from sync.state.db import make_engine, upgrade  # noqa: E402
from sync.state.links import LinkStore  # noqa: E402

REFERENCE = ROOT / "examples" / "bss-modernization.md"


def run(sandbox: GitHubSandbox, engine, backlog, options) -> tuple[dict[str, int], float]:  # type: ignore[no-untyped-def]
    counter = CallCounter()
    governor = RateGovernor(PacingPolicy.off())
    common = {
        "api_url": sandbox.url,
        "token": sandbox.token,
        "repository": "acme/bss",
        "counter": counter,
        "governor": governor,
    }
    rest = GitHubRestAdapter(**common)
    projects = GitHubProjectsClient(**common)
    try:
        store = LinkStore(engine, "github")
        sync = GitHubSync(
            rest, store, options, projects=projects, project_title=sandbox.project_title
        )
        started = time.perf_counter()
        report = sync.apply(backlog)
        elapsed = time.perf_counter() - started
        if report.failures:
            raise SystemExit(f"apply failed: {report.failures[:3]}")
        return report.http_calls, elapsed
    finally:
        rest.close()
        projects.close()


def split(calls: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    rest = {k.removeprefix("github "): v for k, v in calls.items() if "graphql:" not in k}
    graphql = {k.removeprefix("github graphql:"): v for k, v in calls.items() if "graphql:" in k}
    return rest, graphql


def pacing_seconds(writes: int) -> float:
    """Time the adapter's pacing takes for ``writes`` content-creating requests on github.com."""
    clock = [0.0]
    governor = RateGovernor(
        PacingPolicy(), sleep=lambda s: clock.__setitem__(0, clock[0] + s), clock=lambda: clock[0]
    )
    for _ in range(writes):
        governor.before(is_write=True)
    return clock[0]


def describe(title: str, calls: dict[str, int], seconds: float) -> None:
    rest, graphql = split(calls)
    rest_writes = sum(v for k, v in rest.items() if k not in ("GET", "HEAD"))
    rest_reads = sum(rest.values()) - rest_writes
    mutations = sum(v for k, v in graphql.items() if k.startswith("mutation:"))
    queries = sum(graphql.values()) - mutations
    print(
        f"  {title}: {sum(calls.values())} calls, {seconds:.2f} s against the sandbox (pacing off)"
    )
    print(f"    REST    {sum(rest.values()):4d}: " + ", ".join(f"{k} {v}" for k, v in rest.items()))
    print(
        f"    GraphQL {sum(graphql.values()):4d}: "
        + ", ".join(f"{k} {v}" for k, v in graphql.items())
    )
    writes = rest_writes + mutations
    if writes:
        paced = pacing_seconds(writes)
        rest_points = rest_reads + 5 * rest_writes
        gql_points = queries + 5 * mutations
        floor = max(rest_points / 900, gql_points / 2000) * 60
        print(
            f"    github.com pacing: {writes} content-creating requests -> {paced:.0f} s "
            f"({paced / 60:.1f} min; 1 s apart, <=80/min, <=500/h); secondary points "
            f"REST {rest_points}/900 per min, GraphQL {gql_points}/2000 per min "
            f"(lower bound {floor:.0f} s); primary: {sum(rest.values())}/5000 per hour"
        )


def scenario(label: str, options: GitHubOptions) -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    backlog = parse_text(text, source=str(REFERENCE))
    desired = desired_state(backlog, options)
    start = text.index("**Story ID:** US-003")
    at = text.index("**Story Points:** 13", start)
    changed_text = text[:at] + "**Story Points:** 8" + text[at + len("**Story Points:** 13") :]
    changed = parse_text(changed_text, source="changed.md")
    with tempfile.TemporaryDirectory() as folder, GitHubSandbox() as sandbox:
        url = f"sqlite:///{folder}/bench.db"
        upgrade(url)
        engine = make_engine(url)
        print(
            f"{label}: {len(desired.issues)} issues, {len(desired.labels)} labels, "
            f"{len(desired.milestones)} milestones, {len(desired.fields)} board fields"
        )
        describe("first apply", *run(sandbox, engine, backlog, options))
        describe("no-op re-apply", *run(sandbox, engine, backlog, options))
        describe("one story's points changed", *run(sandbox, engine, changed, options))
        engine.dispose()


def main() -> None:
    backlog = load_backlog(REFERENCE)
    print(f"reference backlog: {len(backlog.epics)} epics, {len(backlog.stories)} stories")
    scenario("default mapping (tasks and subtasks as task lists)", GitHubOptions())
    scenario(
        "tasks and subtasks as sub-issues",
        GitHubOptions(tasks_as="sub-issues", subtasks_as="sub-issues"),
    )


if __name__ == "__main__":
    main()
