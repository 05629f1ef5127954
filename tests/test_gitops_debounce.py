"""A burst of tracker webhooks makes ONE GitOps run: people edit twenty issues on GitHub in a
few seconds (PyGithub against the sandbox, whose webhooks reach the live service's real
route); with ``[sync] gitops-debounce-seconds`` the deliveries only mark the run as due in the
shared database, and one run happens once the burst is quiet -- one commit on
``backlog-bot/sync`` and one pull request, also with two replicas on one PostgreSQL; an edit
after the quiet period is a second commit on the same pull request. The due row itself is
tested on SQLite and PostgreSQL with a stepped clock (quiet period, max wait, a run that a
delivery overtakes, a failed run's backoff)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backlog.errors import RemoteError
from bot.config_schema import TABLES
from bot.gitops.debounce import Debouncer
from bot.gitops.run import BRANCH, TITLE, GitOpsConfig, Outcome
from bot.service.issue_locks import IssueLocks
from bot.settings import load_settings
from sync.state.due import DueRuns
from tests.github_support import migrated_engine
from tests.service_support import GITHUB_SECRET, wait_until
from tests.test_gitops import Team, open_team

QUIET = 3.0
SYNC = f"gitops-debounce-seconds = {QUIET}\ngitops-max-wait-seconds = 60\n"
KEY = "gitops:acme/bss"
STORIES = ("US-001", "US-002")  # the billing backlog's


def _edit(team: Team, times: int, start: int = 0) -> dict[str, str]:
    """``times`` title edits spread over the stories -> each story's last title."""
    last = {}
    for n in range(start, start + times):
        story = STORIES[n % len(STORIES)]
        title = f"Edited title {n}"
        team.repo().get_issue(team.number(story)).edit(title=f"{story} · {title}")
        last[story] = title
    return last


def _run_done(team: Team) -> None:
    """Every delivery processed, and the run they made due finished."""
    due = DueRuns(team.app.state.service.engine)
    team.settle()
    wait_until(lambda: not due.is_pending(KEY), timeout=60, what="the due run finished")
    team.settle()  # what the run sent (its pull request's events) processed too
    assert not due.is_pending(KEY)


def _commits(team: Team) -> list[dict[str, Any]]:
    return [r for r in team.github.requests() if r["method"] == "POST"
            and r["path"].endswith("/git/commits")]  # fmt: skip


def _pulls_created(team: Team) -> int:
    return sum(1 for r in team.github.requests()
               if r["method"] == "POST" and r["path"].endswith("/pulls"))  # fmt: skip


def _check_branch(team: Team, titles: dict[str, str]) -> None:
    text = team.file_on(BRANCH)
    for title in titles.values():
        assert f": {title}\n" in text, title


def test_a_burst_of_twenty_deliveries_makes_one_commit_and_a_later_one_a_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_team(tmp_path, monkeypatch, with_jira=False, sync=SYNC) as team:
        titles = _edit(team, 20)
        _run_done(team)
        assert len(team.github.webhooks.deliveries) >= 20  # every edit was a delivery
        [pull] = team.open_pulls()
        assert pull.title == TITLE
        assert (len(_commits(team)), _pulls_created(team)) == (1, 1)
        _check_branch(team, titles)
        for story, title in titles.items():
            assert f"github {story} #{team.number(story)}: title" in pull.body
            assert f"-> '{title}'" in pull.body
        [commit] = team.repo().compare("main", BRANCH).commits

        # after the quiet period: a delivery makes a second commit on the same pull request
        later = _edit(team, 1, start=20)
        _run_done(team)
        [again] = team.open_pulls()
        assert again.number == pull.number
        assert (len(_commits(team)), _pulls_created(team)) == (2, 1)
        first, second = team.repo().compare("main", BRANCH).commits
        assert first.sha == commit.sha and second.sha != commit.sha  # on top of the first
        _check_branch(team, {**titles, **later})


@pytest.mark.postgres
def test_two_replicas_on_one_postgresql_still_make_one_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    with open_team(
        tmp_path, monkeypatch, with_jira=False, sync=SYNC, database=postgres_url, replicas=2
    ) as team:
        first = _edit(team, 10)
        team.github.webhooks.drain()
        # the rest of the burst reaches the other replica's route
        team.github.webhooks.configure(team.urls[1] + "/webhooks/github", GITHUB_SECRET)
        titles = {**first, **_edit(team, 10, start=10)}
        _run_done(team)
        [_pull] = team.open_pulls()
        assert (len(_commits(team)), _pulls_created(team)) == (1, 1)
        _check_branch(team, titles)


def test_the_due_row_waits_for_quiet_but_not_past_the_max_wait(database_url: str) -> None:
    engine = migrated_engine(database_url)
    noon = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    now = [noon]
    due = DueRuns(engine, clock=lambda: now[0])

    def at(seconds: float) -> datetime:
        return noon + timedelta(seconds=seconds)

    def step(seconds: float) -> None:
        now[0] = at(seconds)

    def mark(received: float | None = None) -> datetime | None:
        when = None if received is None else at(received)
        return due.mark(KEY, quiet=10, max_wait=30, at=when)

    try:
        assert mark() == at(10)
        step(8)  # each delivery pushes the due time on ...
        assert mark() == at(18)
        assert due.due(KEY) is None and due.is_pending(KEY)
        assert mark(received=5) == at(18)  # (one received earlier, handled late: no earlier)
        step(25)  # ... but never past the max wait after the burst's first one
        assert mark() == at(30)
        step(30)
        row = due.due(KEY)
        assert row is not None
        version = due.start(row, lease=120)
        assert version is not None
        assert due.start(row, lease=120) is None  # started once
        assert due.due(KEY) is None  # (due again after the lease, should the run die)
        assert mark(received=28) is None  # received before the run began: the run reads it
        assert due.finish(KEY, version) is True
        assert not due.is_pending(KEY)

        step(40)
        assert mark() == at(50)
        step(50)
        row = due.due(KEY)
        assert row is not None
        version = due.start(row, lease=120)
        assert version is not None
        step(51)  # received during the run: a new burst, due after its own quiet period
        assert mark() == at(61)
        assert due.finish(KEY, version) is False  # still due, for that one
        step(61)
        row = due.due(KEY)
        assert row is not None and row.burst_started_at == at(51)
        assert due.start(row, lease=120) is not None
        assert due.fail(KEY) == at(91)  # failed: due again after the backoff
        assert due.fail(KEY) == at(121)  # (doubling)
        step(70)
        assert mark() == at(80)  # a new change brings it forward
        step(80)
        row = due.due(KEY)
        assert row is not None
        version = due.start(row, lease=120)
        assert version is not None

        step(200)  # the replica running it died: due again once the lease ran out
        row = due.due(KEY)
        assert row is not None and row.due_at == at(200)
        version = due.start(row, lease=120)
        assert version is not None and due.finish(KEY, version) is True
        assert not due.is_pending(KEY)
    finally:
        engine.dispose()


def test_debounce_settings_are_validated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from backlog.errors import ConfigurationError

    config = tmp_path / "backlog-bot.toml"
    monkeypatch.setenv("BACKLOG_BOT_CONFIG", str(config))
    head = '[validation]\nbacklog-path = "docs/backlog.md"\n[sync]\n'
    config.write_text(head)
    settings = load_settings(github_token="t", github_repository="acme/bss")
    found = GitOpsConfig.from_settings(settings)
    assert found is not None and (found.debounce_seconds, found.max_wait_seconds) == (10.0, 60.0)
    schema = TABLES["sync"].keys
    assert schema["gitops_debounce_seconds"].default == found.debounce_seconds
    assert schema["gitops_max_wait_seconds"].default == found.max_wait_seconds
    config.write_text(head + "gitops-debounce-seconds = 0\n")
    found = GitOpsConfig.from_settings(settings)
    assert found is not None and found.debounce_seconds == 0.0
    config.write_text(head + "gitops-debounce-seconds = -1\n")
    with pytest.raises(ConfigurationError, match=r"\[sync\] gitops-debounce-seconds = -1"):
        GitOpsConfig.from_settings(settings)
    config.write_text(head + "gitops-debounce-seconds = 30\ngitops-max-wait-seconds = 20\n")
    with pytest.raises(ConfigurationError, match="gitops-max-wait-seconds = 20 is shorter"):
        GitOpsConfig.from_settings(settings)


class CountingRuns:
    """A GitOps runner that counts its runs (slowly, so that runs could overlap) and fails
    while ``failing``."""

    def __init__(self) -> None:
        self.runs = 0
        self.failing = False

    def run(self) -> Outcome:
        self.runs += 1
        time.sleep(0.2)
        if self.failing:
            raise RemoteError("GitHub: 502 Bad Gateway")
        return Outcome("updated", 7)


def test_replicas_polling_one_due_row_run_it_once_and_a_failure_is_due_again(
    database_url: str,
) -> None:
    engine = migrated_engine(database_url)
    runner = CountingRuns()
    replicas = [
        Debouncer(
            runner,  # type: ignore[arg-type]
            DueRuns(engine),
            key=KEY,
            hold=IssueLocks(engine, lease_seconds=30).hold,
            quiet_seconds=0.3,
            max_wait_seconds=5,
            lease_seconds=30,
        )
        for _ in range(3)
    ]
    try:
        for _ in range(5):
            replicas[0].mark()
        assert all(replica.run_due() is None for replica in replicas)  # not quiet yet
        time.sleep(0.4)
        with ThreadPoolExecutor(len(replicas) * 2) as pool:
            outcomes = list(pool.map(lambda r: r.run_due(), replicas * 2))
        assert [o.action for o in outcomes if o is not None] == ["updated"]
        assert runner.runs == 1 and not DueRuns(engine).is_pending(KEY)

        runner.failing = True
        replicas[1].mark()
        time.sleep(0.4)
        assert replicas[2].run_due() is None and runner.runs == 2
        row = DueRuns(engine).read(KEY)
        assert row is not None and row.failures == 1 and row.due_at is not None
        assert row.due_at > datetime.now(UTC) + timedelta(seconds=25)  # after the backoff
        assert all(replica.run_due() is None for replica in replicas) and runner.runs == 2
    finally:
        engine.dispose()
