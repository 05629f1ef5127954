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
# are the stories' sums (89, 97, 102, 123; 411 in all), the overview rows add up to 605, and
# the matrix rows follow the stories' own Dependencies fields.
REFERENCE_FIXES = {
    4: ("**Total Story Points:** 620 points", "**Total Story Points:** 411 points"),
    30: ("**Story Points:** 155 points", "**Story Points:** 89 points"),
    362: ("**Story Points:** 145 points", "**Story Points:** 97 points"),
    734: ("**Story Points:** 150 points", "**Story Points:** 102 points"),
    1102: ("**Story Points:** 170 points", "**Story Points:** 123 points"),
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
    assert len(changes) == 13  # plus the overview total and five Blocks cells
    assert changes[1551][1].startswith("**Total Story Points: 605**")
    assert "fixed 13:" in err
    rules = out.count('"consistency.total-points"') + out.count('"consistency.epic-points"')
    assert rules == 0
    assert out.count('"consistency.blocks-mismatch"') == 0


def test_fix_keeps_crlf_line_endings(reference: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reference.write_bytes(REFERENCE.read_bytes().replace(b"\n", b"\r\n"))
    before = reference.read_bytes()
    code, _, _ = run(capsys, "fix", str(reference))
    assert code == 0
    after = reference.read_bytes()
    assert after.count(b"\r\n") == before.count(b"\r\n")
    assert set(changed_lines(before, after)) == {4, 30, 362, 734, 1102, 1551, 1984, 1985,
                                                  1987, 1989, 1990, 1991, 1992}  # fmt: skip


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
