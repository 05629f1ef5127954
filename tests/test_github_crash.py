"""Crash safety: a process killed between creating an issue and recording it leaves no
duplicate behind — the next run finds the issue by its hidden marker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import Session, select

from backlog.parse import load_backlog
from sandbox.github import GitHubSandbox
from sync.state.tables import SyncLink
from tests.github_support import github_target, migrated_engine

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "examples" / "bss-modernization.md"

APPLY = """
import os
from sync.calls import CallCounter
from sync.state.db import make_engine
from sync.github.adapter import GitHubRestAdapter
from sync.github.graphql import GitHubProjectsClient
from sync.github.limits import PacingPolicy, RateGovernor
from sync.github.engine import GitHubSync
from sync.github.mapping import GitHubOptions
from sync.state.links import LinkStore
from backlog.parse import load_backlog

env = os.environ
counter, governor = CallCounter(), RateGovernor(PacingPolicy.off())
common = dict(api_url=env["GITHUB_API_URL"], token=env["GITHUB_TOKEN"],
              repository=env["GITHUB_REPOSITORY"], counter=counter, governor=governor)
rest = GitHubRestAdapter(**common)
projects = GitHubProjectsClient(**common)
sync = GitHubSync(rest, LinkStore(make_engine(env["DATABASE_URL"]), "github"), GitHubOptions(),
                  projects=projects, project_title=env["GITHUB_PROJECT"])
sync.apply(load_backlog(env["BACKLOG"]))
"""


def _issue_creates(sandbox: GitHubSandbox) -> int:
    return sum(
        1 for r in sandbox.requests() if r["method"] == "POST" and r["path"].endswith("/issues")
    )


@pytest.mark.slow  # a real `apply` process, killed and run again
def test_killed_mid_apply_then_rerun_creates_nothing_twice(sqlite_url: str) -> None:
    engine = migrated_engine(sqlite_url)
    with GitHubSandbox() as sandbox:
        # the 10th issue is created, then the answer is withheld until the client is killed
        sandbox.limits.add_fault(
            kind="hang", method="POST", path=r"/issues$", after=9, retry_after=4
        )
        env = {**os.environ, **sandbox.env(), "DATABASE_URL": sqlite_url, "BACKLOG": str(REFERENCE)}
        process = subprocess.Popen([sys.executable, "-c", APPLY], cwd=ROOT, env=env)
        deadline = time.monotonic() + 60
        try:
            while not any(r["fault"] == "hang" for r in sandbox.requests()):
                assert process.poll() is None, "apply ended before the injected hang"
                assert time.monotonic() < deadline, "the hang was never reached"
                time.sleep(0.02)
        finally:
            process.kill()
            process.wait(timeout=10)
        assert len(sandbox.issues_by_marker()) == 10
        with Session(engine) as session:
            recorded = session.exec(
                select(SyncLink).where(SyncLink.kind.in_(["epic", "story"]))  # type: ignore[attr-defined]
            ).all()
        assert len(recorded) == 9  # the 10th issue exists on GitHub but not in our records

        sandbox.clear_requests()
        with github_target(sandbox, engine) as target:
            report = target.sync.apply(load_backlog(REFERENCE))
        assert report.failures == []
        markers = sandbox.issues_by_marker()
        assert len(markers) == 33 and all(len(n) == 1 for n in markers.values())
        assert _issue_creates(sandbox) == 33 - 10
    engine.dispose()
