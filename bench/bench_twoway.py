"""Two-way sync benchmark: the reads a plan with live drift makes, and a pull of 500 changed
issues into a Markdown file.

Run: ``.venv/bin/python bench/bench_twoway.py``

1. Reads: the reference backlog is applied to the Jira and GitHub sandboxes (Projects v2 board
   on), a first GitHub plan keeps the dependencies it read, a teammate marks a story as
   blocked on GitHub (live drift), then ``plan --target jira`` and ``plan --target github`` run
   through the CLI; the drift reads are counted by the sandboxes (Jira: ``/search/jql``
   requests; GitHub: board ``projectItems`` pages, issue listings and the per-issue dependency
   reads, one per issue with blockers that may have changed: GitHub's published GraphQL schema
   has no field for an issue's dependencies). Target: at most 1 read per 50 linked stories
   (rounded up) plus the board pages, plus on GitHub one dependency read per story whose
   blockers changed.
2. Pull: a synthetic backlog of 600 stories (``bench/synthetic.py``); the tracker holds new
   points, priority and status for 500 of them. ``compare`` + ``pull_into`` (the per-field
   merge and the byte-exact rewrite, no network) are timed, best of 3. Target: under 2 s.
The last lines print PASS or MISS; exit 1 when a target is missed.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import sys
import tempfile
import time
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backlog.edit import FieldEdit  # noqa: E402
from backlog.model import Story  # noqa: E402
from backlog.parse import parse_text  # noqa: E402
from bench.synthetic import make_backlog_markdown  # noqa: E402
from sync.twoway import LiveItem, compare  # noqa: E402

PULL_LIMIT_S = 2.0
READS_PER_ITEMS = 50
CHANGED_DEPENDENCIES = 1  # stories a teammate blocks on GitHub before the measured plan


class _Tracker:
    """A DriftSource whose tracker moved 500 stories: points +1, priority Low, a status."""

    target = "bench"
    fields = ("points", "priority", "status")

    def __init__(self, stories: list[Story], changed: int) -> None:
        self.items = {
            s.id: LiveItem(
                s.id,
                f"B-{n}",
                {"points": (s.points or 0) + 1, "priority": "Low", "status": "In Progress"}
                if n < changed
                else {"points": s.points, "priority": s.priority, "status": None},
            )
            for n, s in enumerate(stories)
        }

    def file_values(self, story: Story, written: Mapping[str, str]) -> dict[str, Any]:
        return {"points": story.points, "priority": story.priority, "status": written.get("status")}

    def live(self) -> dict[str, LiveItem]:
        return self.items

    def edit(self, story: Story, name: str, value: Any) -> FieldEdit | None:
        return FieldEdit(story.id, name, str(value))

    def adopt(self, story: Story, name: str, value: Any) -> Story:
        return story

    def who_changed(self, wanted: Collection[tuple[str, str]]) -> dict[tuple[str, str], str]:
        return {}


def bench_pull(n_stories: int = 600, changed: int = 500) -> float:
    from backlog.edit import apply_edits
    from bot.targets.twoway import PullResult

    text = make_backlog_markdown(n_stories)
    backlog = parse_text(text, "synthetic.md")
    stories = list(backlog.iter_stories())
    tracker = _Tracker(stories, changed)
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        drift = compare(tracker, backlog, text, {}, tracker.live())
        by_id = {s.id: s for s in stories}
        edits = [
            edit
            for m in drift.to_pull
            if (edit := tracker.edit(by_id[m.item], m.field, m.tracker)) is not None
        ]
        result = PullResult(drift, apply_edits(text, backlog, edits))
        best = min(best, time.perf_counter() - start)
    assert len({e.story_id for e in result.edit.applied}) == changed, len(result.edit.applied)
    print(
        f"pull: {changed} of {n_stories} stories changed on the tracker "
        f"({len(result.edit.applied)} fields written, {len(text):,} bytes): {best:.3f} s"
    )
    return best


def bench_reads() -> dict[str, tuple[int, int]]:
    """Drift reads of ``plan`` per target: (reads, linked stories)."""
    from bot.cli.app import main
    from sandbox.github import GitHubSandbox
    from sandbox.jira import JiraSandbox

    reference = str(ROOT / "examples" / "bss-modernization.md")
    found: dict[str, tuple[int, int]] = {}
    with tempfile.TemporaryDirectory() as folder, JiraSandbox() as jira, GitHubSandbox() as gh:
        os.environ.update(
            {**jira.env(), **gh.env(), "DATABASE_URL": f"sqlite:///{folder}/state.db"}
        )
        os.environ.pop("BACKLOG_BOT_CONFIG", None)
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["apply", reference, "--target", "all"]) == 0
            gh.clear_requests()
            # the first plan reads every story with blockers (and keeps what it read)
            assert main(["plan", reference, "--target", "github"]) == 0
            first = _dependency_reads(gh)
            _teammate_blocks_a_story(gh)  # live drift: one story blocked on GitHub
            jira.clear_requests()
            gh.clear_requests()
            assert main(["plan", reference, "--target", "jira"]) == 0
            assert main(["plan", reference, "--target", "github"]) == 0
        stories = sum(1 for _ in parse_text(Path(reference).read_text(), "r").iter_stories())
        searches = sum(1 for r in jira.requests if "/search/jql" in r.path)
        metadata = sum(1 for r in jira.requests if "/search/jql" not in r.path)
        linked = jira.state.summary()["issues"]
        found["jira"] = (searches, linked)
        board_pages = sum(
            1 for r in gh.requests() if r["path"] == "/graphql" and "projectItems" in str(r["body"])
        )
        listings = sum(1 for r in gh.requests() if r["path"].endswith("/issues"))
        per_issue = _dependency_reads(gh)
        found["github"] = (board_pages + listings + per_issue, len(gh.issues_by_marker()))
        print(
            f"plan reads: jira {searches} search page(s) (the plan's and the drift's) for "
            f"{linked} linked issues ({stories} stories), plus {metadata} project metadata GETs"
        )
        print(
            f"plan reads: github {board_pages} board page(s) + {listings} issue listing(s) "
            f"+ {per_issue} per-issue dependency read(s) for {stories} linked stories, one "
            "of them blocked by a teammate since the last plan (the first plan after apply: "
            f"{first} dependency read(s), one per story with blockers)"
        )
    return found


def _dependency_reads(gh: Any) -> int:
    """GETs of an issue's dependencies or sub-issues (one request per issue)."""
    return sum(
        1
        for r in gh.requests()
        if r["method"] == "GET" and ("/dependencies/" in r["path"] or "/sub_issues" in r["path"])
    )


def _teammate_blocks_a_story(gh: Any) -> None:
    """Dave marks the last story with no blocker as blocked by the first story, through
    GitHub's REST API."""
    import httpx

    issues = gh.issues_by_marker()
    stories = sorted(item for item in issues if not item.startswith("EPIC"))
    blocker = issues[stories[0]][0]
    headers = {"Authorization": f"Bearer {gh.user_token('dave')}"}
    with httpx.Client(base_url=gh.url, headers=headers) as http:
        blocker_id = http.get(f"/repos/acme/bss/issues/{blocker}").json()["id"]
        for item in reversed(stories[1:]):
            path = f"/repos/acme/bss/issues/{issues[item][0]}/dependencies/blocked_by"
            if not http.get(path).json():
                http.post(path, json={"issue_id": blocker_id}).raise_for_status()
                return
    raise SystemExit("no story without blockers to block")


def main() -> int:
    ok = True
    seconds = bench_pull()
    verdict = "PASS" if seconds < PULL_LIMIT_S else "MISS"
    ok &= verdict == "PASS"
    print(f"{verdict} pull of 500 changed issues under {PULL_LIMIT_S} s ({seconds:.3f} s)")
    for target, (reads, stories) in bench_reads().items():
        allowed = math.ceil(stories / READS_PER_ITEMS)
        extra = ""
        if target == "github":
            # the board page, and the dependency read of the one story whose blockers changed:
            # GitHub has no batch read of dependencies, so one per changed story is the least
            allowed += 1 + CHANGED_DEPENDENCIES
            extra = f" (incl. the board page and {CHANGED_DEPENDENCIES} changed story's blockers)"
        verdict = "PASS" if reads <= allowed else "MISS"
        ok &= verdict == "PASS"
        print(
            f"{verdict} {target}: {reads} issue read(s) <= {allowed}{extra} "
            f"for {stories} linked issues"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
