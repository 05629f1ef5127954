"""Benchmark of the Jira sync against the sandbox: HTTP calls and wall time of the first
apply of the reference backlog, of a no-op re-apply, of a one-story change and of a pull.

Targets (from the Jira issue): a no-op re-apply makes zero write calls; one changed story
makes exactly one write; bulk creates go 50 issues per call.

Run: ``.venv/bin/python bench/bench_jira.py [--flavour team|company] [--postgres ADMIN_URL]``
(prints the figures; exit 1 if a target is missed). The sandbox runs in-process over
loopback HTTP with no pacing, so times measure backlog-bot plus the emulator, not Jira.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backlog.parse import load_backlog  # noqa: E402
from sandbox.jira import JiraSandbox, ProjectSpec  # noqa: E402
from sync.jira.adapter import JiraAdapter  # noqa: E402
from sync.jira.engine import JiraSync  # noqa: E402
from sync.jira.mapping import JiraMappingConfig  # noqa: E402
from sync.state.db import make_engine, upgrade  # noqa: E402
from sync.state.links import LinkStore  # noqa: E402

REFERENCE = ROOT / "examples" / "bss-modernization.md"
SOURCE = "examples/bss-modernization.md"


def measure(label: str, engine: JiraSync, action: Callable[[], Any]) -> dict[str, Any]:
    engine.port.calls.reset()
    start = time.perf_counter()
    action()
    elapsed = time.perf_counter() - start
    calls = engine.port.calls.snapshot()
    row = {
        "label": label,
        "seconds": elapsed,
        "calls": sum(calls.values()),
        "writes": engine.port.calls.writes("jira"),
        "by_method": calls,
    }
    methods = ", ".join(f"{k.split()[1]} {v}" for k, v in calls.items())
    timing = f"{elapsed * 1000:8.0f} ms"
    print(f"{label:<20} {timing}  {row['calls']:4d} calls ({methods}); writes {row['writes']}")
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flavour", choices=("team", "company"), default="team")
    parser.add_argument(
        "--postgres",
        default=None,
        metavar="ADMIN_URL",
        help="run on a scratch database created (and dropped) on this PostgreSQL server, "
        "e.g. postgresql://postgres@127.0.0.1:5432/test; default: a temporary SQLite file",
    )
    args = parser.parse_args()
    if args.postgres:
        with scratch_postgres(args.postgres) as url:
            return run(args.flavour, url)
    return run(args.flavour, f"sqlite:///{tempfile.mkdtemp()}/bench.db")


@contextmanager
def scratch_postgres(admin_url: str) -> Iterator[str]:
    import psycopg

    name = f"bench_jira_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(flavour: str, url: str) -> int:
    upgrade(url)
    backlog = load_backlog(REFERENCE)
    changed = backlog.replace(
        epics=tuple(
            epic.replace(
                stories=tuple(s.replace(points=5) if s.id == "US-010" else s for s in epic.stories)
            )
            for epic in backlog.epics
        )
    )
    db = make_engine(url)
    print(
        f"reference backlog: {len(backlog.epics)} epics, {len(backlog.stories)} stories, "
        f"{sum(len(s.tasks) for s in backlog.stories)} tasks, {len(backlog.sprints)} sprints; "
        f"{flavour}-managed project; {url.split(':')[0]}"
    )
    with JiraSandbox([ProjectSpec("BSS", flavour=flavour)]) as site:
        adapter = JiraAdapter(site.url, site.email, site.token, "BSS", requests_per_second=0)
        engine = JiraSync(
            adapter,
            LinkStore(db, "jira"),
            JiraMappingConfig.from_table({"sprint_start": "2026-01-05"}),
        )
        measure("first apply", engine, lambda: engine.apply(backlog, SOURCE))
        noop = measure("no-op re-apply", engine, lambda: engine.apply(backlog, SOURCE))
        one = measure("one changed story", engine, lambda: engine.apply(changed, SOURCE))
        measure("pull (sync)", engine, engine.pull)
        bulk = [r for r in site.requests if r.path.endswith("/issue/bulk")]
        summary = site.state.summary()
    db.dispose()
    print(f"bulk create calls: {len(bulk)} for {summary['issues']} issues")
    print(f"links {summary['links']}, sprints {summary['sprints']}")
    failures = []
    if noop["writes"] != 0:
        failures.append(f"no-op re-apply made {noop['writes']} write calls (target 0)")
    if one["writes"] != 1:
        failures.append(f"one changed story made {one['writes']} write calls (target 1)")
    if len(bulk) != 5:
        failures.append(
            f"{len(bulk)} bulk calls (target 5: 1 epics, 1 stories, 3 sub-task batches)"
        )
    for failure in failures:
        print(f"MISSED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
