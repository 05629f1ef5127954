"""Two-way sync with GitHub through the CLI: a teammate renames an issue on GitHub (through
GitHub's REST API with PyGithub); ``plan`` shows the change as the tracker's, ``apply`` leaves
it alone, and ``pull --write`` writes the new name into the story heading, the rest of the
file byte for byte as it was."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from github import Auth, Github
from github.Milestone import Milestone

from bot.cli.app import main
from sandbox.github import GitHubSandbox

BILLING = Path(__file__).resolve().parent / "data" / "billing-backlog.md"


@contextmanager
def applied(
    file: Path, backlog: Path, monkeypatch: pytest.MonkeyPatch, *, board: bool = True
) -> Iterator[GitHubSandbox]:
    """``backlog`` copied to ``file`` and applied to a GitHub sandbox (state beside the file);
    ``board``: with the sandbox's Projects v2 board (else issues and milestones only)."""
    file.write_bytes(backlog.read_bytes())
    with GitHubSandbox() as sandbox:
        for key, value in sandbox.env().items():
            if key != "GITHUB_PROJECT" or board:
                monkeypatch.setenv(key, value)
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{file.parent / 'state.db'}")
        assert main(["apply", str(file), "--target", "github"]) == 0
        yield sandbox


def test_a_title_changed_on_github_is_pulled_into_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "backlog.md"
    with applied(file, BILLING, monkeypatch) as sandbox:
        number = sandbox.issues_by_marker()["US-002"][0]
        client = Github(base_url=sandbox.url, auth=Auth.Token(sandbox.token))
        client.get_repo("acme/bss").get_issue(number).edit(title="US-002 · Invoice PDF download")
        capsys.readouterr()

        assert main(["plan", str(file), "--target", "github"]) == 0
        planned = capsys.readouterr().out
        assert (
            f"  < pull     US-002 #{number}: title 'Invoice PDF' -> "
            "'Invoice PDF download' (tracker, by acme)"  # the token's account renamed it
        ) in planned

        assert main(["apply", str(file), "--target", "github"]) == 0
        assert "left alone (changed on the tracker): US-002 title" in capsys.readouterr().out
        issue = client.get_repo("acme/bss").get_issue(number)
        assert issue.title == "US-002 · Invoice PDF download"

        assert main(["pull", str(file), "--target", "github", "--write"]) == 0
        assert file.read_bytes() == BILLING.read_bytes().replace(
            b"### Story 1.2: Invoice PDF\n", b"### Story 1.2: Invoice PDF download\n"
        )
        client.close()


ITEMS = (
    "query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) {"
    " projectsV2(first: 1) { nodes { id fields(first: 20) { nodes {"
    " ... on ProjectV2FieldCommon { id name }"
    " ... on ProjectV2SingleSelectField { options { id name } } } }"
    " items(first: 100) { nodes { id content { ... on Issue { number } } } } } } } }"
)
SET_NUMBER = (
    "mutation($input: UpdateProjectV2ItemFieldValueInput!) {"
    " updateProjectV2ItemFieldValue(input: $input) { projectV2Item { id } } }"
)


def _set_board_points(client: Github, number: int, points: float) -> None:
    """What a teammate does on the board: the issue's Story Points, through GraphQL."""
    _set_board_value(client, number, "Story Points", {"number": points})


def _set_board_option(client: Github, number: int, field: str, option: str) -> None:
    """A single-select field of the issue's board item (Sprint, Priority) set to ``option``."""
    _set_board_value(client, number, field, option)


def _set_board_value(client: Github, number: int, name: str, value: object) -> None:
    _headers, data = client.requester.graphql_query(ITEMS, {"owner": "acme", "name": "bss"})
    [project] = data["data"]["repository"]["projectsV2"]["nodes"]
    field = next(f for f in project["fields"]["nodes"] if f.get("name") == name)
    if isinstance(value, str):  # an option, by name
        value = {
            "singleSelectOptionId": next(o["id"] for o in field["options"] if o["name"] == value)
        }
    items = project["items"]["nodes"]
    item = next(i["id"] for i in items if i["content"]["number"] == number)
    target = {"projectId": project["id"], "itemId": item, "fieldId": field["id"]}
    client.requester.graphql_query(SET_NUMBER, {"input": {**target, "value": value}})


def test_after_a_pull_apply_writes_only_what_github_does_not_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "backlog.md"
    with applied(file, BILLING, monkeypatch) as sandbox:
        us1, us2 = sandbox.issues_by_marker()["US-001"][0], sandbox.issues_by_marker()["US-002"][0]
        client = Github(base_url=sandbox.url, auth=Auth.Token(sandbox.token))
        client.get_repo("acme/bss").get_issue(us2).edit(title="US-002 · Invoice PDF download")
        _set_board_points(client, us1, 3)
        assert main(["pull", str(file), "--target", "github", "--write"]) == 0
        assert file.read_bytes() == BILLING.read_bytes().replace(
            b"### Story 1.2: Invoice PDF\n", b"### Story 1.2: Invoice PDF download\n"
        ).replace(b"**Story Points:** 8\n", b"**Story Points:** 3\n")
        capsys.readouterr()

        sandbox.clear_requests()
        assert main(["apply", str(file), "--target", "github"]) == 0
        writes = [
            r for r in sandbox.requests() if r["method"] in ("POST", "PATCH", "PUT", "DELETE")
        ]
        mutations = [r for r in writes if r["path"] != "/graphql" or "mutation" in str(r["body"])]
        # The renamed issue and the board's points are left as they are. The one write is
        # US-001's body, whose "**Story Points:**" line copies the file: GitHub's board holds
        # the new points, the issue text does not yet.
        assert [(r["method"], r["path"]) for r in mutations] == [
            ("PATCH", f"/repos/acme/bss/issues/{us1}")
        ]
        body = client.get_repo("acme/bss").get_issue(us1).body
        assert "**Story Points:** 3" in body
        assert client.get_repo("acme/bss").get_issue(us2).title == "US-002 · Invoice PDF download"

        sandbox.clear_requests()
        client.get_repo("acme/bss").get_issue(us2).edit(title="US-002 · Invoice as PDF")
        assert main(["pull", str(file), "--target", "github", "--write"]) == 0
        sandbox.clear_requests()
        assert main(["apply", str(file), "--target", "github"]) == 0
        assert [
            r for r in sandbox.requests() if r["method"] != "GET" and r["path"] != "/graphql"
        ] == []
        assert not [r for r in sandbox.requests() if "mutation" in str(r["body"])]
        client.close()


def test_plan_names_who_changed_github(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Carol renames an issue (its issue events say so), Dave sets the board's points (the
    value's creator); the plan names them."""
    file = tmp_path / "backlog.md"
    with applied(file, BILLING, monkeypatch) as sandbox:
        us1, us2 = sandbox.issues_by_marker()["US-001"][0], sandbox.issues_by_marker()["US-002"][0]
        carol = Github(base_url=sandbox.url, auth=Auth.Token(sandbox.user_token("carol")))
        carol.get_repo("acme/bss").get_issue(us2).edit(title="US-002 · Invoice PDF download")
        dave = Github(base_url=sandbox.url, auth=Auth.Token(sandbox.user_token("dave")))
        _set_board_points(dave, us1, 3)
        file.write_bytes(
            BILLING.read_bytes().replace(b"**Story Points:** 8", b"**Story Points:** 13")
        )
        capsys.readouterr()

        sandbox.clear_requests()
        assert main(["plan", str(file), "--target", "github"]) == 1
        out = capsys.readouterr().out.splitlines()
        assert (
            f"  ! conflict US-001 #{us1}: points: conflict — file 13, tracker 3 by dave (was 8)"
            in out
        )
        assert (
            f"  < pull     US-002 #{us2}: title 'Invoice PDF' -> 'Invoice PDF download' "
            "(tracker, by carol)"
        ) in out
        # the names cost one read of the repository's issue events, nothing per issue
        events = [r for r in sandbox.requests() if r["path"].endswith("/issues/events")]
        assert len(events) == 1
        carol.close()
        dave.close()


REFERENCE = Path(__file__).resolve().parents[1] / "examples" / "bss-modernization.md"


def test_a_story_moved_to_another_sprint_on_the_board_moves_in_the_sprint_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Dave moves US-002 to Sprint 2 on the board; pull moves its commitment in the
    reference backlog's sprint plan byte-exactly; the next apply writes only the issue's
    milestone (which follows the board's sprint) and nothing on the board."""
    from tests.test_twoway_jira import _moved_us002

    file = tmp_path / "backlog.md"
    with applied(file, REFERENCE, monkeypatch) as sandbox:
        number = sandbox.issues_by_marker()["US-002"][0]
        dave = Github(base_url=sandbox.url, auth=Auth.Token(sandbox.user_token("dave")))
        _set_board_option(dave, number, "Sprint", "Sprint 2")
        capsys.readouterr()

        assert main(["plan", str(file), "--target", "github"]) == 0
        assert (
            f"  < pull     US-002 #{number}: sprint 'Sprint 1' -> 'Sprint 2' (tracker, by dave)"
            in capsys.readouterr().out.splitlines()
        )
        assert main(["pull", str(file), "--target", "github", "--write"]) == 0
        assert file.read_text(encoding="utf-8") == _moved_us002(
            REFERENCE.read_text(encoding="utf-8")
        )

        sandbox.clear_requests()
        assert main(["apply", str(file), "--target", "github"]) == 0
        writes = [r for r in sandbox.requests() if r["method"] != "GET" and r["path"] != "/graphql"]
        assert [(r["method"], r["path"], sorted(r["body"])) for r in writes] == [
            ("PATCH", f"/repos/acme/bss/issues/{number}", ["body", "labels", "milestone", "title"])
        ]
        assert not [r for r in sandbox.requests() if "mutation" in str(r["body"])]
        milestone = dave.get_repo("acme/bss").get_issue(number).milestone
        assert milestone is not None and milestone.title.startswith("Sprint 2")
        dave.close()


def test_a_story_sentence_edited_on_github_is_pulled_and_nothing_is_pushed_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "backlog.md"
    with applied(file, BILLING, monkeypatch) as sandbox:
        number = sandbox.issues_by_marker()["US-002"][0]
        carol = Github(base_url=sandbox.url, auth=Auth.Token(sandbox.user_token("carol")))
        issue = carol.get_repo("acme/bss").get_issue(number)
        old = "As a customer, I want to download an invoice as PDF."
        new = "As a customer, I want to download any invoice as PDF."
        assert issue.body.count(f"> {old}\n") == 1
        issue.edit(body=issue.body.replace(f"> {old}\n", f"> {new}\n"))
        capsys.readouterr()

        assert main(["plan", str(file), "--target", "github"]) == 0
        assert (
            f"  < pull     US-002 #{number}: story {old!r} -> {new!r} (tracker, by carol)"
            in capsys.readouterr().out.splitlines()
        )
        assert main(["pull", str(file), "--target", "github", "--write"]) == 0
        assert file.read_bytes() == BILLING.read_bytes().replace(
            f"> {old}\n".encode(), f"> {new}\n".encode()
        )
        sandbox.clear_requests()
        assert main(["apply", str(file), "--target", "github"]) == 0
        assert [
            r for r in sandbox.requests() if r["method"] != "GET" and r["path"] != "/graphql"
        ] == []
        assert not [r for r in sandbox.requests() if "mutation" in str(r["body"])]
        carol.close()


def _writes(sandbox: GitHubSandbox) -> list[tuple[str, str]]:
    """The sandbox's logged writes to issues, labels, milestones and the board (GraphQL
    mutations; GraphQL reads are POSTs too)."""
    return [
        (r["method"], r["path"])
        for r in sandbox.requests()
        if r["method"] in ("POST", "PATCH", "PUT", "DELETE")
        and (r["path"] != "/graphql" or "mutation" in str(r["body"]))
    ]


def _milestone(client: Github, title: str) -> Milestone:
    """The repository's milestone titled ``title`` (from the list: one GET)."""
    milestones = client.get_repo("acme/bss").get_milestones(state="all")
    return next(m for m in milestones if m.title == title)


def _milestone_of(client: Github, number: int) -> str | None:
    """The title of issue ``number``'s milestone, as the issue's JSON gives it."""
    milestone = client.get_repo("acme/bss").get_issue(number).raw_data.get("milestone")
    return str(milestone["title"]) if milestone else None


def test_without_a_board_a_milestone_changed_on_github_is_the_sprint_pulled_into_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No board: the sprint lives in the issue's milestone. Dave moves US-002 from the
    "Sprint 1: Foundation Setup" milestone to "Sprint 2: Foundation Completion"; plan shows it
    as the tracker's, apply leaves it alone, pull --write moves the commitment in the sprint
    plan byte-exactly, and the apply after it writes nothing."""
    from tests.test_twoway_jira import _moved_us002

    monkeypatch.delenv("GITHUB_PROJECT", raising=False)
    file = tmp_path / "backlog.md"
    with applied(file, REFERENCE, monkeypatch, board=False) as sandbox:
        number = sandbox.issues_by_marker()["US-002"][0]
        dave = Github(base_url=sandbox.url, auth=Auth.Token(sandbox.user_token("dave")))
        repo = dave.get_repo("acme/bss")
        assert _milestone_of(dave, number) == "Sprint 1: Foundation Setup"
        repo.get_issue(number).edit(milestone=_milestone(dave, "Sprint 2: Foundation Completion"))
        capsys.readouterr()

        assert main(["plan", str(file), "--target", "github"]) == 0
        assert (
            f"  < pull     US-002 #{number}: sprint 'Sprint 1' -> 'Sprint 2' (tracker, by dave)"
            in capsys.readouterr().out.splitlines()
        )
        sandbox.clear_requests()
        assert main(["apply", str(file), "--target", "github"]) == 0
        assert (
            "left alone (changed on the tracker): US-002 sprint 'Sprint 1' -> 'Sprint 2'"
            in capsys.readouterr().out
        )
        assert _writes(sandbox) == []
        assert _milestone_of(dave, number) == "Sprint 2: Foundation Completion"

        assert main(["pull", str(file), "--target", "github", "--write"]) == 0
        assert file.read_text(encoding="utf-8") == _moved_us002(
            REFERENCE.read_text(encoding="utf-8")
        )
        sandbox.clear_requests()
        assert main(["apply", str(file), "--target", "github"]) == 0
        assert _writes(sandbox) == []
        capsys.readouterr()
        assert main(["plan", str(file), "--target", "github"]) == 0
        out = capsys.readouterr().out
        assert "changed since the last apply or pull" not in out
        assert "no changes: the target is in step with the backlog" in out
        sandbox.clear_requests()
        assert main(["apply", str(file), "--target", "github"]) == 0
        assert _writes(sandbox) == []
        dave.close()


def test_without_a_board_a_milestone_and_a_sprint_plan_both_changed_are_a_conflict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The file takes US-002 out of Sprint 1 while GitHub moves it to Sprint 2: a conflict,
    reported by plan (exit 1) and left alone on both sides by apply and pull."""
    monkeypatch.delenv("GITHUB_PROJECT", raising=False)
    file = tmp_path / "backlog.md"
    with applied(file, REFERENCE, monkeypatch, board=False) as sandbox:
        number = sandbox.issues_by_marker()["US-002"][0]
        client = Github(base_url=sandbox.url, auth=Auth.Token(sandbox.token))
        repo = client.get_repo("acme/bss")
        repo.get_issue(number).edit(milestone=_milestone(client, "Sprint 2: Foundation Completion"))
        text = REFERENCE.read_text(encoding="utf-8")
        commitment = text[text.index("2. **US-002: Performance") :]
        commitment = commitment[: commitment.index("3. **US-006: Health")]
        dropped = text.replace(commitment, "").replace("3. **US-006: Health", "2. **US-006: Health")
        file.write_text(dropped, encoding="utf-8")
        capsys.readouterr()

        assert main(["plan", str(file), "--target", "github"]) == 1
        assert (
            f"  ! conflict US-002 #{number}: sprint: conflict — file (none), tracker 'Sprint 2' "
            "by acme (was 'Sprint 1')"
        ) in capsys.readouterr().out.splitlines()
        sandbox.clear_requests()
        assert main(["apply", str(file), "--target", "github"]) == 1
        assert _writes(sandbox) == []
        assert _milestone_of(client, number) == "Sprint 2: Foundation Completion"
        assert main(["pull", str(file), "--target", "github", "--write"]) == 1
        assert file.read_text(encoding="utf-8") == dropped
        client.close()


def test_board_values_pulled_into_the_file_are_followed_by_the_issue_once_as_planned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Dave changes US-001's points and priority and US-002's sprint on the board. The board
    is GitHub's truth for them, but each issue shows them as well (the body's field lines, the
    ``priority: …`` label, the milestone). After pull --write, the board needs nothing; each
    issue is brought in line by one update that plan lists beforehand, with the board values
    it follows, and the apply after it writes nothing."""
    from tests.test_twoway_jira import _moved_us002

    file = tmp_path / "backlog.md"
    with applied(file, REFERENCE, monkeypatch) as sandbox:
        us1, us2 = sandbox.issues_by_marker()["US-001"][0], sandbox.issues_by_marker()["US-002"][0]
        dave = Github(base_url=sandbox.url, auth=Auth.Token(sandbox.user_token("dave")))
        _set_board_points(dave, us1, 3)
        _set_board_option(dave, us1, "Priority", "Medium")
        _set_board_option(dave, us2, "Sprint", "Sprint 2")
        assert main(["pull", str(file), "--target", "github", "--write"]) == 0
        reference = REFERENCE.read_text(encoding="utf-8")
        fields = "**Story Points:** 21\n**Priority:** High\n"
        assert reference.index(fields) < reference.index("**Story ID:** US-002")  # US-001's
        assert file.read_text(encoding="utf-8") == _moved_us002(reference).replace(
            fields, "**Story Points:** 3\n**Priority:** Medium\n", 1
        )
        capsys.readouterr()

        assert main(["plan", str(file), "--target", "github"]) == 0
        planned = capsys.readouterr().out.splitlines()
        assert [line for line in planned if not line.startswith("http calls")] == [
            f"github: plan for {file}",
            f"  ~ update story   US-001 #{us1}: Observability Stack Deployment — labels changed, "
            "body changed; following the board: Story Points 21 -> 3, Priority High -> Medium "
            "(line 40)",
            f"  ~ update story   US-002 #{us2}: Performance Testing Infrastructure — milestone "
            "'Sprint 1: Foundation Setup' -> 'Sprint 2: Foundation Completion'; following the "
            "board: Sprint 'Sprint 1' -> 'Sprint 2' (line 88)",
            "summary: 2 update, 49 unchanged",
        ]

        sandbox.clear_requests()
        assert main(["apply", str(file), "--target", "github"]) == 0
        assert _writes(sandbox) == [
            ("PATCH", f"/repos/acme/bss/issues/{us1}"),
            ("PATCH", f"/repos/acme/bss/issues/{us2}"),
        ]  # one per issue, and nothing on the board
        repo = dave.get_repo("acme/bss")
        issue = repo.get_issue(us1)
        assert "**Story Points:** 3  \n**Priority:** Medium\n" in issue.body
        assert "priority: medium" in [label.name for label in issue.labels]
        assert "priority: high" not in [label.name for label in issue.labels]
        assert _milestone_of(dave, us2) == "Sprint 2: Foundation Completion"

        sandbox.clear_requests()
        assert main(["apply", str(file), "--target", "github"]) == 0
        assert _writes(sandbox) == []
        capsys.readouterr()
        assert main(["plan", str(file), "--target", "github"]) == 0
        out = capsys.readouterr().out
        assert "no changes: the target is in step with the backlog" in out
        assert "changed since the last apply or pull" not in out
        dave.close()


def test_without_a_board_a_story_moved_to_another_sprint_in_the_file_plans_its_milestone_by_title(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The file moves US-002 from Sprint 1 to Sprint 2: plan names the milestones the issue
    leaves and joins by title; ``--format json`` keeps the numbers apply writes in ``diff``
    and gives the titles beside them in ``titles``."""
    from tests.test_twoway_jira import _moved_us002

    monkeypatch.delenv("GITHUB_PROJECT", raising=False)
    file = tmp_path / "backlog.md"
    with applied(file, REFERENCE, monkeypatch, board=False) as sandbox:
        number = sandbox.issues_by_marker()["US-002"][0]
        client = Github(base_url=sandbox.url, auth=Auth.Token(sandbox.token))
        sprint1 = _milestone(client, "Sprint 1: Foundation Setup").number
        sprint2 = _milestone(client, "Sprint 2: Foundation Completion").number
        client.close()
        file.write_text(_moved_us002(REFERENCE.read_text(encoding="utf-8")), encoding="utf-8")
        capsys.readouterr()

        assert main(["plan", str(file), "--target", "github"]) == 0
        assert (
            f"  ~ update story   US-002 #{number}: Performance Testing Infrastructure — "
            "milestone 'Sprint 1: Foundation Setup' -> 'Sprint 2: Foundation Completion' "
            "(line 88)"
        ) in capsys.readouterr().out.splitlines()
        assert main(["plan", str(file), "--target", "github", "--format", "json"]) == 0
        [change] = json.loads(capsys.readouterr().out)["changes"]
        assert change["diff"] == {"milestone": [sprint1, sprint2]}
        assert change["titles"] == {
            "milestone": ["Sprint 1: Foundation Setup", "Sprint 2: Foundation Completion"]
        }
