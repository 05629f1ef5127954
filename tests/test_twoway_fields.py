"""Two-way sync of the fields a team sets on the tracker as often as in the file: labels
and the assignee, through the CLI against the Jira and GitHub sandboxes. Teammates edit the
issues with the real clients (``jira``, PyGithub); ``plan`` shows where each change came from
and who made it, ``apply`` pushes the file's changes and leaves the tracker's alone,
``pull --write`` writes the tracker's into the file byte-exactly, conflicts are reported until
a policy settles them, and after a pull the next ``apply`` writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest
from github import Auth, Github
from jira import JIRA

from bot.cli.app import main
from sandbox.github import GitHubSandbox
from sandbox.jira import JiraSandbox
from tests.twoway_support import BacklogFile, assert_nothing_left, run_cli

BILLING = Path(__file__).resolve().parent / "data" / "billing-backlog.md"


GHERKIN_US002 = (
    "```gherkin\nGiven an invoice exists\nWhen I click download\nThen the PDF works well\n```\n"
)
CHECKLIST_US002 = (
    "- [ ] The PDF opens in any reader\n"
    "- [x] The PDF shows the invoice number\n"
    "- [ ] A large invoice renders in under 2 s\n"
)


def labelled(assignee: str) -> bytes:
    """The billing backlog with two team labels and an assignee on US-001 (US-002 has no
    Labels nor Assignee line), and US-002's acceptance criteria as a checklist."""
    text = BILLING.read_text(encoding="utf-8")
    assert text.count(GHERKIN_US002) == 1
    return (
        text.replace(
            "**Priority:** High\n",
            f"**Priority:** High\n**Labels:** billing, ux\n**Assignee:** {assignee}\n",
        )
        .replace(GHERKIN_US002, CHECKLIST_US002)
        .encode()
    )


class Tracker(Protocol):
    """A tracker as a teammate uses it, through its own client."""

    target: str
    who: str  # the teammate's name as the tracker reports it
    alice: str  # how the file names two people (Jira: display names; GitHub: logins)
    bob: str

    def key(self, story: str) -> str: ...

    def labels(self, story: str) -> list[str]:
        """The issue's labels but the bot's own, as the tracker orders them."""
        ...

    def set_labels(self, story: str, labels: list[str]) -> None: ...

    def assignee(self, story: str) -> str | None: ...

    def ticked(self, story: str) -> list[str]:
        """The acceptance criteria ticked in the issue's description or body."""
        ...

    def tick(self, story: str, text: str, ticked: bool) -> None:
        """Tick (or untick) one acceptance criterion in the description or body."""
        ...

    def text(self, story: str) -> str:
        """The issue's description or body."""
        ...

    def assign(self, story: str, person: str) -> None:
        """Assign the issue to ``person`` (``alice`` or ``bob``), as the teammate."""
        ...

    def clear_requests(self) -> None: ...

    def writes(self) -> list[tuple[str, str]]: ...


@dataclass
class JiraTracker:
    sandbox: JiraSandbox
    client: JIRA
    target: str = "jira"
    who: str = "Bob Backend"
    alice: str = "Alice Devops"
    bob: str = "Bob Backend"

    def key(self, story: str) -> str:
        [key] = self.sandbox.issues_by_label(f"backlog-id-{story}")
        return key

    def labels(self, story: str) -> list[str]:
        own = ("backlog-bot", f"backlog-id-{story}")
        return [x for x in self.client.issue(self.key(story)).fields.labels if x not in own]

    def set_labels(self, story: str, labels: list[str]) -> None:
        own = ["backlog-bot", f"backlog-id-{story}"]
        self.client.issue(self.key(story)).update(fields={"labels": own + labels})

    def assignee(self, story: str) -> str | None:
        user = self.client.issue(self.key(story)).fields.assignee
        return str(user.displayName) if user else None

    def assign(self, story: str, person: str) -> None:
        account = {"alice": "712020:alice", "bob": "712020:bob"}[person]
        self.client.issue(self.key(story)).update(fields={"assignee": {"accountId": account}})

    def text(self, story: str) -> str:
        return str(self.client.issue(self.key(story)).fields.description)

    def ticked(self, story: str) -> list[str]:
        text = self.client.issue(self.key(story)).fields.description
        return [line[len("* (/) ") :] for line in text.splitlines() if line.startswith("* (/) ")]

    def tick(self, story: str, text: str, ticked: bool) -> None:
        """What Bob does in Jira's editor: ``( )`` becomes ``(/)`` (or back)."""
        issue = self.client.issue(self.key(story))
        old, new = (f"* ( ) {text}\n", f"* (/) {text}\n")[:: 1 if ticked else -1]
        assert issue.fields.description.count(old) == 1, issue.fields.description
        issue.update(fields={"description": issue.fields.description.replace(old, new)})

    def clear_requests(self) -> None:
        self.sandbox.clear_requests()

    def writes(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.sandbox.write_requests()]


@dataclass
class GitHubTracker:
    sandbox: GitHubSandbox
    client: Github
    target: str = "github"
    who: str = "carol"
    alice: str = "alice"
    bob: str = "bob"

    def key(self, story: str) -> str:
        return f"#{self.sandbox.issues_by_marker()[story][0]}"

    def _issue(self, story: str):  # type: ignore[no-untyped-def]
        return self.client.get_repo("acme/bss").get_issue(int(self.key(story)[1:]))

    def labels(self, story: str) -> list[str]:
        own = ("story", "role: ", "priority: ")
        return [x.name for x in self._issue(story).labels if not x.name.startswith(own)]

    def set_labels(self, story: str, labels: list[str]) -> None:
        issue = self._issue(story)
        own = [x.name for x in issue.labels if x.name.startswith(("story", "role: ", "priority: "))]
        issue.edit(labels=own + labels)

    def assignee(self, story: str) -> str | None:
        return ", ".join(user.login for user in self._issue(story).assignees) or None

    def assign(self, story: str, person: str) -> None:
        self._issue(story).edit(assignees=[person])

    def text(self, story: str) -> str:
        return str(self._issue(story).body)

    def ticked(self, story: str) -> list[str]:
        body = self._issue(story).body
        return [line[len("- [x] ") :] for line in body.splitlines() if line.startswith("- [x] ")]

    def tick(self, story: str, text: str, ticked: bool) -> None:
        """What carol does on GitHub: a click on the task list's box edits the body."""
        issue = self._issue(story)
        old, new = (f"- [ ] {text}\n", f"- [x] {text}\n")[:: 1 if ticked else -1]
        assert issue.body.count(old) == 1, issue.body
        issue.edit(body=issue.body.replace(old, new))

    def clear_requests(self) -> None:
        self.sandbox.clear_requests()

    def writes(self) -> list[tuple[str, str]]:
        return [
            (r["method"], r["path"])
            for r in self.sandbox.requests()
            if r["method"] in ("POST", "PATCH", "PUT", "DELETE")
            and (r["path"] != "/graphql" or "mutation" in str(r["body"]))
        ]


@dataclass
class Team(BacklogFile):
    tracker: Tracker

    @property
    def target(self) -> str:
        return self.tracker.target


@pytest.fixture(params=["jira", "github"])
def team(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Team]:
    """The labelled billing backlog applied to a fresh sandbox of the target; the teammate
    (Bob in Jira, carol on GitHub) edits it with their own account."""
    file = tmp_path / "backlog.md"
    file.write_bytes(labelled("Alice Devops" if request.param == "jira" else "alice"))
    config = tmp_path / "backlog-bot.toml"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    monkeypatch.setenv("BACKLOG_BOT_CONFIG", str(config))
    if request.param == "jira":
        with JiraSandbox() as jira:
            for key, value in jira.env().items():
                monkeypatch.setenv(key, value)
            assert main(["apply", str(file), "--target", "jira"]) == 0
            bob = ("bob@example.com", jira.user_token("bob@example.com"))
            client = JIRA(jira.url, basic_auth=bob, max_retries=0)
            capsys.readouterr()
            yield Team(file, config, JiraTracker(jira, client))
            client.close()  # type: ignore[no-untyped-call]
    else:
        with GitHubSandbox() as github:
            for key, value in github.env().items():
                monkeypatch.setenv(key, value)
            assert main(["apply", str(file), "--target", "github"]) == 0
            carol = Github(base_url=github.url, auth=Auth.Token(github.user_token("carol")))
            capsys.readouterr()
            yield Team(file, config, GitHubTracker(github, carol))
            carol.close()


# --- labels -------------------------------------------------------------------------------


def test_labels_changed_on_the_tracker_are_left_alone_and_the_files_are_pushed(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    tracker = team.tracker
    assert tracker.labels("US-001") == ["billing", "ux"]  # applied from the file
    tracker.set_labels("US-001", ["billing", "ux", "urgent"])
    team.edit_file("**Priority:** Medium\n", "**Priority:** Medium\n**Labels:** pdf\n")
    us1, us2 = tracker.key("US-001"), tracker.key("US-002")

    code, out = run_cli(capsys, "plan", str(team.file), "--target", team.target)
    assert code == 0
    assert (
        f"  < pull     US-001 {us1}: labels 'billing, ux' -> 'billing, ux, urgent' "
        f"(tracker, by {tracker.who})"
    ) in out
    assert f"  ~ push     US-002 {us2}: labels (none) -> pdf (file)" in out

    code, out = run_cli(capsys, "apply", str(team.file), "--target", team.target)
    assert code == 0
    assert (
        "left alone (changed on the tracker): US-001 labels 'billing, ux' -> "
        f"'billing, ux, urgent' (tracker, by {tracker.who})"
    ) in out
    assert tracker.labels("US-001") == ["billing", "ux", "urgent"]  # the teammate's kept
    assert tracker.labels("US-002") == ["pdf"]  # the file's pushed

    before = team.text()
    code, out = run_cli(capsys, "pull", str(team.file), "--target", team.target, "--write")
    assert code == 0
    assert team.text() == before.replace(
        "**Labels:** billing, ux\n", "**Labels:** billing, ux, urgent\n"
    )
    assert_nothing_left(capsys, team.file, team.tracker)


def test_labels_pulled_keep_the_files_order_and_a_labels_line_is_added(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    """The teammate drops ``billing`` from US-001 and labels US-002, which has no Labels
    line: the diff changes US-001's line and adds one after US-002's last field line."""
    team.tracker.set_labels("US-001", ["ux", "accessibility"])
    team.tracker.set_labels("US-002", ["pdf"])
    before = team.text()

    code, out = run_cli(capsys, "pull", str(team.file), "--target", team.target, "--diff")
    assert code == 0 and team.text() == before
    assert [line for line in out if line[:1] in "+-" and line[:3] not in ("+++", "---")] == [
        "-**Labels:** billing, ux",
        "+**Labels:** ux, accessibility",
        "+**Labels:** pdf",
    ]
    code, out = run_cli(capsys, "pull", str(team.file), "--target", team.target, "--write")
    assert code == 0
    assert team.text() == before.replace(
        "**Labels:** billing, ux\n", "**Labels:** ux, accessibility\n"
    ).replace("**Priority:** Medium\n", "**Priority:** Medium\n**Labels:** pdf\n")
    assert_nothing_left(capsys, team.file, team.tracker)
    assert team.tracker.labels("US-001") == ["ux", "accessibility"]


def test_labels_changed_on_both_sides_are_a_conflict_until_a_policy_decides(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    tracker = team.tracker
    us1 = tracker.key("US-001")
    tracker.set_labels("US-001", ["billing", "ux", "urgent"])
    team.edit_file("**Labels:** billing, ux\n", "**Labels:** billing\n")
    before = team.text()

    conflict = (
        "labels: conflict — file billing, tracker 'billing, ux, urgent' by "
        f"{tracker.who} (was 'billing, ux')"
    )
    code, out = run_cli(capsys, "plan", str(team.file), "--target", team.target)
    assert code == 1 and f"  ! conflict US-001 {us1}: {conflict}" in out
    code, out = run_cli(capsys, "apply", str(team.file), "--target", team.target)
    assert code == 1 and f"left alone (changed on the tracker): US-001 {conflict}" in out
    assert tracker.labels("US-001") == ["billing", "ux", "urgent"]
    code, out = run_cli(capsys, "pull", str(team.file), "--target", team.target, "--write")
    assert code == 1 and team.text() == before

    team.config.write_text('[sync]\nconflicts = "tracker-wins"\n', encoding="utf-8")
    code, out = run_cli(capsys, "pull", str(team.file), "--target", team.target, "--write")
    assert code == 0
    merged = "**Labels:** billing, urgent, ux\n"  # the file's order, the new ones after it
    assert team.text() == before.replace("**Labels:** billing\n", merged)
    assert_nothing_left(capsys, team.file, team.tracker)

    tracker.set_labels("US-001", ["billing"])
    team.edit_file("**Labels:** billing, urgent, ux\n", "**Labels:** billing, urgent\n")
    team.config.write_text('[sync]\nconflicts = "file-wins"\n', encoding="utf-8")
    code, out = run_cli(capsys, "apply", str(team.file), "--target", team.target)
    assert code == 0 and tracker.labels("US-001") == ["billing", "urgent"]
    assert_nothing_left(capsys, team.file, team.tracker)


# --- assignee -----------------------------------------------------------------------------


def test_an_assignee_changed_on_the_tracker_is_pulled_and_the_files_pushed(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    """The teammate assigns US-002 (no Assignee line in the file) to Bob; the file hands
    US-001 from Alice to Bob."""
    tracker = team.tracker
    assert tracker.assignee("US-001") == tracker.alice  # applied from the file
    tracker.assign("US-002", "bob")
    team.edit_file(f"**Assignee:** {tracker.alice}\n", f"**Assignee:** {tracker.bob}\n")
    us1, us2 = tracker.key("US-001"), tracker.key("US-002")

    code, out = run_cli(capsys, "plan", str(team.file), "--target", team.target)
    assert code == 0
    # as plan shows them: a name with a space quoted
    bob, alice = (repr(name) if " " in name else name for name in (tracker.bob, tracker.alice))
    assert f"  < pull     US-002 {us2}: assignee (none) -> {bob} (tracker, by {tracker.who})" in out
    assert f"  ~ push     US-001 {us1}: assignee {alice} -> {bob} (file)" in out

    code, out = run_cli(capsys, "apply", str(team.file), "--target", team.target)
    assert code == 0
    assert (
        f"left alone (changed on the tracker): US-002 assignee (none) -> {bob} "
        f"(tracker, by {tracker.who})"
    ) in out
    assert tracker.assignee("US-001") == tracker.bob  # the file's pushed
    assert tracker.assignee("US-002") == tracker.bob  # the teammate's kept

    before = team.text()
    code, out = run_cli(capsys, "pull", str(team.file), "--target", team.target, "--write")
    assert code == 0
    assert team.text() == before.replace(
        "**Priority:** Medium\n", f"**Priority:** Medium\n**Assignee:** {tracker.bob}\n"
    )
    assert_nothing_left(capsys, team.file, team.tracker)


def test_an_assignee_changed_on_both_sides_is_a_conflict_until_a_policy_decides(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    """The file drops US-001's Assignee line while the teammate gives the issue to Bob."""
    tracker = team.tracker
    us1 = tracker.key("US-001")
    tracker.assign("US-001", "bob")
    line = f"**Assignee:** {tracker.alice}\n"
    team.edit_file(line, "")
    before = team.text()

    code, out = run_cli(capsys, "plan", str(team.file), "--target", team.target)
    assert code == 1
    assert any(
        text.startswith(f"  ! conflict US-001 {us1}: assignee: conflict — file (none), tracker ")
        and f"by {tracker.who} (was " in text
        for text in out
    ), out
    code, out = run_cli(capsys, "apply", str(team.file), "--target", team.target)
    assert code == 1 and tracker.assignee("US-001") == tracker.bob
    code, out = run_cli(capsys, "pull", str(team.file), "--target", team.target, "--write")
    assert code == 1 and team.text() == before

    team.config.write_text('[sync]\nconflicts = "tracker-wins"\n', encoding="utf-8")
    code, out = run_cli(capsys, "pull", str(team.file), "--target", team.target, "--write")
    assert code == 0  # the line comes back, where it was: after the last field line
    assert team.text() == before.replace(
        "**Labels:** billing, ux\n", f"**Labels:** billing, ux\n**Assignee:** {tracker.bob}\n"
    )
    assert_nothing_left(capsys, team.file, team.tracker)

    tracker.assign("US-001", "alice")
    team.edit_file(f"**Assignee:** {tracker.bob}\n", "**Assignee:** None\n")
    team.config.write_text('[sync]\nconflicts = "file-wins"\n', encoding="utf-8")
    code, out = run_cli(capsys, "apply", str(team.file), "--target", team.target)
    assert code == 0 and tracker.assignee("US-001") is None  # unassigned, as the file says
    assert_nothing_left(capsys, team.file, team.tracker)


# --- acceptance criteria ticks -------------------------------------------------------------

OPENS, NUMBER, LARGE = (
    "The PDF opens in any reader",
    "The PDF shows the invoice number",
    "A large invoice renders in under 2 s",
)


def test_a_criterion_ticked_on_the_tracker_is_pulled_changing_one_character(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    """The teammate ticks two items, one of which the file ticks too: that one is no
    difference, the other is the tracker's."""
    tracker = team.tracker
    us2 = tracker.key("US-002")
    assert tracker.ticked("US-002") == [NUMBER]  # applied from the file
    tracker.tick("US-002", OPENS, True)
    tracker.tick("US-002", LARGE, True)
    team.edit_file(f"- [ ] {LARGE}\n", f"- [x] {LARGE}\n")

    code, out = run_cli(capsys, "plan", str(team.file), "--target", team.target)
    assert code == 0
    assert (
        f"  < pull     US-002 {us2}: criteria [ ] {OPENS} -> [x] {OPENS} "
        f"(tracker, by {tracker.who})"
    ) in out
    code, out = run_cli(capsys, "apply", str(team.file), "--target", team.target)
    assert code == 0 and tracker.ticked("US-002") == [OPENS, NUMBER, LARGE]  # left alone

    before = team.text()
    code, out = run_cli(capsys, "pull", str(team.file), "--target", team.target, "--diff")
    assert [line for line in out if line[:1] in "+-" and line[:3] not in ("+++", "---")] == [
        f"-- [ ] {OPENS}",
        f"+- [x] {OPENS}",
    ]
    code, out = run_cli(capsys, "pull", str(team.file), "--target", team.target, "--write")
    assert code == 0
    after = team.text()
    assert after == before.replace(f"- [ ] {OPENS}\n", f"- [x] {OPENS}\n")
    assert sum(a != b for a, b in zip(before, after, strict=True)) == 1  # one character
    assert_nothing_left(capsys, team.file, team.tracker)


def test_a_criterion_ticked_in_the_file_is_pushed(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    tracker = team.tracker
    team.edit_file(f"- [ ] {LARGE}\n", f"- [x] {LARGE}\n")
    team.edit_file(f"- [x] {NUMBER}\n", f"- [ ] {NUMBER}\n")
    code, out = run_cli(capsys, "plan", str(team.file), "--target", team.target)
    assert code == 0
    assert any(
        line.startswith(f"  ~ push     US-002 {tracker.key('US-002')}: criteria ")
        and line.endswith("(file)")
        for line in out
    ), out
    assert main(["apply", str(team.file), "--target", team.target]) == 0
    assert tracker.ticked("US-002") == [LARGE]
    capsys.readouterr()
    assert_nothing_left(capsys, team.file, team.tracker)


def test_criteria_ticked_on_both_sides_are_a_conflict_until_a_policy_decides(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    tracker = team.tracker
    us2 = tracker.key("US-002")
    tracker.tick("US-002", OPENS, True)
    team.edit_file(f"- [x] {NUMBER}\n", f"- [ ] {NUMBER}\n")
    before = team.text()

    code, out = run_cli(capsys, "plan", str(team.file), "--target", team.target)
    assert code == 1
    assert (
        f"  ! conflict US-002 {us2}: criteria: conflict — file [ ] {OPENS}; [ ] {NUMBER}, "
        f"tracker [x] {OPENS}; [x] {NUMBER} by {tracker.who} (was [ ] {OPENS}; [x] {NUMBER})"
    ) in out
    code, out = run_cli(capsys, "apply", str(team.file), "--target", team.target)
    assert code == 1 and tracker.ticked("US-002") == [OPENS, NUMBER]  # left alone
    code, out = run_cli(capsys, "pull", str(team.file), "--target", team.target, "--write")
    assert code == 1 and team.text() == before

    team.config.write_text('[sync]\nconflicts = "tracker-wins"\n', encoding="utf-8")
    code, out = run_cli(capsys, "pull", str(team.file), "--target", team.target, "--write")
    assert code == 0
    assert team.text() == before.replace(f"- [ ] {OPENS}\n", f"- [x] {OPENS}\n").replace(
        f"- [ ] {NUMBER}\n", f"- [x] {NUMBER}\n"
    )
    assert_nothing_left(capsys, team.file, team.tracker)

    tracker.tick("US-002", NUMBER, False)
    team.edit_file(f"- [ ] {LARGE}\n", f"- [x] {LARGE}\n")
    team.config.write_text('[sync]\nconflicts = "file-wins"\n', encoding="utf-8")
    code, out = run_cli(capsys, "apply", str(team.file), "--target", team.target)
    assert code == 0 and tracker.ticked("US-002") == [OPENS, NUMBER, LARGE]
    assert_nothing_left(capsys, team.file, team.tracker)


# --- GitOps: the three fields through a merged pull request ------------------------------


def test_gitops_proposes_labels_assignee_and_ticks_and_merging_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Carol labels US-001, assigns it to herself and ticks a criterion of US-002 on GitHub;
    their webhooks reach the service, whose pull request writes the three into the file (a
    Labels and an Assignee line added, one box ticked); merging it writes nothing back."""
    from tests.test_gitops import BRANCH, clean_backlog, open_team, tracker_writes

    text = clean_backlog()
    assert text.count(GHERKIN_US002) == 1
    text = text.replace(GHERKIN_US002, CHECKLIST_US002)
    with open_team(tmp_path, monkeypatch, with_jira=False, text=text) as team:
        carol = Github(base_url=team.github.url, auth=Auth.Token(team.github.user_token("carol")))
        repo = carol.get_repo("acme/bss")
        us1, us2 = repo.get_issue(team.number("US-001")), repo.get_issue(team.number("US-002"))
        us1.add_to_labels("urgent")
        us1.add_to_assignees("carol")
        assert us2.body.count(f"- [ ] {OPENS}\n") == 1
        us2.edit(body=us2.body.replace(f"- [ ] {OPENS}\n", f"- [x] {OPENS}\n"))
        team.settle()

        [pull] = team.open_pulls()
        proposed = text.replace(
            "**Priority:** High\n", "**Priority:** High\n**Labels:** urgent\n**Assignee:** carol\n"
        ).replace(f"- [ ] {OPENS}\n", f"- [x] {OPENS}\n")
        assert team.file_on(BRANCH) == proposed
        start = len(team.github.requests())
        assert pull.merge().merged
        team.settle()
        assert tracker_writes(team.github.requests()[start:]) == []
        assert team.open_pulls() == []
        carol.close()


def test_a_tick_left_alone_does_not_hold_back_the_files_sentence_in_the_same_text(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    """The teammate ticks a criterion of US-002 while the file rewrites US-002's sentence:
    both live in the one description or body. Apply pushes the sentence and keeps the
    tick; after a pull nothing is left to do."""
    tracker = team.tracker
    tracker.tick("US-002", OPENS, True)
    old = "As a customer, I want to download an invoice as PDF."
    new = "As a customer, I want to download any invoice as PDF."
    team.edit_file(f"> {old}\n", f"> {new}\n")
    assert main(["apply", str(team.file), "--target", team.target]) == 0
    assert tracker.ticked("US-002") == [OPENS, NUMBER]
    code, out = run_cli(capsys, "plan", str(team.file), "--target", team.target)
    assert code == 0
    assert not [line for line in out if " story " in line], out  # the sentence was pushed
    assert main(["pull", str(team.file), "--target", team.target, "--write"]) == 0
    assert f"> {new}\n" in team.text() and f"- [x] {OPENS}\n" in team.text()
    capsys.readouterr()
    assert_nothing_left(capsys, team.file, team.tracker)


def test_a_tick_left_alone_does_not_hold_back_a_task_renamed_in_the_file(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    """The tasks are one more part of the same description or body, never two-way: a
    teammate's tick is kept and the file's renamed task is written."""
    tracker = team.tracker
    tracker.tick("US-002", OPENS, True)
    team.edit_file("1. **Render PDF** (10 hrs)", "1. **Render the PDF** (10 hrs)")
    assert main(["apply", str(team.file), "--target", team.target]) == 0
    assert tracker.ticked("US-002") == [OPENS, NUMBER]
    assert "Render the PDF" in tracker.text("US-002")
    assert main(["pull", str(team.file), "--target", team.target, "--write"]) == 0
    capsys.readouterr()
    assert_nothing_left(capsys, team.file, team.tracker)
