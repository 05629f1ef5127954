"""Two-way sync of a story's relations, dependencies and epic, on Jira and on GitHub, the way a
team works: people link and unlink issues in the tracker (Jira's REST API through the ``jira``
client; GitHub's issue dependencies and sub-issues through PyGithub and httpx) and edit the
Markdown file; ``plan`` shows where each change came from, ``apply`` pushes the file's changes
only, ``pull --write`` writes the tracker's into the file byte-exactly, and a change on both
sides is a conflict until a ``[sync] conflicts`` policy decides."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from github import Auth, Github
from jira import JIRA

from bot.cli.app import main
from sandbox.github import GitHubSandbox
from sandbox.jira import JiraSandbox
from tests.twoway_support import (
    BacklogFile,
    assert_nothing_left,
    changed_lines,
    run_cli,
)

RELATIONS = Path(__file__).resolve().parent / "data" / "relations-backlog.md"


@pytest.fixture
def backlog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BacklogFile:
    file = tmp_path / "backlog.md"
    file.write_bytes(RELATIONS.read_bytes())
    config = tmp_path / "backlog-bot.toml"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    monkeypatch.setenv("BACKLOG_BOT_CONFIG", str(config))
    return BacklogFile(file, config)


# --- Jira ---------------------------------------------------------------------------------


@dataclass
class Jira:
    sandbox: JiraSandbox
    client: JIRA  # Bob's account
    target: str = "jira"

    def clear_requests(self) -> None:
        self.sandbox.clear_requests()

    def writes(self) -> list[object]:
        return list(self.sandbox.write_requests())

    def key(self, item: str) -> str:
        [key] = self.sandbox.issues_by_label(f"backlog-id-{item}")
        return key

    def link(self, blocker: str, blocked: str) -> None:
        """Bob links ``blocker`` as blocking ``blocked`` (Jira's "Blocks" link type)."""
        self.client.create_issue_link("Blocks", self.key(blocker), self.key(blocked))

    def unlink(self, blocker: str, blocked: str) -> None:
        self.client.delete_issue_link(self.link_id(blocker, blocked))

    def reparent(self, story: str, epic: str) -> None:
        """Bob puts ``story`` under ``epic`` (the issue's parent)."""
        self.client.issue(self.key(story)).update(fields={"parent": {"key": self.key(epic)}})

    def parent(self, story: str) -> str:
        return str(self.client.issue(self.key(story)).fields.parent.key)

    def blockers(self, item: str) -> set[str]:
        """The keys of the issues linked to ``item`` as "is blocked by"."""
        links = self.client.issue(self.key(item)).fields.issuelinks
        return {
            link.inwardIssue.key
            for link in links
            if link.type.name == "Blocks" and hasattr(link, "inwardIssue")
        }

    def link_id(self, blocker: str, blocked: str) -> str:
        links = self.client.issue(self.key(blocked)).fields.issuelinks
        return next(
            link.id
            for link in links
            if hasattr(link, "inwardIssue") and link.inwardIssue.key == self.key(blocker)
        )


@pytest.fixture
def jira(
    backlog: BacklogFile, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Jira]:
    with JiraSandbox() as sandbox:
        for key, value in sandbox.env().items():
            monkeypatch.setenv(key, value)
        assert main(["apply", str(backlog.file), "--target", "jira"]) == 0
        capsys.readouterr()
        bob = ("bob@example.com", sandbox.user_token("bob@example.com"))
        client = JIRA(sandbox.url, basic_auth=bob, max_retries=0)
        yield Jira(sandbox, client)
        client.close()  # type: ignore[no-untyped-call]


def test_jira_dependencies_linked_and_unlinked_in_jira_are_pulled_in_the_files_style(
    backlog: BacklogFile, jira: Jira, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bob links US-003 as blocked by US-002 and unlinks US-001 from US-002; plan shows both
    as Jira's, apply leaves them alone, pull --write changes the two Dependencies lines (the
    file's "—" for none), and the next apply writes nothing."""
    us2, us3 = jira.key("US-002"), jira.key("US-003")
    jira.link("US-002", "US-003")
    jira.unlink("US-001", "US-002")
    before = backlog.text()

    code, out = run_cli(capsys, "plan", str(backlog.file), "--target", "jira")
    assert code == 0
    assert (
        f"  < pull     US-002 {us2}: dependencies US-001 -> (none) (tracker, by Bob Backend)" in out
    )
    assert (
        f"  < pull     US-003 {us3}: dependencies (none) -> US-002 (tracker, by Bob Backend)" in out
    )
    assert not any(" unlink " in line or "+ create" in line for line in out), out

    code, out = run_cli(capsys, "apply", str(backlog.file), "--target", "jira")
    assert code == 0
    assert (
        "left alone (changed on the tracker): US-003 dependencies (none) -> US-002 "
        "(tracker, by Bob Backend)" in out
    )
    assert jira.blockers("US-003") == {us2} and jira.blockers("US-002") == set()

    code, out = run_cli(capsys, "pull", str(backlog.file), "--target", "jira", "--diff")
    assert code == 0 and backlog.text() == before
    assert changed_lines(out) == [
        "-**Dependencies:** US-001 (the invoice API)",
        "+**Dependencies:** —",
        "-**Dependencies:** —",
        "+**Dependencies:** US-002",
    ]
    code, out = run_cli(capsys, "pull", str(backlog.file), "--target", "jira", "--write")
    assert code == 0
    assert backlog.text() == before.replace(
        "**Dependencies:** US-001 (the invoice API)\n", "**Dependencies:** —\n"
    ).replace(
        "> As a customer, I want to download an invoice as PDF.\n\n### Story 1.3: Invoice email\n"
        "**Story ID:** US-003\n**Story Points:** 3\n**Priority:** Low\n**Dependencies:** —\n",
        "> As a customer, I want to download an invoice as PDF.\n\n### Story 1.3: Invoice email\n"
        "**Story ID:** US-003\n**Story Points:** 3\n**Priority:** Low\n"
        "**Dependencies:** US-002\n",
    )

    assert_nothing_left(capsys, backlog.file, jira)
    assert jira.blockers("US-003") == {us2} and jira.blockers("US-002") == set()


def test_jira_dependencies_changed_in_the_file_are_linked_and_unlinked_by_apply(
    backlog: BacklogFile, jira: Jira, capsys: pytest.CaptureFixture[str]
) -> None:
    us2, us4, us5 = (jira.key(item) for item in ("US-002", "US-004", "US-005"))
    removed = jira.link_id("US-001", "US-004")
    backlog.edit_file("**Dependencies:** US-001; US-002", "**Dependencies:** US-002")
    text = backlog.text().replace(
        "**Epic:** EPIC-002 (Payments)\n**Dependencies:** —\n",
        "**Epic:** EPIC-002 (Payments)\n**Dependencies:** US-004\n",
    )
    backlog.file.write_text(text, encoding="utf-8")

    code, out = run_cli(capsys, "plan", str(backlog.file), "--target", "jira")
    assert code == 0
    assert f"  ~ push     US-004 {us4}: dependencies 'US-001, US-002' -> US-002 (file)" in out
    assert f"  ~ push     US-005 {us5}: dependencies (none) -> US-004 (file)" in out

    jira.clear_requests()
    code, out = run_cli(capsys, "apply", str(backlog.file), "--target", "jira")
    assert code == 0
    assert jira.blockers("US-004") == {us2} and jira.blockers("US-005") == {us4}
    writes = [(r.method, r.path.split("/rest/api/2/")[-1]) for r in jira.sandbox.write_requests()]
    # the descriptions quote the dependencies as written; one link removed, one made
    assert sorted(writes) == [
        ("DELETE", f"issueLink/{removed}"),
        ("POST", "issueLink"),
        ("PUT", f"issue/{us4}"),
        ("PUT", f"issue/{us5}"),
    ]

    assert_nothing_left(capsys, backlog.file, jira)


def test_jira_dependencies_changed_on_both_sides_are_a_conflict_until_a_policy_decides(
    backlog: BacklogFile, jira: Jira, capsys: pytest.CaptureFixture[str]
) -> None:
    us1, us2, us3 = jira.key("US-001"), jira.key("US-002"), jira.key("US-003")
    jira.link("US-001", "US-003")
    backlog.edit_file(
        "**Priority:** Low\n**Dependencies:** —\n", "**Priority:** Low\n**Dependencies:** US-002\n"
    )
    before = backlog.text()

    code, out = run_cli(capsys, "plan", str(backlog.file), "--target", "jira")
    assert code == 1
    assert (
        f"  ! conflict US-003 {us3}: dependencies: conflict — file US-002, tracker US-001 "
        "by Bob Backend (was (none))"
    ) in out
    code, out = run_cli(capsys, "apply", str(backlog.file), "--target", "jira")
    assert code == 1 and jira.blockers("US-003") == {us1}  # left alone
    code, out = run_cli(capsys, "pull", str(backlog.file), "--target", "jira", "--write")
    assert code == 1 and backlog.text() == before

    backlog.policy("tracker-wins")
    code, out = run_cli(capsys, "pull", str(backlog.file), "--target", "jira", "--write")
    assert code == 0
    assert backlog.text() == before.replace(
        "**Priority:** Low\n**Dependencies:** US-002\n",
        "**Priority:** Low\n**Dependencies:** US-001\n",
    )

    jira.unlink("US-001", "US-003")  # and, on both sides again, the file wins this time
    backlog.edit_file(
        "**Priority:** Low\n**Dependencies:** US-001\n",
        "**Priority:** Low\n**Dependencies:** US-001, US-002\n",
    )
    backlog.policy("file-wins")
    code, out = run_cli(capsys, "apply", str(backlog.file), "--target", "jira")
    assert code == 0 and jira.blockers("US-003") == {us1, us2}
    assert_nothing_left(capsys, backlog.file, jira)


def test_jira_links_made_before_dependencies_were_two_way_are_their_own_base(
    backlog: BacklogFile, jira: Jira, capsys: pytest.CaptureFixture[str]
) -> None:
    """A state database from before (no merge base for dependencies): what apply linked is the
    base, so nothing shows as changed until someone changes it, then each side's change
    is told apart; nothing of Jira's is reverted."""
    _forget_base(backlog, "dependencies")
    code, out = run_cli(capsys, "plan", str(backlog.file), "--target", "jira")
    assert code == 0 and "changed since the last apply or pull" not in "\n".join(out)

    _forget_base(backlog, "dependencies")
    us2, us3, us4 = jira.key("US-002"), jira.key("US-003"), jira.key("US-004")
    jira.link("US-002", "US-003")
    backlog.edit_file("**Dependencies:** US-001; US-002", "**Dependencies:** US-001")
    code, out = run_cli(capsys, "plan", str(backlog.file), "--target", "jira")
    assert code == 0
    assert (
        f"  < pull     US-003 {us3}: dependencies (none) -> US-002 (tracker, by Bob Backend)" in out
    )
    assert f"  ~ push     US-004 {us4}: dependencies 'US-001, US-002' -> US-001 (file)" in out
    code, out = run_cli(capsys, "apply", str(backlog.file), "--target", "jira")
    assert code == 0
    assert jira.blockers("US-003") == {us2} and jira.blockers("US-004") == {jira.key("US-001")}


def test_a_jira_blocker_no_backlog_item_has_is_reported_not_dropped(
    backlog: BacklogFile, jira: Jira, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bob links an issue made in Jira alone as blocking US-001: plan shows it by its key,
    pull writes nothing and says why, apply keeps the link."""
    other = jira.client.create_issue(
        project="BSS", summary="Vendor contract", issuetype={"name": "Task"}
    ).key
    jira.client.create_issue_link("Blocks", other, jira.key("US-001"))
    us1 = jira.key("US-001")
    before = backlog.text()

    code, out = run_cli(capsys, "plan", str(backlog.file), "--target", "jira")
    assert code == 0
    assert (
        f"  < pull     US-001 {us1}: dependencies (none) -> {other} (tracker, by Bob Backend)"
        in out
    )
    code, out = run_cli(capsys, "pull", str(backlog.file), "--target", "jira", "--write")
    assert code == 0 and backlog.text() == before
    assert (
        f"  not written: US-001 dependencies: US-001 is blocked on the tracker by {other}, "
        "which no item of the file is; write that dependency by hand"
    ) in out
    assert main(["apply", str(backlog.file), "--target", "jira"]) == 0
    assert jira.blockers("US-001") == {other}


def test_jira_epic_changed_in_jira_moves_the_story_to_that_epic_in_the_file(
    backlog: BacklogFile, jira: Jira, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bob puts US-003 (under the Invoices heading) into Payments; plan shows it as Jira's,
    apply leaves it alone, pull --write moves the story's whole block to the end of the
    Payments stories, every other byte as it was; the next apply writes nothing."""
    us3 = jira.key("US-003")
    jira.reparent("US-003", "EPIC-002")
    before = backlog.text()

    code, out = run_cli(capsys, "plan", str(backlog.file), "--target", "jira")
    assert code == 0
    assert f"  < pull     US-003 {us3}: epic EPIC-001 -> EPIC-002 (tracker, by Bob Backend)" in out
    code, out = run_cli(capsys, "apply", str(backlog.file), "--target", "jira")
    assert code == 0 and jira.parent("US-003") == jira.key("EPIC-002")
    assert "left alone (changed on the tracker): US-003 epic EPIC-001 -> EPIC-002 " in "\n".join(
        out
    )

    code, out = run_cli(capsys, "pull", str(backlog.file), "--target", "jira", "--write")
    assert code == 0
    assert backlog.text() == _moved_us003(before)

    assert_nothing_left(capsys, backlog.file, jira)
    assert jira.parent("US-003") == jira.key("EPIC-002")


def test_jira_epic_field_pulled_pushed_and_in_conflict(
    backlog: BacklogFile, jira: Jira, capsys: pytest.CaptureFixture[str]
) -> None:
    """US-005 names its epic in an **Epic:** field: Jira's change rewrites the field (the
    epic's name too), the file's change re-parents the issue, both at once is a conflict
    until tracker-wins pulls Jira's."""
    us5 = jira.key("US-005")
    jira.reparent("US-005", "EPIC-003")
    before = backlog.text()
    code, out = run_cli(capsys, "pull", str(backlog.file), "--target", "jira", "--diff")
    assert changed_lines(out) == ["-**Epic:** EPIC-002 (Payments)", "+**Epic:** EPIC-003 (Reports)"]
    code, out = run_cli(capsys, "pull", str(backlog.file), "--target", "jira", "--write")
    assert code == 0
    assert backlog.text() == before.replace(
        "**Epic:** EPIC-002 (Payments)", "**Epic:** EPIC-003 (Reports)"
    )

    backlog.edit_file("**Epic:** EPIC-003 (Reports)", "**Epic:** EPIC-001 (Invoices)")
    code, out = run_cli(capsys, "plan", str(backlog.file), "--target", "jira")
    assert f"  ~ push     US-005 {us5}: epic EPIC-003 -> EPIC-001 (file)" in out
    code, out = run_cli(capsys, "apply", str(backlog.file), "--target", "jira")
    assert code == 0 and jira.parent("US-005") == jira.key("EPIC-001")

    jira.reparent("US-005", "EPIC-002")
    backlog.edit_file("**Epic:** EPIC-001 (Invoices)", "**Epic:** EPIC-003 (Reports)")
    before = backlog.text()
    code, out = run_cli(capsys, "plan", str(backlog.file), "--target", "jira")
    assert code == 1
    assert (
        f"  ! conflict US-005 {us5}: epic: conflict — file EPIC-003, tracker EPIC-002 "
        "by Bob Backend (was EPIC-001)"
    ) in out
    code, out = run_cli(capsys, "apply", str(backlog.file), "--target", "jira")
    assert code == 1 and jira.parent("US-005") == jira.key("EPIC-002")  # left alone
    backlog.policy("tracker-wins")
    code, out = run_cli(capsys, "pull", str(backlog.file), "--target", "jira", "--write")
    assert code == 0
    assert backlog.text() == before.replace(
        "**Epic:** EPIC-003 (Reports)", "**Epic:** EPIC-002 (Payments)"
    )
    jira.clear_requests()
    assert main(["apply", str(backlog.file), "--target", "jira"]) == 0
    assert jira.writes() == []


def _moved_us003(text: str) -> str:
    """The relations backlog with US-003's block moved from the end of the Invoices stories
    to the end of the Payments stories (after US-005, a blank line between)."""
    start = text.index("### Story 1.3: Invoice email\n")
    end = text.index("> As a customer, I want my invoice by email.\n")
    block = text[start : end + len("> As a customer, I want my invoice by email.\n")]
    assert text.count("\n" + block) == 1
    text = text.replace("\n" + block, "")
    last = "> As a support agent, I want to refund a payment.\n"
    assert text.count(last) == 1
    return text.replace(last, last + "\n" + block)


def _forget_base(backlog: BacklogFile, field: str) -> None:
    """The state database as an older version left it: no merge base for ``field``."""
    url = os.environ["DATABASE_URL"]
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        db.execute("DELETE FROM sync_base WHERE field = ?", (field,))


# --- GitHub -------------------------------------------------------------------------------


@dataclass
class GitHub:
    sandbox: GitHubSandbox
    client: Github  # Dave's account
    http: httpx.Client  # the endpoints PyGithub lacks (issue dependencies)
    target: str = "github"

    def clear_requests(self) -> None:
        self.sandbox.clear_requests()

    def writes(self) -> list[dict[str, object]]:
        """The requests that changed something: every one but reads and GraphQL queries."""
        return [
            r
            for r in self.sandbox.requests()
            if r["method"] != "GET"
            and not (r["path"] == "/graphql" and "mutation" not in str(r["body"]))
        ]

    def number(self, item: str) -> int:
        return self.sandbox.issues_by_marker()[item][0]

    def block(self, blocker: str, blocked: str) -> None:
        """Dave marks ``blocked`` as blocked by ``blocker`` (issue dependencies)."""
        blocker_id = self.client.get_repo("acme/bss").get_issue(self.number(blocker)).id
        path = f"/repos/acme/bss/issues/{self.number(blocked)}/dependencies/blocked_by"
        self.http.post(path, json={"issue_id": blocker_id}).raise_for_status()

    def unblock(self, blocker: str, blocked: str) -> None:
        blocker_id = self.client.get_repo("acme/bss").get_issue(self.number(blocker)).id
        path = f"/repos/acme/bss/issues/{self.number(blocked)}/dependencies/blocked_by"
        self.http.delete(f"{path}/{blocker_id}").raise_for_status()

    def reparent(self, story: str, epic: str) -> None:
        """Dave makes ``story`` a sub-issue of ``epic`` instead of its epic (sub-issues)."""
        story_id = self.client.get_repo("acme/bss").get_issue(self.number(story)).id
        path = f"/repos/acme/bss/issues/{self.number(epic)}/sub_issues"
        body = {"sub_issue_id": story_id, "replace_parent": True}
        self.http.post(path, json=body).raise_for_status()

    def parent(self, story: str) -> int:
        response = self.http.get(f"/repos/acme/bss/issues/{self.number(story)}/parent")
        response.raise_for_status()
        return int(response.json()["number"])

    def blockers(self, item: str) -> set[int]:
        """The numbers of the issues blocking ``item``."""
        path = f"/repos/acme/bss/issues/{self.number(item)}/dependencies/blocked_by"
        response = self.http.get(path)
        response.raise_for_status()
        return {issue["number"] for issue in response.json()}


@pytest.fixture
def github(
    backlog: BacklogFile, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[GitHub]:
    with GitHubSandbox() as sandbox:
        for key, value in sandbox.env().items():
            monkeypatch.setenv(key, value)
        assert main(["apply", str(backlog.file), "--target", "github"]) == 0
        capsys.readouterr()
        token = sandbox.user_token("dave")
        client = Github(base_url=sandbox.url, auth=Auth.Token(token))
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
        with httpx.Client(base_url=sandbox.url, headers=headers) as http:
            yield GitHub(sandbox, client, http)
        client.close()


def test_github_dependencies_changed_on_github_are_pulled_in_the_files_style(
    backlog: BacklogFile, github: GitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    """Dave marks US-005 as blocked by US-004 and unblocks US-004 from US-001; plan shows both
    as GitHub's, apply leaves them alone, pull --write rewrites the two lines (the kept
    part as written, the file's ";" separator), and the next apply writes nothing."""
    n4, n5 = github.number("US-004"), github.number("US-005")
    github.block("US-004", "US-005")
    github.unblock("US-001", "US-004")
    before = backlog.text()

    code, out = run_cli(capsys, "plan", str(backlog.file), "--target", "github")
    assert code == 0
    assert f"  < pull     US-004 #{n4}: dependencies 'US-001, US-002' -> US-002 (tracker)" in out
    assert f"  < pull     US-005 #{n5}: dependencies (none) -> US-004 (tracker)" in out

    code, out = run_cli(capsys, "apply", str(backlog.file), "--target", "github")
    assert code == 0
    assert github.blockers("US-005") == {n4}
    assert github.blockers("US-004") == {github.number("US-002")}

    code, out = run_cli(capsys, "pull", str(backlog.file), "--target", "github", "--diff")
    assert code == 0 and backlog.text() == before
    assert changed_lines(out) == [
        "-**Dependencies:** US-001; US-002",
        "+**Dependencies:** US-002",
        "-**Dependencies:** —",
        "+**Dependencies:** US-004",
    ]
    code, out = run_cli(capsys, "pull", str(backlog.file), "--target", "github", "--write")
    assert code == 0
    expected = before.replace("**Dependencies:** US-001; US-002\n", "**Dependencies:** US-002\n")
    expected = expected.replace(
        "**Epic:** EPIC-002 (Payments)\n**Dependencies:** —\n",
        "**Epic:** EPIC-002 (Payments)\n**Dependencies:** US-004\n",
    )
    assert backlog.text() == expected

    assert_nothing_left(capsys, backlog.file, github)


def test_github_dependencies_changed_in_the_file_are_pushed_and_conflicts_reported(
    backlog: BacklogFile, github: GitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    n1, n2, n3, n4 = (github.number(item) for item in ("US-001", "US-002", "US-003", "US-004"))
    backlog.edit_file("**Dependencies:** US-001; US-002", "**Dependencies:** US-001; US-003")
    code, out = run_cli(capsys, "plan", str(backlog.file), "--target", "github")
    assert code == 0
    assert (
        f"  ~ push     US-004 #{n4}: dependencies 'US-001, US-002' -> 'US-001, US-003' (file)"
        in out
    )
    code, out = run_cli(capsys, "apply", str(backlog.file), "--target", "github")
    assert code == 0 and github.blockers("US-004") == {n1, n3}

    # both sides: Dave unblocks US-002 from US-001, the file adds US-003 to it
    github.unblock("US-001", "US-002")
    backlog.edit_file(
        "**Dependencies:** US-001 (the invoice API)", "**Dependencies:** US-001, US-003"
    )
    code, out = run_cli(capsys, "plan", str(backlog.file), "--target", "github")
    assert code == 1
    assert (
        f"  ! conflict US-002 #{n2}: dependencies: conflict — file 'US-001, US-003', "
        "tracker (none) (was US-001)"
    ) in out
    code, out = run_cli(capsys, "apply", str(backlog.file), "--target", "github")
    assert code == 1 and github.blockers("US-002") == set()  # left alone

    backlog.policy("file-wins")
    code, out = run_cli(capsys, "apply", str(backlog.file), "--target", "github")
    assert code == 0 and github.blockers("US-002") == {n1, n3}
    assert_nothing_left(capsys, backlog.file, github)


def test_github_epic_changed_on_github_moves_the_story_and_the_files_change_is_pushed(
    backlog: BacklogFile, github: GitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    """Dave makes US-003 a sub-issue of Payments: plan shows it as GitHub's, apply leaves it
    alone, pull --write moves the story's block; then the file moves US-005 (its **Epic:**
    field) to Reports and apply re-parents the issue; nothing is left to write."""
    n3, n5 = github.number("US-003"), github.number("US-005")
    github.reparent("US-003", "EPIC-002")
    before = backlog.text()

    code, out = run_cli(capsys, "plan", str(backlog.file), "--target", "github")
    assert code == 0
    assert f"  < pull     US-003 #{n3}: epic EPIC-001 -> EPIC-002 (tracker)" in out
    code, out = run_cli(capsys, "apply", str(backlog.file), "--target", "github")
    assert code == 0 and github.parent("US-003") == github.number("EPIC-002")
    code, out = run_cli(capsys, "pull", str(backlog.file), "--target", "github", "--write")
    assert code == 0 and backlog.text() == _moved_us003(before)
    github.clear_requests()
    assert main(["apply", str(backlog.file), "--target", "github"]) == 0
    assert github.writes() == []

    backlog.edit_file("**Epic:** EPIC-002 (Payments)", "**Epic:** EPIC-003 (Reports)")
    code, out = run_cli(capsys, "plan", str(backlog.file), "--target", "github")
    assert f"  ~ push     US-005 #{n5}: epic EPIC-002 -> EPIC-003 (file)" in out
    code, out = run_cli(capsys, "apply", str(backlog.file), "--target", "github")
    assert code == 0 and github.parent("US-005") == github.number("EPIC-003")
    code, out = run_cli(capsys, "plan", str(backlog.file), "--target", "github")
    assert code == 0 and "changed since the last apply or pull" not in "\n".join(out)


def test_github_epic_changed_on_both_sides_is_a_conflict_until_a_policy_decides(
    backlog: BacklogFile, github: GitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    n5 = github.number("US-005")
    github.reparent("US-005", "EPIC-003")
    backlog.edit_file("**Epic:** EPIC-002 (Payments)", "**Epic:** EPIC-001 (Invoices)")
    before = backlog.text()
    code, out = run_cli(capsys, "plan", str(backlog.file), "--target", "github")
    assert code == 1
    assert (
        f"  ! conflict US-005 #{n5}: epic: conflict — file EPIC-001, tracker EPIC-003 "
        "(was EPIC-002)"
    ) in out
    code, out = run_cli(capsys, "pull", str(backlog.file), "--target", "github", "--write")
    assert code == 1 and backlog.text() == before
    code, out = run_cli(capsys, "apply", str(backlog.file), "--target", "github")
    assert code == 1 and github.parent("US-005") == github.number("EPIC-003")  # left alone

    backlog.policy("file-wins")
    code, out = run_cli(capsys, "apply", str(backlog.file), "--target", "github")
    assert code == 0 and github.parent("US-005") == github.number("EPIC-001")
    assert_nothing_left(capsys, backlog.file, github)


def test_github_dependencies_are_read_again_only_where_they_may_have_changed(
    backlog: BacklogFile, github: GitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    """GitHub's published GraphQL schema has no field for an issue's dependencies: each issue
    with blockers costs a REST read. The blockers read are kept with the link, so a plan reads
    again only the issues whose blocked-by count or updated_at moved, or one of whose blockers
    now blocks a different number of issues: nothing when nothing changed, the story Dave
    blocked, and a blocker Dave swapped for another (the count stays) is still seen."""

    def dependency_reads() -> list[str]:
        return [
            r["path"]
            for r in github.sandbox.requests()
            if r["method"] == "GET" and "/dependencies/" in r["path"]
        ]

    def path(item: str) -> str:
        return f"/repos/acme/bss/issues/{github.number(item)}/dependencies/blocked_by"

    code, out = run_cli(capsys, "plan", str(backlog.file), "--target", "github")
    assert code == 0
    github.clear_requests()
    code, quiet = run_cli(capsys, "plan", str(backlog.file), "--target", "github")
    assert code == 0 and [line for line in quiet if not line.startswith("http calls")] == [
        line for line in out if not line.startswith("http calls")
    ]
    assert dependency_reads() == []

    github.block("US-004", "US-005")
    github.clear_requests()
    code, out = run_cli(capsys, "plan", str(backlog.file), "--target", "github")
    assert code == 0
    assert dependency_reads() == [path("US-005")]
    n5 = github.number("US-005")
    assert f"  < pull     US-005 #{n5}: dependencies (none) -> US-004 (tracker)" in out

    # US-004 was blocked by US-001 and US-002: Dave swaps US-001 for US-003. US-001 now blocks
    # one issue fewer, so the issues last seen blocked by it (US-002, US-004) are read again.
    github.unblock("US-001", "US-004")
    github.block("US-003", "US-004")
    github.clear_requests()
    code, out = run_cli(capsys, "plan", str(backlog.file), "--target", "github")
    assert code == 0
    assert sorted(dependency_reads()) == sorted([path("US-002"), path("US-004")])
    n4 = github.number("US-004")
    assert any(
        line.startswith(f"  < pull     US-004 #{n4}: dependencies 'US-001, US-002' -> ")
        and "US-002, US-003" in line
        for line in out
    ), out
