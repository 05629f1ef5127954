"""``backlog-bot fix`` and ``validate --fix / --diff``: certain fixes, nothing else touched."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backlog.parse import load_backlog
from bot.cli.app import main

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "examples" / "bss-modernization.md"
REALWORLD = ROOT / "tests" / "data" / "realworld"
# (line, old, new) of every certain fix in the reference backlog, checked by hand: the totals
# are the stories' sums (89, 97, 102, 123; 411 in all), the overview rows of sprints 1, 3, 6
# and 8 become what their sprint plans commit (89, 63, 55, 60), so the rows add up to 562,
# and the matrix rows follow the stories' own Dependencies fields.
REFERENCE_FIXES = {
    4: ("**Total Story Points:** 620 points", "**Total Story Points:** 411 points"),
    30: ("**Story Points:** 155 points", "**Story Points:** 89 points"),
    362: ("**Story Points:** 145 points", "**Story Points:** 97 points"),
    734: ("**Story Points:** 150 points", "**Story Points:** 102 points"),
    1102: ("**Story Points:** 170 points", "**Story Points:** 123 points"),
    1542: (
        "| Sprint 1 | Weeks 1-2 | Foundation Setup | 85 | Observability stack, Performance "
        "testing |",
        "| Sprint 1 | Weeks 1-2 | Foundation Setup | 89 | Observability stack, Performance "
        "testing |",
    ),
    1544: (
        "| Sprint 3 | Weeks 5-6 | API & Caching | 80 | API Gateway, Redis cluster |",
        "| Sprint 3 | Weeks 5-6 | API & Caching | 63 | API Gateway, Redis cluster |",
    ),
    1547: (
        "| Sprint 6 | Weeks 11-12 | Stream Processing | 75 | Kafka Streams, Analytics |",
        "| Sprint 6 | Weeks 11-12 | Stream Processing | 55 | Kafka Streams, Analytics |",
    ),
    1549: (
        "| Sprint 8 | Weeks 15-16 | Enterprise Features | 70 | DR, Security, Documentation |",
        "| Sprint 8 | Weeks 15-16 | Enterprise Features | 60 | DR, Security, Documentation |",
    ),
    1985: (
        "| US-009 (Redis) | US-001 (Prometheus) | US-010 | Monitoring required for Redis |",
        "| US-009 (Redis) | None | US-010 | Monitoring required for Redis |",
    ),
    1989: (
        "| US-017 (Kafka Streams) | US-011, US-012 | US-020, US-021 | Requires events flowing |",
        "| US-017 (Kafka Streams) | US-011 | US-020, US-021 | Requires events flowing |",
    ),
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    target = tmp_path / "backlog.md"
    shutil.copy(REFERENCE, target)
    return target


def changed_lines(before: bytes, after: bytes) -> dict[int, tuple[str, str]]:
    old, new = before.split(b"\n"), after.split(b"\n")
    assert len(old) == len(new)
    return {
        number: (a.decode(), b.decode())
        for number, (a, b) in enumerate(zip(old, new, strict=True), start=1)
        if a != b
    }


def test_validate_fix_changes_only_the_certain_lines(
    reference: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = reference.read_bytes()
    code, out, err = run(capsys, "validate", str(reference), "--fix", "--format", "json")
    assert code == 1  # other errors (capacity, INVEST) remain and are reported
    changes = changed_lines(before, reference.read_bytes())
    assert {line: changes[line] for line in REFERENCE_FIXES} == REFERENCE_FIXES
    assert len(changes) == 17  # plus the overview total and five Blocks cells
    assert changes[1551][1].startswith("**Total Story Points: 562**")
    assert "fixed 17:" in err
    assert "sprint overview sprint 1 points 85 -> 89; " in err
    rules = out.count('"consistency.total-points"') + out.count('"consistency.epic-points"')
    assert rules == 0
    # The overview now agrees with the sprint plans: no overview finding is left.
    assert "the sprint overview" not in out
    assert out.count('"consistency.blocks-mismatch"') == 0


def test_fix_keeps_crlf_line_endings(reference: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reference.write_bytes(REFERENCE.read_bytes().replace(b"\n", b"\r\n"))
    before = reference.read_bytes()
    code, _, _ = run(capsys, "fix", str(reference))
    assert code == 0
    after = reference.read_bytes()
    assert after.count(b"\r\n") == before.count(b"\r\n")
    assert set(changed_lines(before, after)) == {4, 30, 362, 734, 1102, 1542, 1544, 1547,
                                                  1549, 1551, 1984, 1985, 1987, 1989, 1990,
                                                  1991, 1992}  # fmt: skip


def test_diff_writes_nothing(reference: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = reference.read_bytes()
    code, out, _ = run(capsys, "validate", str(reference), "--diff")
    assert code == 1
    assert reference.read_bytes() == before
    assert out.startswith(f"--- {reference}\n+++ {reference}\n@@ -1,7 +1,7 @@\n")
    assert "-**Story Points:** 155 points\n+**Story Points:** 89 points\n" in out
    fixed = tmp = reference.with_name("fixed.md")
    tmp.write_bytes(before)
    assert run(capsys, "fix", str(fixed))[0] == 0
    assert run(capsys, "validate", str(fixed), "--diff") == (0, "", f"{fixed}: nothing to fix\n")


def test_add_ids_writes_ids_in_the_file_style(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pb.md"
    shutil.copy(REALWORLD / "fitgenius-pb.md", path)
    before = path.read_text("utf-8")
    code, _, err = run(capsys, "fix", "--add-ids", str(path))
    assert code == 0
    assert err.startswith(f"{path}: fixed 21: US-1 -> US-001; US-2 -> US-002;")
    backlog = load_backlog(path)
    assert [story.id for story in backlog.stories] == [f"US-{n:03d}" for n in range(1, 22)]
    assert backlog.reader_notes == ()
    after = path.read_text("utf-8")
    # Only lines were added: removing them gives the original file back.
    added = {"", *(f"**Story ID:** US-{n:03d}" for n in range(1, 22))}
    kept = [line for line in after.split("\n") if line not in added]
    assert kept == [line for line in before.split("\n") if line != ""]


def test_add_ids_continues_the_file_numbering(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "backlog.md"
    path.write_text(
        "# Backlog\n\n## Stories\n\n"
        "- SH-007 — As a user, I want to log in so that I see my data\n"
        "- [ ] As an admin, I want to ban users so that the forum stays civil\n",
        encoding="utf-8",
    )
    assert run(capsys, "fix", "--add-ids", str(path))[0] == 0
    assert path.read_text("utf-8").splitlines()[5] == (
        "- [ ] SH-008 — As an admin, I want to ban users so that the forum stays civil"
    )
    assert [story.id for story in load_backlog(path).stories] == ["SH-007", "SH-008"]


def test_fix_refuses_stdin(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "validate", "-", "--fix")
    assert code == 2
    assert err == "error: --fix and --diff rewrite files: name the files instead of '-'\n"


def test_overview_rows_of_sprints_without_a_plan_are_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "backlog.md"
    path.write_text(
        "# Backlog\n\n### US-001: Log in\n\n**Story Points:** 5\n\n"
        "### US-002: Log out\n\n**Story Points:** 3\n\n"
        "## Sprint Overview\n\n| Sprint | Focus | Points |\n|---|---|---|\n"
        "| Sprint 1 | Start | 13 |\n| Sprint 2 | Later | 20 |\n\n"
        "**Total Story Points: 30**\n\n"
        "## Sprint 1: Start\n\n**Committed Stories:**\n"
        "1. US-001: Log in (5 pts)\n2. US-002: Log out (3 pts)\n",
        encoding="utf-8",
    )
    before = path.read_bytes()
    code, _, err = run(capsys, "fix", str(path))
    assert code == 0
    # Sprint 1's plan commits 5 + 3; sprint 2 has no plan, so its row is what it says.
    assert changed_lines(before, path.read_bytes()) == {
        15: ("| Sprint 1 | Start | 13 |", "| Sprint 1 | Start | 8 |"),
        18: ("**Total Story Points: 30**", "**Total Story Points: 28**"),
    }
    assert err == (
        f"{path}: fixed 2: sprint overview sprint 1 points 13 -> 8; "
        "sprint overview total 30 -> 28\n"
    )
    assert run(capsys, "fix", str(path))[2] == f"{path}: nothing to fix\n"


def test_add_ids_puts_an_id_column_in_front_of_a_story_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "backlog.md"
    text = (
        "# Backlog\n\n## Sprint 1\n\n| User Story | Priority | Points |\n|:---|---|---|\n"
        "| As a user, I want to log in so that I see my data | High | 3 |\n"
        "| Buffer | | 2 |\n"
        "| As an admin, I want to ban users so that the forum stays civil | Medium | 8 |\n\n"
        "User Story | Points\n--- | ---\n"
        "As a user, I want to export data so that I can share it | 5\n"
    )
    path.write_text(text, encoding="utf-8")
    before = load_backlog(path)
    code, _, err = run(capsys, "fix", "--add-ids", str(path))
    assert code == 0
    assert err == (
        f"{path}: fixed 5: ID column added to the story table at line 5; US-LOG-IN -> US-001; "
        "US-BAN-USERS -> US-002; ID column added to the story table at line 11; "
        "US-EXPORT-DATA -> US-003\n"
    )
    assert path.read_text("utf-8").split("\n")[4:14] == [
        "| ID | User Story | Priority | Points |",
        "|---|:---|---|---|",
        "| US-001 | As a user, I want to log in so that I see my data | High | 3 |",
        "|  | Buffer | | 2 |",
        "| US-002 | As an admin, I want to ban users so that the forum stays civil | Medium | 8 |",
        "",
        "ID | User Story | Points",
        "--- | --- | ---",
        "US-003 | As a user, I want to export data so that I can share it | 5",
        "",
    ]
    after = load_backlog(path)
    assert after.reader_notes == ()
    renamed = {"US-LOG-IN": "US-001", "US-BAN-USERS": "US-002", "US-EXPORT-DATA": "US-003"}
    assert [renamed[s.id] for s in before.stories] == [s.id for s in after.stories]
    # Everything but the id reads the same; the sprint commits the same stories.
    assert [s.replace(id="") for s in after.stories] == [s.replace(id="") for s in before.stories]
    assert [list(s.committed_story_ids) for s in after.sprints] == [
        [renamed[story_id] for story_id in s.committed_story_ids] for s in before.sprints
    ]
