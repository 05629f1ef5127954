"""Stories created in a tracker under a linked epic appear in the file: a teammate creates a
story in Jira under an epic (``jira`` client) or a sub-issue of an epic's issue on GitHub
(PyGithub); ``pull --write`` appends it to that epic in the file's own style with the next id
of the file's pattern, adds only those lines (every other byte as it was), links it, and the
next ``apply`` updates that issue instead of creating a second one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from github import Auth, Github
from jira import JIRA

from bot.cli.app import main
from sandbox.github import GitHubSandbox
from sandbox.jira import JiraSandbox

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "examples" / "bss-modernization.md"
BILLING = ROOT / "tests" / "data" / "billing-backlog.md"
REALWORLD = ROOT / "tests" / "data" / "realworld"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    config = tmp_path / "backlog-bot.toml"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    monkeypatch.setenv("BACKLOG_BOT_CONFIG", str(config))
    yield monkeypatch


def _read(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def _inserted(before: str, after: str) -> tuple[int, list[str]]:
    """Where ``after`` differs from ``before`` by lines added in one place, and those lines."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    at = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), len(old))
    added = len(new) - len(old)
    assert added > 0 and new[:at] + new[at + added :] == old, "not a pure insertion"
    return at, new[at : at + added]


def _jira_epic(sandbox: JiraSandbox, epic: str) -> str:
    [key] = sandbox.issues_by_label(f"backlog-id-{epic}")
    return key


@pytest.mark.slow
def test_a_story_created_in_jira_joins_its_epic_in_the_reference_backlog(
    tmp_path: Path, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "backlog.md"
    file.write_bytes(REFERENCE.read_bytes())
    with JiraSandbox() as sandbox:
        for key, value in sandbox.env().items():
            env.setenv(key, value)
        assert main(["apply", str(file), "--target", "jira", "--quiet"]) == 0
        client = JIRA(sandbox.url, basic_auth=(sandbox.email, sandbox.token), max_retries=0)
        points = next(f["id"] for f in client.fields() if f["name"] == "Story point estimate")
        created = client.create_issue(
            fields={
                "project": {"key": "BSS"},
                "summary": "Export traces to the data lake",
                "issuetype": {"name": "Story"},
                "parent": {"key": _jira_epic(sandbox, "EPIC-001")},
                "priority": {"name": "High"},
                points: 5,
            }
        )
        issues_before = len(sandbox.state.issues)
        capsys.readouterr()

        assert main(["pull", str(file), "--target", "jira", "--write"]) == 0
        out = capsys.readouterr().out
        title = "'Export traces to the data lake'"
        assert f"  + new      EPIC-001 US-030 {created.key}: {title} (tracker)" in out
        at, lines = _inserted(REFERENCE.read_text(encoding="utf-8"), _read(file))
        assert lines == [
            "### Story 1.8: Export traces to the data lake\n",
            "**Story ID:** US-030\n",
            "**Title:** Export traces to the data lake\n",
            "**Story Points:** 5\n",
            "**Priority:** High\n",
            "**Dependencies:** None\n",
            "\n",
            "---\n",
            "\n",
        ]
        assert _read(file).splitlines()[at + len(lines)] == "# EPIC 2: CORE INFRASTRUCTURE"

        # linked: pulled again, nothing new; applied, the same issue takes the backlog id
        assert main(["pull", str(file), "--target", "jira", "--write"]) == 0
        assert "+ new" not in capsys.readouterr().out
        assert main(["apply", str(file), "--target", "jira", "--quiet"]) == 0
        assert len(sandbox.state.issues) == issues_before  # no second issue
        assert sandbox.issues_by_label("backlog-id-US-030") == [created.key]
        assert client.issue(created.key).fields.summary == "US-030 · Export traces to the data lake"
        client.close()  # type: ignore[no-untyped-call]


def test_a_sub_issue_created_on_github_joins_its_epic(
    tmp_path: Path, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "backlog.md"
    file.write_bytes(BILLING.read_bytes())
    with GitHubSandbox() as sandbox:
        for key, value in sandbox.env().items():
            env.setenv(key, value)
        env.delenv("GITHUB_PROJECT")
        assert main(["apply", str(file), "--target", "github", "--quiet"]) == 0
        gh = Github(base_url=sandbox.url, auth=Auth.Token(sandbox.token))
        repo = gh.get_repo("acme/bss")
        [epic] = sandbox.issues_by_marker()["EPIC-001"]
        story = repo.create_issue("Invoice reminders by e-mail", labels=["priority: high"])
        repo.get_issue(epic).add_sub_issue(story.id)
        issues_before = len(sandbox.repo.issues)
        capsys.readouterr()

        assert main(["pull", str(file), "--target", "github", "--write"]) == 0
        assert f"US-003 #{story.number}: 'Invoice reminders by e-mail'" in capsys.readouterr().out
        _, lines = _inserted(BILLING.read_text(encoding="utf-8"), _read(file))
        assert lines == [
            "### Story 1.3: Invoice reminders by e-mail\n",
            "**Story ID:** US-003\n",
            "**Title:** Invoice reminders by e-mail\n",
            "**Priority:** High\n",
            "**Dependencies:** None\n",
            "\n",
            "---\n",
            "\n",
        ]
        assert main(["apply", str(file), "--target", "github", "--quiet"]) == 0
        assert len(sandbox.repo.issues) == issues_before  # adopted, not created again
        assert sandbox.issues_by_marker()["US-003"] == [story.number]
        gh.close()


@pytest.mark.parametrize(
    ("name", "epic", "expected"),
    [
        (
            "safehaven-product-backlog.md",
            "EPIC-002",
            ["#### SH-031: Offline status cache\n", "\n", "---\n", "\n"],
        ),
        (
            "kartheek-event-registration.md",
            "EPIC-01",
            [
                "### US-21: Offline status cache\n",
                "* **Story ID:** US-21\n",
                "* **Epic:** EPIC-01 (IAM)\n",
                "* **Priority:** High\n",
                "* **Story Points:** 3\n",
                "* **Dependencies:** None\n",
                "\n",
                "---\n",
                "\n",
            ],
        ),
        (
            "coffeelovers-travel-planner.md",
            "EPIC-001",
            ["#### User Story 1.5: Offline status cache\n", "\n", "---\n", "\n"],
        ),
        # stories as table rows: a row under the epic's last one, the next id, its cells filled
        # where the table has the column (no points column; "GitHub Issue" is not Jira's)
        (
            "kdu-lost-found.md",
            "EPIC-002",
            ["| US-18 | Offline status cache | High | |\n"],
        ),
    ],
)
def test_real_world_backlogs_get_only_the_new_lines(
    tmp_path: Path,
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    epic: str,
    expected: list[str],
) -> None:
    original = (REALWORLD / name).read_bytes()
    file = tmp_path / name
    file.write_bytes(original)
    with JiraSandbox() as sandbox:
        for key, value in sandbox.env().items():
            env.setenv(key, value)
        assert main(["apply", str(file), "--target", "jira", "--quiet"]) == 0
        # right after apply the tracker holds what the file says: a pull changes nothing
        # (kartheek's "High (Must Have)" is Jira's High, not a change to bring back)
        assert main(["pull", str(file), "--target", "jira", "--write"]) == 0
        before = _read(file)
        assert before.encode("utf-8") == original
        client = JIRA(sandbox.url, basic_auth=(sandbox.email, sandbox.token), max_retries=0)
        points = next(f["id"] for f in client.fields() if f["name"] == "Story point estimate")
        client.create_issue(
            fields={
                "project": {"key": "BSS"},
                "summary": "Offline status cache",
                "issuetype": {"name": "Story"},
                "parent": {"key": _jira_epic(sandbox, epic)},
                "priority": {"name": "High"},
                points: 3,
            }
        )
        client.close()  # type: ignore[no-untyped-call]
        assert main(["pull", str(file), "--target", "jira", "--write"]) == 0
    _, lines = _inserted(before, _read(file))
    assert lines == expected


TABLES = REALWORLD / "kdu-lost-found.md"  # every story a row of its epic's table


@pytest.mark.parametrize("target", ["jira", "github"])
def test_a_story_created_under_an_epic_of_a_table_backlog_is_a_new_row_that_apply_adopts(
    tmp_path: Path, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    original = TABLES.read_bytes()
    file = tmp_path / TABLES.name
    file.write_bytes(original)
    sandbox: JiraSandbox | GitHubSandbox
    with JiraSandbox() if target == "jira" else GitHubSandbox() as sandbox:
        for key, value in sandbox.env().items():
            env.setenv(key, value)
        env.delenv("GITHUB_PROJECT", raising=False)
        assert main(["apply", str(file), "--target", target, "--quiet"]) == 0
        if isinstance(sandbox, JiraSandbox):
            client = JIRA(sandbox.url, basic_auth=(sandbox.email, sandbox.token), max_retries=0)
            created = client.create_issue(
                fields={
                    "project": {"key": "BSS"},
                    "summary": "Report a stolen item",
                    "issuetype": {"name": "Story"},
                    "parent": {"key": _jira_epic(sandbox, "EPIC-005")},
                    "priority": {"name": "Low"},
                }
            )
            key, row = created.key, "| US-18 | Report a stolen item | Low | |\n"
            issues_before = len(sandbox.state.issues)
        else:
            gh = Github(base_url=sandbox.url, auth=Auth.Token(sandbox.token))
            repo = gh.get_repo("acme/bss")
            [epic] = sandbox.issues_by_marker()["EPIC-005"]
            issue = repo.create_issue("Report a stolen item", labels=["priority: low"])
            repo.get_issue(epic).add_sub_issue(issue.id)
            gh.close()
            # the table's "GitHub Issue" column names the issue, as the other rows do
            key, row = (
                f"#{issue.number}",
                f"| US-18 | Report a stolen item | Low | #{issue.number} |\n",
            )
            issues_before = len(sandbox.repo.issues)
        capsys.readouterr()

        assert main(["pull", str(file), "--target", target, "--write"]) == 0
        assert (
            f"  + new      EPIC-005 US-18 {key}: 'Report a stolen item'" in capsys.readouterr().out
        )
        at, lines = _inserted(original.decode("utf-8"), _read(file))
        assert lines == [row]
        assert _read(file).splitlines()[at - 1 : at + 2] == [
            "| US-17 | View Dashboard | Medium | #17 |",
            row.rstrip("\n"),
            "---",
        ]
        written = _read(file)

        # linked: a second pull adds nothing; apply updates that issue, never creates another
        assert main(["pull", str(file), "--target", target, "--write"]) == 0
        assert "+ new" not in capsys.readouterr().out
        assert main(["apply", str(file), "--target", target, "--quiet"]) == 0
        assert main(["pull", str(file), "--target", target, "--write"]) == 0
        assert _read(file) == written
        if isinstance(sandbox, JiraSandbox):
            assert len(sandbox.state.issues) == issues_before
            assert sandbox.issues_by_label("backlog-id-US-18") == [key]
            assert client.issue(key).fields.summary == "US-18 · Report a stolen item"
            client.close()  # type: ignore[no-untyped-call]
        else:
            assert len(sandbox.repo.issues) == issues_before
            assert sandbox.issues_by_marker()["US-18"] == [int(key.lstrip("#"))]


def test_a_new_row_is_written_in_the_tables_own_padding_and_emphasis() -> None:
    from backlog.append import NewStory, append_stories
    from backlog.parse import parse_text

    table = (
        "# Backlog\n\n## Epic 1: Billing\n\n"
        "| Story ID    | Title            | Points | Priority | Status | Owner | Dependencies |\n"
        "|-------------|------------------|-------:|----------|--------|-------|--------------|\n"
        "| **BIL-007** | Invoice export   |      5 | High     | Done   | Ann   | -            |\n"
        "| **BIL-008** | Reminder e-mails |     13 | Low      | To Do  | Bob   | BIL-007      |\n"
        "\n## Epic 2: Other\n"
    )
    backlog = parse_text(table, "backlog.md")
    result = append_stories(
        table,
        backlog,
        [
            NewStory("EPIC-001", "Dunning | letters", 3, "High", source="BSS-9"),
            NewStory("EPIC-001", "A title longer than its column", None, None, "In Progress"),
        ],
    )
    assert result.skipped == []
    assert [new_id for _, new_id in result.added] == ["BIL-009", "BIL-010"]
    _, lines = _inserted(table, result.text)
    assert lines == [
        "| **BIL-009** | Dunning \\| letters |      3 | High     |        |       "
        "| -            |\n",
        "| **BIL-010** | A title longer than its column |        |          | In Progress |       "
        "| -            |\n",
    ]
    again = parse_text(result.text, "backlog.md")
    story = next(s for s in again.iter_stories() if s.id == "BIL-009")
    assert (story.epic_id, story.title, story.points, story.priority) == (
        "EPIC-001", "Dunning | letters", 3, "High",
    )  # fmt: skip


def test_an_epic_with_no_story_to_copy_is_reported_not_guessed() -> None:
    from backlog.append import NewStory, append_stories
    from backlog.parse import parse_text

    text = "# Backlog\n\n## Epic 1: Billing\n\nNothing planned yet.\n"
    result = append_stories(text, parse_text(text, "b.md"), [NewStory("EPIC-001", "Export")])
    assert result.text == text
    assert [why for _, why in result.skipped] == [
        "epic EPIC-001 has no story to copy (written as a heading section, or as a row of a "
        "story table with an id column)"
    ]
