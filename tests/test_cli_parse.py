"""``backlog-bot parse FILE --format json|yaml|text`` through the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli.app import main

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "examples" / "bss-modernization.md"
# The coverage line parse prints on standard error for the reference backlog: every story,
# and the ten sections it keeps as text without checking them.
COVERAGE = (
    f"{REFERENCE}: read 29 stories in 4 epics, 8 sprints; 181 lines in 10 blocks not "
    'understood: lines 1897-1919 (section "Capacity Analysis"), lines 1960-1968 (section '
    '"Contingency Plans"), lines 1971-1979 (section "Critical Path"), and 7 more\n'
)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_output_has_the_reference_counts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["parse", str(REFERENCE), "--format", "json"], capsys)
    assert (code, err) == (0, COVERAGE)
    data = json.loads(out)
    stories = [story for epic in data["epics"] for story in epic["stories"]]
    assert len(data["epics"]) == 4
    assert len(stories) == 29
    assert sum(len(story["tasks"]) for story in stories) == 112
    assert sum(len(story["subtasks"]) for story in stories) == 105
    assert len(data["sprints"]) == 8
    assert len(data["team"]["roles"]) == 4
    assert len(data["definition_of_ready"]["items"]) == 7
    assert len(data["definition_of_done"]["items"]) == 8
    assert data["schema_version"] == 1


def test_yaml_output_is_the_same_data(capsys: pytest.CaptureFixture[str]) -> None:
    _, as_json, _ = run(["parse", str(REFERENCE), "--format", "json"], capsys)
    code, as_yaml, err = run(["parse", str(REFERENCE), "--format", "yaml"], capsys)
    assert (code, err) == (0, COVERAGE)
    assert yaml.safe_load(as_yaml) == json.loads(as_json)


def test_text_summary_counts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["parse", str(REFERENCE)], capsys)
    assert (code, err) == (0, COVERAGE)
    assert out.startswith("TASK 2: BSS System Modernization - Agile Breakdown\n")
    rows = {}
    for line in out.splitlines():
        cells = [cell.strip() for cell in line.strip("│ ").split("│")]
        if len(cells) == 2 and cells[1].isdigit():
            rows[cells[0]] = int(cells[1])
    assert rows["epics"] == 4
    assert rows["stories"] == 29
    assert rows["tasks"] == 112
    assert rows["subtasks"] == 105
    assert rows["sprints"] == 8
    assert rows["team roles"] == 4
    assert rows["DoR items"] == 7
    assert rows["DoD items"] == 8
    assert "story points: 411 (declared 620)" in out


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_canonical_files_read_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    target = tmp_path / f"backlog{suffix}"
    fmt = "json" if suffix == ".json" else "yaml"
    code, out, _ = run(["parse", str(REFERENCE), "--format", fmt, "--output", str(target)], capsys)
    assert (code, out) == (0, "")
    _, original, _ = run(["parse", str(REFERENCE), "--format", "json"], capsys)
    code, again, err = run(["parse", str(target), "--format", "json"], capsys)
    # The canonical form keeps what the Markdown reader did not understand.
    assert (code, err) == (0, COVERAGE.replace(str(REFERENCE), str(target)))
    assert again == original


CONSOLE_SCRIPT = Path(sys.executable).parent / "backlog-bot"


def run_console(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed ``backlog-bot`` in a process of its own, as a user runs it."""
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *args], capture_output=True, text=True, cwd=ROOT, env=env, check=False
    )


def test_console_entry_point_in_a_process(tmp_path: Path) -> None:
    ok = run_console("parse", str(REFERENCE), "--format", "json")
    assert ok.returncode == 0, ok.stderr
    assert len(json.loads(ok.stdout)["epics"]) == 4
    missing = tmp_path / "missing.md"
    bad = run_console("parse", str(missing))
    assert bad.returncode == 2
    assert bad.stderr == f"error: {missing}: no such file\n"
    assert bad.stdout == ""


def test_one_shot_commands_end_fast_with_their_whole_output_and_exit_code(
    tmp_path: Path,
) -> None:
    """parse, validate and fix end without tearing the interpreter down: what they print
    (megabytes through a pipe), write and exit with is the same as a normal exit."""
    from bench.synthetic import make_backlog_markdown

    big = tmp_path / "big.md"
    big.write_text(make_backlog_markdown(300), encoding="utf-8")
    # output to a pipe is block-buffered (as for any user) unless PYTHONUNBUFFERED says not
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    parsed = run_console("parse", str(big), "--format", "json", env=buffered)
    assert parsed.returncode == 0, parsed.stderr
    assert len(parsed.stdout) > 1_000_000
    assert len(json.loads(parsed.stdout)["epics"]) == 43
    checked = run_console("validate", str(REFERENCE), "--format", "json", env=buffered)
    assert checked.returncode == 1  # findings of severity error
    assert json.loads(checked.stdout)
    copy = tmp_path / "reference.md"
    copy.write_bytes(REFERENCE.read_bytes())
    fixed = run_console("fix", str(copy), env=buffered)
    assert fixed.returncode == 0, fixed.stderr
    assert copy.read_bytes() != REFERENCE.read_bytes()  # the certain fixes were written


def test_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["parse", str(REFERENCE), "--format", "xml"], capsys)
    assert code == 2
    assert "xml" in err
