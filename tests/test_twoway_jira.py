"""Two-way sync with Jira through the CLI, the way a team works: people edit issues in Jira
(through Jira's REST API, with the ``jira`` client) and the Markdown file in the repository;
``plan`` shows where each change came from, ``apply`` pushes only file-side changes and leaves
tracker-side ones alone, ``pull --write`` writes tracker-side changes into the file byte-exactly,
and fields changed on both sides are conflicts until a ``[sync] conflicts`` policy decides."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from jira import JIRA

from bot.cli.app import main
from sandbox.jira import JiraSandbox
from sync.jira.wiki import wiki_escape
from tests.twoway_support import BacklogFile, run_cli

BILLING = Path(__file__).resolve().parent / "data" / "billing-backlog.md"


@dataclass
class Team(BacklogFile):
    sandbox: JiraSandbox
    client: JIRA
    points: str  # the Story Points field id

    def key(self, story: str) -> str:
        [key] = self.sandbox.issues_by_label(f"backlog-id-{story}")
        return key

    def edit_in_jira(self, story: str, **fields: object) -> None:
        self.client.issue(self.key(story)).update(fields=fields)

    def jira_fields(self, story: str) -> tuple[str, float | None, str]:
        issue = self.client.issue(self.key(story))
        return (
            issue.fields.summary,
            getattr(issue.fields, self.points),
            issue.fields.priority.name,
        )


@pytest.fixture
def team(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Team]:
    file = tmp_path / "backlog.md"
    file.write_bytes(BILLING.read_bytes())
    config = tmp_path / "backlog-bot.toml"
    config.write_text("", encoding="utf-8")
    with JiraSandbox() as sandbox:
        env = {
            **sandbox.env(),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'state.db'}",
            "BACKLOG_BOT_CONFIG": str(config),
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        assert main(["apply", str(file), "--target", "jira"]) == 0
        capsys.readouterr()
        # the team edits Jira as Bob, a teammate with his own account
        bob = ("bob@example.com", sandbox.user_token("bob@example.com"))
        client = JIRA(sandbox.url, basic_auth=bob, max_retries=0)
        points = next(f["id"] for f in client.fields() if f["name"] == "Story point estimate")
        yield Team(file, config, sandbox, client, points)
        client.close()  # type: ignore[no-untyped-call]


def test_plan_shows_where_each_change_came_from_and_apply_leaves_jira_edits_alone(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    us1 = team.key("US-001")
    team.edit_in_jira("US-001", summary="Invoice list with filters", **{team.points: 3})
    team.edit_file("**Priority:** Medium", "**Priority:** Low")  # US-002, in the file

    code, out = run_cli(capsys, "plan", str(team.file), "--target", "jira")
    assert code == 0
    us2 = team.key("US-002")
    assert out[-5:] == [
        "changed since the last apply or pull (conflicts: report; < pull writes it into the "
        "file, ~ apply pushes it, ! conflict):",
        f"  < pull     US-001 {us1}: points 8 -> 3 (tracker, by Bob Backend)",
        f"  < pull     US-001 {us1}: title 'Invoice list' -> 'Invoice list with filters' "
        "(tracker, by Bob Backend)",
        f"  ~ push     US-002 {us2}: priority Medium -> Low (file)",
        "http calls: 12 (jira GET 12)",  # the drift read is one search for both stories
    ]

    code, out = run_cli(capsys, "apply", str(team.file), "--target", "jira")
    assert code == 0
    assert (
        "left alone (changed on the tracker): US-001 points 8 -> 3 (tracker, by Bob Backend)" in out
    )
    # the team's name and estimate are kept (the summary in the mapping's "ID · name" form)
    assert team.jira_fields("US-001") == ("US-001 · Invoice list with filters", 3, "High")
    assert team.jira_fields("US-002")[2] == "Low"  # the file-side change was pushed


def test_pull_writes_jira_edits_into_the_file_byte_exactly(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    before = team.text()
    team.edit_in_jira("US-001", summary="Invoice list with filters", **{team.points: 3})
    team.edit_in_jira("US-002", priority={"name": "Highest"})

    code, out = run_cli(capsys, "pull", str(team.file), "--target", "jira", "--diff")
    assert code == 0 and team.text() == before  # --diff alone writes nothing
    assert out[:2] == [f"--- a/{team.file}", f"+++ b/{team.file}"]
    assert [line for line in out if line[:1] in "+-" and line[:3] not in ("+++", "---")] == [
        "-### Story 1.1: Invoice list",
        "+### Story 1.1: Invoice list with filters",
        "-**Story Points:** 8",
        "+**Story Points:** 3",
        "-**Priority:** Medium",
        "+**Priority:** Critical",  # Jira's Highest in the backlog's own word
    ]

    code, out = run_cli(capsys, "pull", str(team.file), "--target", "jira", "--write")
    assert code == 0 and out[-1] == f"wrote {team.file}"
    expected = (
        before.replace(
            "### Story 1.1: Invoice list\n", "### Story 1.1: Invoice list with filters\n"
        )
        .replace("**Story Points:** 8\n", "**Story Points:** 3\n")
        .replace("**Priority:** Medium\n", "**Priority:** Critical\n")
    )
    assert team.text() == expected

    # pulled: nothing is left to pull, and apply does not write the values back differently
    code, out = run_cli(capsys, "pull", str(team.file), "--target", "jira")
    assert code == 0 and out == [
        "jira: 0 field(s) from the tracker, 0 from the file (apply pushes them), 0 conflict(s) "
        "(policy: report)"
    ]
    assert main(["apply", str(team.file), "--target", "jira"]) == 0
    # the same values, in the mapping's title form
    assert team.jira_fields("US-001") == ("US-001 · Invoice list with filters", 3, "High")


def test_a_jira_status_is_added_next_to_the_other_fields(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    key = team.key("US-002")
    done = next(t for t in team.client.transitions(key) if t["to"]["name"] == "In Progress")
    team.client.transition_issue(key, done["id"])
    assert main(["pull", str(team.file), "--target", "jira", "--write"]) == 0
    capsys.readouterr()
    # next to the story's fields, in their style; nothing else changes
    assert team.text() == BILLING.read_text(encoding="utf-8").replace(
        "**Story Points:** 5\n**Priority:** Medium\n",
        "**Story Points:** 5\n**Priority:** Medium\n**Status:** In Progress\n",
    )


def test_conflicts_are_reported_left_alone_then_resolved_by_each_policy(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    us1 = team.key("US-001")
    team.edit_in_jira("US-001", **{team.points: 5})
    team.edit_file("**Story Points:** 8", "**Story Points:** 13")
    before = team.text()

    code, out = run_cli(capsys, "plan", str(team.file), "--target", "jira")
    assert code == 1
    assert (
        f"  ! conflict US-001 {us1}: points: conflict — file 13, tracker 5 by Bob Backend (was 8)"
        in out
    )

    code, out = run_cli(capsys, "apply", str(team.file), "--target", "jira")
    assert code == 1 and team.jira_fields("US-001")[1] == 5  # left alone
    assert (
        "left alone (changed on the tracker): US-001 points: conflict — file 13, tracker 5 "
        "by Bob Backend (was 8)" in out
    )

    code, out = run_cli(capsys, "pull", str(team.file), "--target", "jira", "--write")
    assert code == 1 and team.text() == before  # nothing written for the field

    team.config.write_text('[sync]\nconflicts = "tracker-wins"\n', encoding="utf-8")
    code, out = run_cli(capsys, "pull", str(team.file), "--target", "jira", "--write")
    assert code == 0 and team.text() == before.replace(
        "**Story Points:** 13\n", "**Story Points:** 5\n"
    )

    team.edit_in_jira("US-001", **{team.points: 2})
    team.edit_file("Invoice list\n**Story Points:** 5", "Invoice list\n**Story Points:** 21")
    team.config.write_text('[sync]\nconflicts = "file-wins"\n', encoding="utf-8")
    code, out = run_cli(capsys, "apply", str(team.file), "--target", "jira")
    assert code == 0 and team.jira_fields("US-001")[1] == 21
    code, out = run_cli(capsys, "plan", str(team.file), "--target", "jira")
    assert code == 0 and "changed since the last apply or pull" not in "\n".join(out)


def test_an_unknown_policy_names_the_setting(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    team.config.write_text('[sync]\nconflicts = "merge"\n', encoding="utf-8")
    assert main(["plan", str(team.file), "--target", "jira"]) == 2
    assert capsys.readouterr().err == (
        "error: [sync] conflicts = 'merge': use one of 'report', 'file-wins', 'tracker-wins'\n"
    )


def test_after_a_pull_the_next_apply_writes_nothing(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    # the team edits the issues as Jira shows them (the summary keeps its "US-001 · " form)
    team.edit_in_jira("US-001", summary="US-001 · Invoice list with filters", **{team.points: 3})
    team.edit_in_jira("US-002", priority={"name": "Highest"})
    code, _out = run_cli(capsys, "pull", str(team.file), "--target", "jira", "--write")
    assert code == 0

    team.sandbox.clear_requests()
    code, out = run_cli(capsys, "plan", str(team.file), "--target", "jira")
    assert code == 0 and "changed since the last apply or pull" not in "\n".join(out)
    assert not any(line.lstrip().startswith(("~ update", "+ create")) for line in out), out
    assert main(["apply", str(team.file), "--target", "jira"]) == 0
    assert team.sandbox.write_requests() == []  # not one update per pulled issue: none
    assert team.jira_fields("US-001") == ("US-001 · Invoice list with filters", 3, "High")
    assert team.jira_fields("US-002")[2] == "Highest"


def test_after_a_pull_a_file_side_change_elsewhere_is_still_pushed(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    team.edit_in_jira("US-001", **{team.points: 3})  # pulled into the file
    # and, in the file, the same story's user story sentence (not a two-way field)
    team.edit_file("so that I can pay on time.", "so that I can pay before the due date.")
    assert main(["pull", str(team.file), "--target", "jira", "--write"]) == 0
    capsys.readouterr()

    team.sandbox.clear_requests()
    assert main(["apply", str(team.file), "--target", "jira"]) == 0
    writes = team.sandbox.write_requests()
    us1 = team.key("US-001")
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in writes] == [("PUT", us1)]
    issue = team.client.issue(us1)
    assert "pay before the due date" in issue.fields.description
    assert getattr(issue.fields, team.points) == 3  # the pulled value, sent back unchanged


def test_a_conflict_names_who_changed_jira(team: Team, capsys: pytest.CaptureFixture[str]) -> None:
    """Alice edits the issue in Jira with her own account; the changelog says it was her."""
    us1, us2 = team.key("US-001"), team.key("US-002")
    alice = JIRA(
        team.sandbox.url,
        basic_auth=("alice@example.com", team.sandbox.user_token("alice@example.com")),
        max_retries=0,
    )
    alice.issue(us1).update(fields={team.points: 5})
    alice.close()  # type: ignore[no-untyped-call]
    team.edit_in_jira("US-002", summary="US-002 · Invoice as PDF")  # Bob's account
    team.edit_file("**Story Points:** 8", "**Story Points:** 13")

    code, out = run_cli(capsys, "plan", str(team.file), "--target", "jira")
    assert code == 1
    assert (
        f"  ! conflict US-001 {us1}: points: conflict — file 13, tracker 5 by Alice Devops (was 8)"
    ) in out
    assert (
        f"  < pull     US-002 {us2}: title 'Invoice PDF' -> 'Invoice as PDF' "
        "(tracker, by Bob Backend)"
    ) in out


KARTHEEK = Path(__file__).resolve().parent / "data" / "realworld" / "kartheek-event-registration.md"


def test_qualified_priorities_map_and_keep_their_qualifier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file writing ``Critical (Must Have)`` gets Jira's Highest on apply, a pull right after
    finds nothing to bring back, and a priority changed in Jira comes back as the file's own
    ``Low (Must Have)`` on that one line."""
    file = tmp_path / "backlog.md"
    original = KARTHEEK.read_bytes()
    file.write_bytes(original)
    config = tmp_path / "backlog-bot.toml"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    monkeypatch.setenv("BACKLOG_BOT_CONFIG", str(config))
    with JiraSandbox() as sandbox:
        for name, value in sandbox.env().items():
            monkeypatch.setenv(name, value)
        assert main(["apply", str(file), "--target", "jira", "--quiet"]) == 0
        client = JIRA(sandbox.url, basic_auth=(sandbox.email, sandbox.token), max_retries=0)
        [us01] = sandbox.issues_by_label("backlog-id-US-01")
        [us03] = sandbox.issues_by_label("backlog-id-US-03")
        assert client.issue(us01).fields.priority.name == "Highest"  # Critical (Must Have)
        assert client.issue(us03).fields.priority.name == "High"  # High (Must Have)
        capsys.readouterr()

        assert main(["pull", str(file), "--target", "jira", "--diff"]) == 0
        assert "0 field(s) from the tracker" in capsys.readouterr().out
        assert file.read_bytes() == original

        client.issue(us03).update(fields={"priority": {"name": "Low"}})
        client.close()  # type: ignore[no-untyped-call]
        assert main(["pull", str(file), "--target", "jira", "--write"]) == 0
    before, after = original.decode().splitlines(), file.read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [("* **Priority:** High (Must Have)", "* **Priority:** Low (Must Have)")]


REFERENCE = Path(__file__).resolve().parents[1] / "examples" / "bss-modernization.md"


def test_a_story_moved_to_another_sprint_in_jira_moves_in_the_sprint_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bob moves US-002 from Sprint 1 into Sprint 2 on the board; pull moves its commitment
    (with its task lines) in the reference backlog's sprint plan, numbering both lists again;
    the next apply writes nothing."""
    file = tmp_path / "backlog.md"
    file.write_bytes(REFERENCE.read_bytes())
    (tmp_path / "backlog-bot.toml").write_text("", encoding="utf-8")
    with JiraSandbox() as sandbox:
        for key, value in {
            **sandbox.env(),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'state.db'}",
            "BACKLOG_BOT_CONFIG": str(tmp_path / "backlog-bot.toml"),
        }.items():
            monkeypatch.setenv(key, value)
        assert main(["apply", str(file), "--target", "jira"]) == 0
        bob = ("bob@example.com", sandbox.user_token("bob@example.com"))
        client = JIRA(sandbox.url, basic_auth=bob, max_retries=0)
        [key] = sandbox.issues_by_label("backlog-id-US-002")
        [board] = client.boards()
        sprint2 = next(s for s in client.sprints(board.id) if s.name == "Sprint 2")
        client.add_issues_to_sprint(sprint2.id, [key])
        client.close()  # type: ignore[no-untyped-call]
        capsys.readouterr()

        code, out = run_cli(capsys, "plan", str(file), "--target", "jira")
        assert code == 0, out
        assert (
            f"  < pull     US-002 {key}: sprint 'Sprint 1' -> 'Sprint 2' (tracker, by Bob Backend)"
            in out
        )

        code, out = run_cli(capsys, "pull", str(file), "--target", "jira", "--write")
        assert code == 0 and out[-1] == f"wrote {file}"
        assert file.read_text(encoding="utf-8") == _moved_us002(
            REFERENCE.read_text(encoding="utf-8")
        )

        sandbox.clear_requests()
        code, out = run_cli(capsys, "plan", str(file), "--target", "jira")
        assert code == 0 and "changed since the last apply or pull" not in "\n".join(out)
        assert main(["apply", str(file), "--target", "jira"]) == 0
        assert sandbox.write_requests() == []


def _moved_us002(text: str) -> str:
    """The reference with US-002's commitment moved from Sprint 1 to the end of Sprint 2's
    stories (before its buffer line), both lists numbered 1, 2, 3 ... again."""
    us002 = (
        "2. **US-002: Performance Testing Infrastructure** (13 pts) - QA\n"
        "   - Install and configure k6 (3 hrs)\n"
        "   - Create baseline test scenarios (8 hrs)\n"
        "   - Establish performance thresholds (4 hrs)\n"
        "   - **Total: 15 hrs** - QA (100% allocation)\n"
        "\n"
    )
    assert text.count(us002) == 1
    text = text.replace(us002, "")
    for old, new in (
        ("3. **US-006: Health", "2. **US-006: Health"),
        ("4. **US-007: Metrics", "3. **US-007: Metrics"),
        ("5. **US-005: Structured", "4. **US-005: Structured"),
        ("6. **US-003: Database", "5. **US-003: Database"),
        ("7. **US-004: Database", "6. **US-004: Database"),
    ):
        assert text.count(old) == 1
        text = text.replace(old, new)
    buffer = "4. **Buffer for Story Spillover** (70 pts)\n"
    assert text.count(buffer) == 1
    moved = "4" + us002.removesuffix("\n")[1:]
    return text.replace(buffer, moved + "5. **Buffer for Story Spillover** (70 pts)\n")


def test_a_story_sentence_edited_in_jira_is_pulled_and_a_file_edit_pushed(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bob rewrites US-001's sentence in the description (keeping the bot's layout, wiki
    escapes and all); pull writes it into the quoted line; the file's edit of US-002's
    sentence is pushed; then nothing is left to do."""
    us1 = team.key("US-001")
    old = team.client.issue(us1).fields.description
    sentence = "As a customer, I want to see my invoices so that I can pay on time."
    new = "As a customer, I want my *12* latest invoices so that I can pay on time."
    line = f"*User story:* {sentence}"
    assert old.count(line) == 1
    team.client.issue(us1).update(
        fields={"description": old.replace(line, "*User story:* " + wiki_escape(new))}
    )
    team.edit_file(
        "As a customer, I want to download an invoice as PDF.",
        "As a customer, I want to download any invoice as PDF.",
    )
    before = team.text()

    code, out = run_cli(capsys, "plan", str(team.file), "--target", "jira")
    assert code == 0
    assert (
        f"  < pull     US-001 {us1}: story {sentence!r} -> {new!r} (tracker, by Bob Backend)" in out
    )
    assert any(line.startswith("  ~ push     US-002") and " story " in line for line in out), out

    code, out = run_cli(capsys, "pull", str(team.file), "--target", "jira", "--write")
    assert code == 0
    # in the file's Markdown, the asterisks are escaped so that they read as written
    written = new.replace("*", "\\*")
    assert team.text() == before.replace(f"> {sentence}\n", f"> {written}\n")

    team.sandbox.clear_requests()
    assert main(["apply", str(team.file), "--target", "jira"]) == 0
    writes = team.sandbox.write_requests()
    assert [r.path.rsplit("/", 1)[-1] for r in writes] == [team.key("US-002")]  # the file's edit
    assert "download any invoice" in team.client.issue(team.key("US-002")).fields.description
    assert wiki_escape(new) in team.client.issue(us1).fields.description  # Bob's kept
    capsys.readouterr()
    code, out = run_cli(capsys, "plan", str(team.file), "--target", "jira")
    assert code == 0 and "changed since the last apply or pull" not in "\n".join(out)
