"""GitOps mode end to end, the way a team works: the backlog lives in the GitHub repository,
people edit issues in Jira (``jira`` client) and on GitHub (PyGithub), the trackers' webhooks
reach the live service, which proposes the changes as ONE pull request
``backlog-bot: changes from Jira/GitHub`` on ``backlog-bot/sync``, updated in place by the
next change (new commit, same number, new body); merging it (PyGithub, through the sandbox's
merge endpoint, which sends GitHub's ``push`` webhook) runs the push -> apply path, which
writes nothing to either tracker (the sandboxes' request logs say so)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from github import Auth, Github
from jira import JIRA

from bot.cli.app import main
from bot.gitops.run import BRANCH, MARKER, TITLE, GitOpsConfig
from bot.service.app import create_app
from bot.settings import load_settings
from bot.wiring.container import build_service
from bot.wiring.gitops import build_gitops
from sandbox.github import GitHubSandbox
from sandbox.jira import JiraSandbox
from tests.github_support import migrated_engine
from tests.service_support import GITHUB_SECRET, JIRA_SECRET, LiveApp, wait_until

BILLING = Path(__file__).resolve().parent / "data" / "billing-backlog.md"
TABLES = Path(__file__).resolve().parent / "data" / "realworld" / "kdu-lost-found.md"
# The billing backlog with its rule errors fixed: the push after the merge may apply it.
CLEAN = [
    ("**Total Story Points:** 30 points", "**Total Story Points:** 13 points"),
    ("| Backend Developer | 100% | 10 hrs | 20 hrs |",
     "| Backend Developer | 100% | 12 hrs | 24 hrs |"),
    ("**Story Points:** 21 points", "**Story Points:** 13 points"),
    ("**Capacity:** 10 story points", "**Capacity:** 13 story points"),
    (
        "> As a customer, I want to download an invoice as PDF.",
        "> As a customer, I want to download an invoice as PDF so that I can file it.",
    ),
]  # fmt: skip
TRACKER_WRITES = ("POST", "PUT", "PATCH", "DELETE")


def clean_backlog() -> str:
    text = BILLING.read_text(encoding="utf-8")
    for old, new in CLEAN:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


@dataclass
class Team:
    github: GitHubSandbox
    jira: JiraSandbox | None
    app: Any
    gh: Github
    text: str  # the backlog as first pushed to main
    urls: tuple[str, ...] = ()  # each replica's base URL (the first is ``app``'s)

    def settle(self) -> None:
        """Every webhook sent and processed, and what processing sent in turn."""
        inbox = self.app.state.service.inbox
        for _ in range(3):
            self.github.webhooks.drain()
            if self.jira is not None:
                self.jira.webhooks.flush()
            wait_until(
                lambda: inbox.counts()["queued"] + inbox.counts()["processing"] == 0,
                timeout=30,
                what="inbox drained",
            )

    def repo(self) -> Any:
        return self.gh.get_repo("acme/bss")

    def open_pulls(self) -> list[Any]:
        return list(self.repo().get_pulls(state="open", head=f"acme:{BRANCH}"))

    def file_on(self, ref: str) -> str:
        return str(self.repo().get_contents("backlog.md", ref=ref).decoded_content.decode())

    def number(self, story: str) -> int:
        [number] = self.github.issues_by_marker()[story]
        return number


def tracker_writes(requests: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Writes to GitHub's issues, labels, milestones and board (not the repository's git
    objects, pull requests or check runs): what an apply would change on the tracker."""
    writes = []
    for r in requests:
        if r["method"] not in TRACKER_WRITES:
            continue
        if r["path"] == "/graphql" and "mutation" not in str(r["body"]):
            continue  # GraphQL reads are POSTs too
        if any(part in r["path"] for part in ("/git/", "/pulls", "/check-runs")):
            continue
        writes.append((r["method"], r["path"]))
    return writes


def jira_writes(jira: JiraSandbox, start: int) -> list[tuple[str, str]]:
    """What Jira was asked to change since request ``start`` (searches are POSTs too)."""
    return [
        (r.method, r.path)
        for r in jira.requests[start:]
        if r.method in TRACKER_WRITES and "/search" not in r.path
    ]


def bot_commits(requests: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The bot's own writes to the repository among ``requests``: commits, refs, pull requests."""
    return [
        (r["method"], r["path"])
        for r in requests
        if r["method"] in TRACKER_WRITES and ("/git/" in r["path"] or r["path"].endswith("/pulls"))
    ]


def assert_the_merged_file_applies_with_no_writes(
    team: Team, jira: JiraSandbox, tmp_path: Path
) -> None:
    """``apply --target all`` of the default branch's file writes nothing to either tracker."""
    merged = tmp_path / "merged.md"
    merged.write_text(team.file_on("main"), encoding="utf-8")
    github_start, jira_start = len(team.github.requests()), len(jira.requests)
    assert main(["apply", str(merged), "--target", "all"]) == 0
    assert tracker_writes(team.github.requests()[github_start:]) == []
    assert jira_writes(jira, jira_start) == []


@dataclass
class Merged:
    """How many requests and deliveries there were when the pull request was merged."""

    github_start: int
    jira_start: int
    deliveries: int


def merge_a_jira_priority(team: Team, priority: str) -> tuple[JiraSandbox, Merged]:
    """US-001's priority is changed in Jira; the bot proposes it in a pull request, which the
    team merges (the service settled before and after)."""
    jira = team.jira
    assert jira is not None
    client = JIRA(jira.url, basic_auth=(jira.email, jira.token), max_retries=0)
    try:
        [us1] = jira.issues_by_label("backlog-id-US-001")
        client.issue(us1).update(fields={"priority": {"name": priority}})
    finally:
        client.close()  # type: ignore[no-untyped-call]
    team.settle()
    [pull] = team.open_pulls()
    assert team.file_on(BRANCH) == team.text.replace(
        "**Priority:** High\n", f"**Priority:** {priority}\n", 1
    )
    merged = Merged(
        len(team.github.requests()), len(jira.requests), len(team.github.webhooks.deliveries)
    )
    assert pull.merge().merged
    team.settle()
    return jira, merged


@contextmanager
def open_team(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    with_jira: bool,
    board: bool = False,
    text: str | None = None,
    sync: str = "gitops-debounce-seconds = 0\n",
    database: str | None = None,
    replicas: int = 1,
) -> Iterator[Team]:
    """The clean billing backlog (or ``text``) applied to the trackers and pushed to the
    repository's main; the live service in GitOps mode (``backlog-path``, ``apply-on-push``;
    ``sync``: the ``[sync]`` table, a run per delivery unless it says otherwise) gets the
    webhooks. ``board``: GitHub with its Projects v2 board (else issues and milestones only).
    ``replicas`` apps share ``database`` (SQLite in ``tmp_path`` by default); the webhooks go
    to the first."""
    db = database or f"sqlite:///{tmp_path / 'bot.db'}"
    engine = migrated_engine(db)
    text = clean_backlog() if text is None else text
    local = tmp_path / "backlog.md"
    local.write_text(text, encoding="utf-8")
    config = tmp_path / "backlog-bot.toml"
    config.write_text(
        f'[validation]\nbacklog-path = "backlog.md"\napply-on-push = true\n[sync]\n{sync}'
    )
    with GitHubSandbox() as github, JiraSandbox() if with_jira else _nothing() as jira:
        env = {**github.env(), "DATABASE_URL": db, "BACKLOG_BOT_CONFIG": str(config)}
        if not board:
            env.pop("GITHUB_PROJECT")  # issues only
        env.update(jira.env() if jira is not None else {})
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        if not board:
            monkeypatch.delenv("GITHUB_PROJECT", raising=False)
        assert main(["apply", str(local), "--target", "all" if jira else "github"]) == 0
        github.push_files({"backlog.md": text})  # no webhook configured yet: nothing delivered
        settings = load_settings(
            github_webhook_secret=GITHUB_SECRET,
            jira_webhook_secret=JIRA_SECRET,
            backlog_file=str(local),
            webhook_poll_seconds=0.2,
        )
        apps = [
            create_app(build_service(settings, engine=engine, scheduler=False))
            for _ in range(replicas)
        ]
        with ExitStack() as stack:
            lives = [stack.enter_context(LiveApp(app)) for app in apps]
            github.webhooks.configure(lives[0].url + "/webhooks/github", GITHUB_SECRET)
            if jira is not None:
                jira.webhooks.configure(lives[0].url + "/webhooks/jira", JIRA_SECRET)
            gh = Github(base_url=github.url, auth=Auth.Token(github.token))
            try:
                yield Team(github, jira, apps[0], gh, text, tuple(live.url for live in lives))
            finally:
                gh.close()
    engine.dispose()


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


def test_github_edits_become_one_pull_request_updated_in_place_and_merging_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_team(tmp_path, monkeypatch, with_jira=False) as team:
        us1, us2 = team.number("US-001"), team.number("US-002")
        # A teammate renames US-001 on GitHub: `issues edited` reaches the service.
        team.repo().get_issue(us1).edit(title="US-001 · Invoice list with filters")
        team.settle()
        [pull] = team.open_pulls()
        assert (pull.title, pull.head.ref, pull.base.ref) == (TITLE, BRANCH, "main")
        first = team.text.replace(
            "### Story 1.1: Invoice list\n", "### Story 1.1: Invoice list with filters\n"
        )
        assert team.file_on(BRANCH) == first  # only the heading line changed
        assert team.file_on("main") == team.text  # nothing was written to main
        assert (
            f"- github US-001 #{us1}: title 'Invoice list' -> 'Invoice list with filters' "
            "(tracker" in pull.body
        )
        assert MARKER in pull.body and "Conflicts" not in pull.body
        first_head = pull.head.sha

        # A second change: the same pull request gets a new commit and a new body.
        team.repo().get_issue(us2).edit(title="US-002 · Invoice PDF download")
        team.settle()
        [again] = team.open_pulls()
        assert again.number == pull.number and again.head.sha != first_head
        second = first.replace(
            "### Story 1.2: Invoice PDF\n", "### Story 1.2: Invoice PDF download\n"
        )
        assert team.file_on(BRANCH) == second
        assert "'Invoice PDF' -> 'Invoice PDF download'" in again.body
        assert "'Invoice list' -> 'Invoice list with filters'" in again.body
        assert len([p for p in team.repo().get_pulls(state="all") if p.title == TITLE]) == 1

        # Merge it (PUT /pulls/{n}/merge): GitHub sends `push`; the service applies it.
        start = len(team.github.requests())
        assert again.merge().merged
        team.settle()
        after = team.github.requests()[start:]
        assert tracker_writes(after) == []  # the apply wrote nothing to GitHub
        [run] = [
            r["body"] for r in after if r["method"] == "POST" and r["path"].endswith("/check-runs")
        ]
        assert run["name"] == "backlog-bot/plan" and run["conclusion"] == "success"
        assert run["output"]["summary"].startswith("- github: applied 12 unchanged")  # nothing else
        assert team.file_on("main") == second
        assert team.open_pulls() == []
        # the issues keep the team's titles
        assert team.repo().get_issue(us1).title == "US-001 · Invoice list with filters"


def test_jira_moves_reach_the_file_by_pull_request_and_the_merge_writes_to_neither_tracker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_team(tmp_path, monkeypatch, with_jira=True) as team:
        jira = team.jira
        assert jira is not None
        client = JIRA(jira.url, basic_auth=(jira.email, jira.token), max_retries=0)
        try:
            [us1] = jira.issues_by_label("backlog-id-US-001")
            [us2] = jira.issues_by_label("backlog-id-US-002")

            def move(key: str, status: str) -> None:
                [step] = [t for t in client.transitions(key) if t["to"]["name"] == status]
                client.transition_issue(key, step["id"])

            move(us1, "In Progress")  # the team starts US-001 on the Jira board
            team.settle()
            [pull] = team.open_pulls()
            first = team.text.replace(
                "**Story Points:** 8\n**Priority:** High\n",
                "**Story Points:** 8\n**Priority:** High\n**Status:** In Progress\n",
            )
            assert team.file_on(BRANCH) == first
            assert f"- jira US-001 {us1}: status (none) -> 'In Progress' (tracker" in pull.body

            move(us2, "In Progress")
            team.settle()
            [again] = team.open_pulls()
            assert again.number == pull.number and again.head.sha != pull.head.sha
            second = first.replace(
                "**Story Points:** 5\n**Priority:** Medium\n",
                "**Story Points:** 5\n**Priority:** Medium\n**Status:** In Progress\n",
            )
            assert team.file_on(BRANCH) == second
            assert f"- jira US-002 {us2}: status" in again.body

            github_start, jira_start = len(team.github.requests()), len(jira.requests)
            assert again.merge().merged
            team.settle()
            assert tracker_writes(team.github.requests()[github_start:]) == []
            jira_writes = [
                (r.method, r.path)
                for r in jira.requests[jira_start:]
                if r.method in TRACKER_WRITES and not r.path.endswith("/search/jql")
            ]
            assert jira_writes == []
            assert team.file_on("main") == second
            assert team.open_pulls() == []
        finally:
            client.close()  # type: ignore[no-untyped-call]


def test_the_scheduled_pull_proposes_changes_no_webhook_brought(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.digests.context import SlackContext
    from bot.service.metrics import Metrics
    from bot.wiring.container import _scheduler

    with open_team(tmp_path, monkeypatch, with_jira=False) as team:
        team.github.webhooks.configure(None)  # a missed delivery: only the schedule sees it
        number = team.number("US-002")
        team.repo().get_issue(number).edit(title="US-002 · Invoice PDF download")
        service = team.app.state.service
        settings = service.settings
        gitops = build_gitops(settings, service.engine)
        assert gitops is not None
        jobs = _scheduler(
            settings, SlackContext(settings, service.engine), None, Metrics(service.engine), gitops
        ).jobs
        assert jobs.pull is not None
        lines = jobs.pull(jobs.ctx, ("jira", "github"))
        [pull] = team.open_pulls()
        assert (
            lines[-1] == f"gitops: pull request #{pull.number} opened (1 change(s), 0 conflict(s))"
        )
        assert "'Invoice PDF' -> 'Invoice PDF download'" in pull.body
        # the next fire finds the same proposal: nothing is written
        start = len(team.github.requests())
        lines = jobs.pull(jobs.ctx, ("jira", "github"))
        assert (
            lines[-1]
            == f"gitops: pull request #{pull.number} unchanged (1 change(s), 0 conflict(s))"
        )
        assert [r for r in team.github.requests()[start:] if r["method"] != "GET"] == []


def test_the_scheduled_pull_waits_for_a_gitops_run_under_way_on_another_replica(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.digests.context import SlackContext
    from bot.gitops.handler import gitops_key
    from bot.service.issue_locks import IssueLocks
    from bot.service.metrics import Metrics
    from bot.wiring.container import _scheduler

    with open_team(tmp_path, monkeypatch, with_jira=False) as team:
        team.github.webhooks.configure(None)  # only the schedule sees the rename
        team.repo().get_issue(team.number("US-002")).edit(title="US-002 · Invoice PDF download")
        service = team.app.state.service
        settings = service.settings
        gitops = build_gitops(settings, service.engine)
        assert gitops is not None
        jobs = _scheduler(
            settings, SlackContext(settings, service.engine), None, Metrics(service.engine), gitops
        ).jobs
        assert jobs.pull is not None
        # another replica's webhook-driven run holds the repository's lock
        locks = IssueLocks(service.engine)
        key = gitops_key(str(settings.github_repository))
        token = locks.acquire(key)
        assert token is not None
        start = len(team.github.requests())
        lines = jobs.pull(jobs.ctx, ("github",))
        assert lines[-1] == (
            f"gitops: another run for {settings.github_repository} is under way; "
            "the next fire proposes what it did not read"
        )
        assert [r for r in team.github.requests()[start:] if r["method"] != "GET"] == []
        assert team.open_pulls() == []
        locks.release(key, token)
        lines = jobs.pull(jobs.ctx, ("github",))
        [pull] = team.open_pulls()
        assert lines[-1].startswith(f"gitops: pull request #{pull.number} opened")
        # the lock is released after the run: the next fire takes it again
        assert locks.acquire(key) is not None


def test_gitops_is_off_without_backlog_path_or_when_switched_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "backlog-bot.toml"
    monkeypatch.setenv("BACKLOG_BOT_CONFIG", str(config))
    config.write_text("[validation]\nenforce = []\n")
    settings = load_settings(github_token="t", github_repository="acme/bss")
    assert GitOpsConfig.from_settings(settings) is None
    config.write_text('[validation]\nbacklog-path = "./docs/backlog.md"\n')
    assert GitOpsConfig.from_settings(settings) == GitOpsConfig("docs/backlog.md", BRANCH)
    config.write_text(
        '[validation]\nbacklog-path = "docs/backlog.md"\n[sync]\nbranch = "bot/backlog"\n'
    )
    assert GitOpsConfig.from_settings(settings) == GitOpsConfig("docs/backlog.md", "bot/backlog")
    config.write_text(
        '[validation]\nbacklog-path = "docs/backlog.md"\n[sync]\npull-request = false\n'
    )
    assert GitOpsConfig.from_settings(settings) is None


def test_a_story_created_in_jira_is_proposed_then_linked_when_merged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_team(tmp_path, monkeypatch, with_jira=True) as team:
        jira = team.jira
        assert jira is not None
        client = JIRA(jira.url, basic_auth=(jira.email, jira.token), max_retries=0)
        try:
            [epic] = jira.issues_by_label("backlog-id-EPIC-001")
            created = client.create_issue(
                fields={
                    "project": {"key": jira.projects[0].key},
                    "summary": "Invoice reminders",
                    "issuetype": {"name": "Story"},
                    "parent": {"key": epic},
                    "priority": {"name": "Low"},
                }
            )
            team.settle()  # jira:issue_created reaches the service
            [pull] = team.open_pulls()
            proposed = team.file_on(BRANCH)
            assert "### Story 1.3: Invoice reminders\n**Story ID:** US-003\n" in proposed
            assert f"- jira US-003 {created.key}: new story 'Invoice reminders' in EPIC-001" in (
                pull.body
            )
            assert jira.issues_by_label("backlog-id-US-003") == []  # proposed, not linked

            assert pull.merge().merged
            team.settle()
            # linked before the push's apply: adopted, never created a second time in Jira
            assert jira.issues_by_label("backlog-id-US-003") == [created.key]
            assert client.issue(created.key).fields.summary == "US-003 · Invoice reminders"
            assert team.open_pulls() == []
        finally:
            client.close()  # type: ignore[no-untyped-call]


def test_a_sub_issue_of_an_epic_in_a_table_backlog_is_proposed_as_a_row_then_adopted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_team(tmp_path, monkeypatch, with_jira=False, text=TABLES.read_text()) as team:
        repo = team.repo()
        issue = repo.create_issue("Report a stolen item", labels=["priority: high"])
        repo.get_issue(team.number("EPIC-002")).add_sub_issue(issue.id)
        team.settle()  # the sub_issues webhook reaches the service
        [pull] = team.open_pulls()
        row = f"| US-18 | Report a stolen item | High | #{issue.number} |\n"
        after = "| US-08 | Update Post Status | Medium | #8 |\n"
        assert team.file_on(BRANCH) == team.text.replace(after, after + row)
        assert f"- github US-18 #{issue.number}: new story 'Report a stolen item' in EPIC-002" in (
            pull.body
        )
        assert "US-18" not in team.github.issues_by_marker()  # proposed, not linked

        assert pull.merge().merged
        team.settle()
        # linked by the push before its apply: that issue is US-18, no second one created
        assert team.github.issues_by_marker()["US-18"] == [issue.number]
        titles = [i.title for i in repo.get_issues(state="all")]
        assert [t for t in titles if "Report a stolen item" in t] == [
            "US-18 · Report a stolen item"
        ]
        assert team.open_pulls() == []


def test_conflicts_are_listed_in_the_pull_request_and_nothing_is_written_for_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_team(tmp_path, monkeypatch, with_jira=False) as team:
        us1, us2 = team.number("US-001"), team.number("US-002")
        team.repo().get_issue(us1).edit(title="US-001 · Invoice list with filters")
        team.repo().get_issue(us2).edit(title="US-002 · Invoice PDF download")
        team.settle()
        [pull] = team.open_pulls()
        # meanwhile the file on main renames US-001 too, differently
        renamed = team.text.replace("### Story 1.1: Invoice list\n", "### Story 1.1: Invoices\n")
        team.github.push_files({"backlog.md": renamed})
        team.settle()
        [again] = team.open_pulls()
        assert again.number == pull.number
        assert team.file_on(BRANCH) == renamed.replace(
            "### Story 1.2: Invoice PDF\n", "### Story 1.2: Invoice PDF download\n"
        )  # US-001 is left as the file has it
        assert "### Conflicts (changed in the file and on the tracker; left alone)" in again.body
        assert f"- github US-001 #{us1}: title: conflict — file 'Invoice list'" not in again.body
        assert (
            f"- github US-001 #{us1}: title: conflict — file Invoices, tracker "
            "'Invoice list with filters'" in again.body
        )
        assert "'Invoice PDF' -> 'Invoice PDF download'" in again.body
        # the push applied nothing over the tracker's side of the conflict
        assert team.repo().get_issue(us1).title == "US-001 · Invoice list with filters"

        # US-002 is renamed back on GitHub: only the conflict is left, nothing to propose
        team.repo().get_issue(us2).edit(title="US-002 · Invoice PDF")
        team.settle()
        assert team.open_pulls() == []
        closed = team.repo().get_pull(again.number)
        assert closed.state == "closed" and not closed.merged
        assert f"- github US-001 #{us1}: title: conflict — file Invoices" in closed.body


def test_a_jira_priority_reaches_github_once_through_the_merged_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both trackers: a priority changed in Jira is proposed, and merging the pull request
    writes it to GitHub once (the file changed: that is the legitimate write) and nothing to
    Jira. GitHub's webhook for that write proposes nothing (no commit, no pull request), and
    an apply after it writes nothing to either tracker."""
    with open_team(tmp_path, monkeypatch, with_jira=True) as team:
        jira, merged = merge_a_jira_priority(team, "Low")
        # Jira, where the change was made, gets nothing back; GitHub's issue (its body and
        # priority label, the label created first) is updated once
        assert jira_writes(jira, merged.jira_start) == []
        number = team.number("US-001")
        writes = tracker_writes(team.github.requests()[merged.github_start :])
        assert writes == [
            ("POST", "/repos/acme/bss/labels"),
            ("PATCH", f"/repos/acme/bss/issues/{number}"),
        ]
        issue = team.repo().get_issue(number)
        assert "**Priority:** Low" in issue.body
        assert "priority: low" in [label.name for label in issue.labels]
        # GitHub told the service about that write; the run it started found the file and
        # both trackers agreeing: no commit, no pull request
        edited = team.github.webhooks.deliveries[merged.deliveries :]
        assert ("issues", "edited", 202) in [(d.event, d.action, d.status) for d in edited]
        assert bot_commits(team.github.requests()[merged.github_start :]) == []
        assert team.open_pulls() == []

        # the next apply of the merged file writes nothing anywhere
        assert_the_merged_file_applies_with_no_writes(team, jira, tmp_path)


def test_with_a_board_a_jira_priority_reaches_the_issue_and_the_board_once_and_stops_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With GitHub's board, the merged priority is written to its two places on GitHub once
    each (the issue's label and body line, the board item's Priority), nothing to Jira; the
    webhooks of those writes propose nothing, and the next apply writes nothing."""
    with open_team(tmp_path, monkeypatch, with_jira=True, board=True) as team:
        jira, merged = merge_a_jira_priority(team, "Medium")
        number = team.number("US-001")
        assert tracker_writes(team.github.requests()[merged.github_start :]) == [
            ("PATCH", f"/repos/acme/bss/issues/{number}"),
            ("POST", "/graphql"),  # the board item's Priority
        ]
        assert jira_writes(jira, merged.jira_start) == []
        events = {(d.event, d.action) for d in team.github.webhooks.deliveries[merged.deliveries :]}
        assert {("issues", "edited"), ("projects_v2_item", "edited")} <= events
        assert bot_commits(team.github.requests()[merged.github_start :]) == []
        assert team.open_pulls() == []

        assert_the_merged_file_applies_with_no_writes(team, jira, tmp_path)


def test_a_board_priority_merged_into_the_file_brings_the_issue_in_line_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dave sets US-001's Priority on the board. Merging the proposal writes nothing to the
    board (it holds the value) and updates the issue once, whose label and body line follow
    the board; the webhook of that write proposes nothing, the next apply writes nothing."""
    from tests.test_twoway_github import _set_board_option

    with open_team(tmp_path, monkeypatch, with_jira=False, board=True) as team:
        number = team.number("US-001")
        dave = Github(base_url=team.github.url, auth=Auth.Token(team.github.user_token("dave")))
        _set_board_option(dave, number, "Priority", "Medium")
        dave.close()
        team.settle()
        [pull] = team.open_pulls()
        assert team.file_on(BRANCH) == team.text.replace(
            "**Priority:** High\n", "**Priority:** Medium\n", 1
        )
        assert f"- github US-001 #{number}: priority High -> Medium (tracker, by dave)" in (
            pull.body
        )
        start = len(team.github.requests())
        assert pull.merge().merged
        team.settle()
        after = team.github.requests()[start:]
        assert tracker_writes(after) == [("PATCH", f"/repos/acme/bss/issues/{number}")]
        assert [r for r in after if "/git/" in r["path"] and r["method"] != "GET"] == []
        assert team.open_pulls() == []
        issue = team.repo().get_issue(number)
        assert "priority: medium" in [label.name for label in issue.labels]
        assert "**Priority:** Medium" in issue.body

        merged = tmp_path / "merged.md"
        merged.write_text(team.file_on("main"), encoding="utf-8")
        start = len(team.github.requests())
        assert main(["apply", str(merged), "--target", "github"]) == 0
        assert tracker_writes(team.github.requests()[start:]) == []


def test_a_github_rename_reaches_jira_once_through_the_merged_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both trackers: Dave renames US-001 on GitHub. Merging the proposal writes the new
    summary to Jira once (one PUT of the issue) and nothing to GitHub, which holds it; Jira's
    webhook for that write proposes nothing, and an apply after it writes nothing anywhere."""
    with open_team(tmp_path, monkeypatch, with_jira=True) as team:
        jira = team.jira
        assert jira is not None
        number = team.number("US-001")
        [us1] = jira.issues_by_label("backlog-id-US-001")
        dave = Github(base_url=team.github.url, auth=Auth.Token(team.github.user_token("dave")))
        dave.get_repo("acme/bss").get_issue(number).edit(title="US-001 · Invoice list with filters")
        dave.close()
        team.settle()
        [pull] = team.open_pulls()
        assert team.file_on(BRANCH) == team.text.replace(
            "### Story 1.1: Invoice list\n", "### Story 1.1: Invoice list with filters\n"
        )
        assert (
            f"- github US-001 #{number}: title 'Invoice list' -> 'Invoice list with filters' "
            "(tracker, by dave)" in pull.body
        )
        github_start, jira_start = len(team.github.requests()), len(jira.requests)
        deliveries = len(jira.webhooks.deliveries)
        assert pull.merge().merged
        team.settle()
        # GitHub, where the change was made, gets nothing back; Jira's summary is written once
        assert tracker_writes(team.github.requests()[github_start:]) == []
        assert jira_writes(jira, jira_start) == [("PUT", f"/rest/api/2/issue/{us1}")]
        client = JIRA(jira.url, basic_auth=(jira.email, jira.token), max_retries=0)
        try:
            assert client.issue(us1).fields.summary == "US-001 · Invoice list with filters"
        finally:
            client.close()  # type: ignore[no-untyped-call]
        # Jira told the service about that write; the run it started found the file and both
        # trackers agreeing: no commit, no pull request
        updated = jira.webhooks.deliveries[deliveries:]
        assert [(d.event, d.status) for d in updated] == [("jira:issue_updated", 202)]
        assert [
            (r["method"], r["path"])
            for r in team.github.requests()[github_start:]
            if r["method"] in TRACKER_WRITES
            and ("/git/" in r["path"] or r["path"].endswith("/pulls"))
        ] == []
        assert team.open_pulls() == []
        assert team.file_on("main") == team.text.replace(
            "### Story 1.1: Invoice list\n", "### Story 1.1: Invoice list with filters\n"
        )

        assert_the_merged_file_applies_with_no_writes(team, jira, tmp_path)


def test_with_a_board_a_github_priority_reaches_jira_and_the_issue_once_and_stops_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both trackers and GitHub's board: Dave sets US-001's Priority on the board. Merging the
    proposal writes the priority to Jira once and brings the issue in line with the board
    once (its label and body line), nothing to the board; the webhooks of those writes
    propose nothing, and the next apply writes nothing anywhere."""
    from tests.test_twoway_github import _set_board_option

    with open_team(tmp_path, monkeypatch, with_jira=True, board=True) as team:
        jira = team.jira
        assert jira is not None
        number = team.number("US-001")
        [us1] = jira.issues_by_label("backlog-id-US-001")
        dave = Github(base_url=team.github.url, auth=Auth.Token(team.github.user_token("dave")))
        _set_board_option(dave, number, "Priority", "Medium")
        dave.close()
        team.settle()
        [pull] = team.open_pulls()
        assert team.file_on(BRANCH) == team.text.replace(
            "**Priority:** High\n", "**Priority:** Medium\n", 1
        )
        assert f"- github US-001 #{number}: priority High -> Medium (tracker, by dave)" in (
            pull.body
        )
        github_start, jira_start = len(team.github.requests()), len(jira.requests)
        github_deliveries = len(team.github.webhooks.deliveries)
        jira_deliveries = len(jira.webhooks.deliveries)
        assert pull.merge().merged
        team.settle()
        assert tracker_writes(team.github.requests()[github_start:]) == [
            ("PATCH", f"/repos/acme/bss/issues/{number}"),  # following the board
        ]
        assert jira_writes(jira, jira_start) == [("PUT", f"/rest/api/2/issue/{us1}")]
        client = JIRA(jira.url, basic_auth=(jira.email, jira.token), max_retries=0)
        try:
            assert client.issue(us1).fields.priority.name == "Medium"
        finally:
            client.close()  # type: ignore[no-untyped-call]
        issue = team.repo().get_issue(number)
        assert "priority: medium" in [label.name for label in issue.labels]
        assert "**Priority:** Medium" in issue.body
        events = {(d.event, d.action) for d in team.github.webhooks.deliveries[github_deliveries:]}
        assert ("issues", "edited") in events
        assert [d.event for d in jira.webhooks.deliveries[jira_deliveries:]] == [
            "jira:issue_updated"
        ]
        assert bot_commits(team.github.requests()[github_start:]) == []
        assert team.open_pulls() == []

        assert_the_merged_file_applies_with_no_writes(team, jira, tmp_path)


def test_a_tracker_that_cannot_be_read_leaves_the_pull_request_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backlog.errors import RemoteError

    with open_team(tmp_path, monkeypatch, with_jira=False) as team:
        team.repo().get_issue(team.number("US-001")).edit(title="US-001 · Invoice list v2")
        team.settle()
        [pull] = team.open_pulls()
        service = team.app.state.service
        gitops = build_gitops(service.settings, service.engine)
        assert gitops is not None
        # GitHub's issue list fails (every attempt): the run fails, nothing is closed or moved
        team.github.limits.add_fault(kind="5xx", method="GET", path=r"/issues$", times=None)
        start = len(team.github.requests())
        with pytest.raises(RemoteError):
            gitops.run()
        assert [r for r in team.github.requests()[start:] if r["method"] != "GET"] == []
        assert [p.number for p in team.open_pulls()] == [pull.number]


def ref_moves(requests: list[dict[str, Any]]) -> list[Any]:
    """The ``force`` flag of every move of the bot's branch (PATCH /git/refs/heads/...)."""
    return [
        (r["body"] or {}).get("force", False)
        for r in requests
        if r["method"] == "PATCH" and r["path"].endswith(f"/git/refs/heads/{BRANCH}")
    ]


def test_a_commit_pushed_to_the_branch_by_hand_is_kept_and_the_bot_commits_on_top(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_team(tmp_path, monkeypatch, with_jira=False) as team:
        us1, us2 = team.number("US-001"), team.number("US-002")
        team.repo().get_issue(us1).edit(title="US-001 · Invoice list with filters")
        team.settle()
        [pull] = team.open_pulls()
        # Alice fixes a line of the proposal by hand, on the bot's branch
        by_hand = team.file_on(BRANCH).replace(
            "> As a customer, I want to download an invoice as PDF so that I can file it.",
            "> As a customer, I want to download an invoice as PDF so that I can archive it.",
        )
        assert by_hand != team.file_on(BRANCH)
        alice = team.github.push_files({"backlog.md": by_hand}, branch=BRANCH, pusher="alice")
        team.settle()
        start = len(team.github.requests())
        team.repo().get_issue(us2).edit(title="US-002 · Invoice PDF download")
        team.settle()
        [again] = team.open_pulls()
        assert again.number == pull.number
        head = team.repo().get_git_commit(again.head.sha)
        assert [p.sha for p in head.parents] == [alice]  # on top of Alice's commit
        assert (head.committer.name, head.message.splitlines()[0]) == ("backlog-bot", TITLE)
        assert team.file_on(BRANCH) == by_hand.replace(
            "### Story 1.2: Invoice PDF\n", "### Story 1.2: Invoice PDF download\n"
        )  # her line and the new change both
        assert ref_moves(team.github.requests()[start:]) == [False]  # a fast-forward


def test_a_commit_by_hand_that_the_changes_clash_with_leaves_the_branch_alone_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_team(tmp_path, monkeypatch, with_jira=False) as team:
        us1 = team.number("US-001")
        team.repo().get_issue(us1).edit(title="US-001 · Invoice list with filters")
        team.settle()
        [pull] = team.open_pulls()
        # Bob renames the story on the branch; then the issue is renamed again on GitHub
        by_hand = team.file_on(BRANCH).replace(
            "### Story 1.1: Invoice list with filters\n", "### Story 1.1: Filtered invoices\n"
        )
        bob = team.github.push_files({"backlog.md": by_hand}, branch=BRANCH, pusher="bob")
        team.settle()
        start = len(team.github.requests())
        team.repo().get_issue(us1).edit(title="US-001 · Invoice list, filtered")
        team.settle()
        assert team.github.flow.git.refs[f"heads/{BRANCH}"] == bob  # left alone
        assert team.file_on(BRANCH) == by_hand
        assert ref_moves(team.github.requests()[start:]) == []
        [comment] = [c.body for c in team.repo().get_issue(pull.number).get_comments()]
        assert f"backlog-bot did not update `{BRANCH}`" in comment
        assert f"- {bob[:12]} by bob: Work on {BRANCH}" in comment
        assert "'Invoice list' -> 'Invoice list, filtered'" in comment
        # another run on the same branch head says nothing more
        service = team.app.state.service
        gitops = build_gitops(service.settings, service.engine)
        assert gitops is not None
        outcome = gitops.run()
        assert (outcome.action, outcome.number) == ("held", pull.number)
        assert len(list(team.repo().get_issue(pull.number).get_comments())) == 1


def test_when_main_moves_on_the_bots_own_branch_is_rebuilt_on_it_but_not_over_a_commit_by_hand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_team(tmp_path, monkeypatch, with_jira=False) as team:
        us1, us2 = team.number("US-001"), team.number("US-002")
        team.repo().get_issue(us1).edit(title="US-001 · Invoice list with filters")
        team.settle()
        [pull] = team.open_pulls()
        # main moves on (an unrelated line): the branch holds only the bot's commit
        moved = team.text.replace(
            "> As a customer, I want to download an invoice as PDF so that I can file it.",
            "> As a customer, I want to download an invoice as PDF so that I can archive it.",
        )
        main_head = team.github.push_files({"backlog.md": moved})
        team.settle()
        head = team.repo().get_git_commit(team.open_pulls()[0].head.sha)
        assert [p.sha for p in head.parents] == [main_head]  # rebuilt on main's new head
        assert team.file_on(BRANCH) == moved.replace(
            "### Story 1.1: Invoice list\n", "### Story 1.1: Invoice list with filters\n"
        )

        # Carol pushes to the branch, then main moves on again: her commit is not dropped
        carol = team.github.push_files(
            {"backlog.md": team.file_on(BRANCH) + "\n<!-- reviewed -->\n"},
            branch=BRANCH,
            pusher="carol",
        )
        team.github.push_files({"backlog.md": moved + "\n"})
        team.settle()
        start = len(team.github.requests())
        team.repo().get_issue(us2).edit(title="US-002 · Invoice PDF download")
        team.settle()
        assert team.github.flow.git.refs[f"heads/{BRANCH}"] == carol
        assert ref_moves(team.github.requests()[start:]) == []
        comments = [c.body for c in team.repo().get_issue(pull.number).get_comments()]
        assert any(
            "main moved on, and rebuilding the branch on it would drop those commits" in c
            and f"- {carol[:12]} by carol" in c
            for c in comments
        )
        [still] = team.open_pulls()
        assert still.number == pull.number and still.head.sha == carol
