"""``parse`` and ``validate`` say what they read: coverage line, unread blocks, empty input.

Driven through the real entry point (``bot.cli.app.main``) on files written to a temporary
directory and on the real-world fixtures.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import pytest

from bot.cli.app import main

DATA = Path(__file__).resolve().parent / "data"
KDU = DATA / "realworld" / "kdu-lost-found.md"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_file_without_stories_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# My project\n\nIt does things.\n\n## Install\n\npip install it\n")
    for command in ("parse", "validate", "capacity"):
        code, out, err = run(capsys, command, str(readme))
        assert (code, out) == (2, "")
        assert err == (
            f"error: {readme}: no user stories found (read as a backlog: 0 epics, 0 stories); "
            "see docs/backlog-format.md\n"
        )


def test_coverage_line_names_the_unread_blocks(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "parse", str(KDU), "--format", "json")
    assert code == 0
    assert err == (
        f"{KDU}: read 17 stories in 5 epics; 5 lines in 1 block not understood: lines 54-59 "
        '(section "MVP Scope (Milestone 1 - Target: Aug 28)")\n'
    )
    unread = json.loads(out)["unread"]
    assert unread == [
        {
            "line": 54,
            "end_line": 59,
            "what": "section",
            "context": '"MVP Scope (Milestone 1 - Target: Aug 28)"',
            "lines": 5,
        }
    ]


def test_validate_reports_unread_lines_as_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", str(KDU), "--format", "json", "--select", "document")
    assert code == 0
    findings = json.loads(out)["findings"]
    assert sorted((f["rule"], f["severity"], f["line"]) for f in findings) == [
        ("document.unparsed", "warning", 54),
        *(("document.unread-column", "warning", line) for line in (5, 14, 27, 37, 47)),
    ]
    unparsed = next(f for f in findings if f["rule"] == "document.unparsed")
    assert unparsed["message"].startswith("lines 54-59 (section")
    column = next(f for f in findings if f["rule"] == "document.unread-column")
    assert column["message"] == (
        "column 'GitHub Issue' of the story table at line 5 is not read: its cells are not imported"
    )


def test_validate_several_files_and_stdin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(DATA / "billing-backlog.md", tmp_path / "billing.md")
    monkeypatch.chdir(tmp_path)
    data = KDU.read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    code, out, err = run(capsys, "validate", "billing.md", "-", "--format", "json")
    assert code == 1  # billing.md has error findings
    files = {finding["file"] for finding in json.loads(out)["findings"]}
    assert files == {"billing.md", "<stdin>"}
    assert err.splitlines() == [
        "billing.md: read 2 stories in 1 epic, 1 sprint; every line understood",
        "<stdin>: read 17 stories in 5 epics; 5 lines in 1 block not understood: lines 54-59 "
        '(section "MVP Scope (Milestone 1 - Target: Aug 28)")',
    ]


def test_generated_ids_are_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "realworld" / "fitgenius-pb.md"
    code, out, _ = run(capsys, "validate", str(path), "--format", "json", "--select", "document")
    assert code == 0
    findings = json.loads(out)["findings"]
    assert len(findings) == 21
    assert findings[0]["item"] == "US-1"
    assert findings[0]["message"] == (
        "story 'User Story 1:' has no id; using the generated id US-1 (run 'backlog-bot fix "
        "--add-ids' to write ids into the file)"
    )
