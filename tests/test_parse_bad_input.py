"""Bad input: one line ``error: FILE:LINE: message`` on stderr and exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from backlog.errors import BadInputError, DuplicateIdError
from backlog.parse import load_backlog, parse_text
from bot.cli.app import main

REFERENCE = Path(__file__).resolve().parents[1] / "examples" / "bss-modernization.md"


def run_parse(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["parse", str(path)])
    captured = capsys.readouterr()
    assert captured.out == ""
    return code, captured.err


def assert_one_line_error(err: str, path: Path, line: int | None) -> str:
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    prefix = f"error: {path}:{line}: " if line is not None else f"error: {path}: "
    assert err.startswith(prefix), err
    return err[len(prefix) :].strip()


def test_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.md"
    path.write_bytes(b"")
    code, err = run_parse(path, capsys)
    assert code == 2
    assert "empty" in assert_one_line_error(err, path, 1)


def test_whitespace_only_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "blank.md"
    path.write_text("\n  \r\n\t\n")
    code, err = run_parse(path, capsys)
    assert code == 2
    assert "empty" in assert_one_line_error(err, path, 1)


def test_invalid_utf8_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = REFERENCE.read_bytes().split(b"\n")
    lines[99] = lines[99] + b" caf\xe9"  # Latin-1 byte on line 100
    path = tmp_path / "latin1.md"
    path.write_bytes(b"\n".join(lines))
    code, err = run_parse(path, capsys)
    assert code == 2
    message = assert_one_line_error(err, path, 100)
    assert "invalid UTF-8" in message and "0xe9" in message


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nope.md"
    code, err = run_parse(path, capsys)
    assert code == 2
    assert assert_one_line_error(err, path, None) == "no such file"


def test_duplicate_story_ids_name_both_lines(tmp_path: Path) -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    text = text.replace("**Story ID:** US-004", "**Story ID:** US-003")
    with pytest.raises(DuplicateIdError) as caught:
        parse_text(text, source="dup.md")
    error = caught.value
    assert error.line == 175
    assert "US-003" in error.message
    assert "line 131" in error.message and "line 175" in error.message
    assert str(error).startswith("dup.md:175: duplicate story id US-003")


def test_duplicate_story_ids_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "dup.md"
    text = REFERENCE.read_text(encoding="utf-8")
    path.write_text(text.replace("**Story ID:** US-029", "**Story ID:** US-001"))
    code, err = run_parse(path, capsys)
    assert code == 2
    assert "duplicate story id US-001" in assert_one_line_error(err, path, 1483)


@pytest.mark.parametrize(
    ("marker", "expected_line", "words"),
    [
        # Cut inside a Gherkin fence: the fence is never closed.
        ("  - Automatic data distribution across shards", 1123, "never closed"),
        # Cut right after a label: nothing follows it.
        ("**Tasks:**\n1. **Deploy Citus cluster**", 1135, "has nothing after it"),
        # Cut in the middle of a task line.
        ("1. **Deploy Citus cl", 1136, "unfinished line"),
        # Cut in the middle of a subtask line (brackets balanced, hours missing).
        ("- Subtask 4.1.2: Configure worker", 1164, "unfinished line"),
        # Cut right after the story heading: no story id.
        ("### Story 4.1: Database Sharding with Citus\n", 1112, "no story id"),
    ],
)
def test_truncated_mid_story(marker: str, expected_line: int, words: str) -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    start = text.index("### Story 4.1")
    cut = text.index(marker, start) + len(marker)
    if marker.endswith("**Deploy Citus cluster**"):
        cut = text.index("**Tasks:**", start) + len("**Tasks:**\n")
    with pytest.raises(BadInputError) as caught:
        parse_text(text[:cut], source="cut.md")
    assert caught.value.line == expected_line
    assert words in caught.value.message
    assert "\n" not in str(caught.value)


@pytest.mark.timeout(30)
def test_twenty_megabyte_single_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "huge.md"
    path.write_bytes(b"# " + b"backlog " * (20 * 1024 * 1024 // 8))
    code, err = run_parse(path, capsys)
    assert code == 2
    assert "characters long" in assert_one_line_error(err, path, 1)


@pytest.mark.parametrize("prefix", ["> " * 200, "1. " * 200, "- > " * 100, "  " * 400 + "- "])
def test_runaway_nesting_is_refused(prefix: str) -> None:
    text = "# Backlog\n\n" + prefix + "deep\n"
    with pytest.raises(BadInputError) as caught:
        parse_text(text, source="deep.md")
    assert caught.value.line == 3
    assert "nest" in caught.value.message


def test_runaway_nesting_on_the_first_line_is_refused() -> None:
    with pytest.raises(BadInputError) as caught:
        parse_text("> " * 41 + "deep\n", source="deep.md")
    assert caught.value.line == 1


def test_forty_levels_of_nesting_are_accepted() -> None:
    text = "# Backlog\n\n" + "> " * 40 + "deep\n\n" + "  " * 40 + "- item\n"
    assert parse_text(text, source="deep.md").title == "Backlog"


def test_story_points_tbd_is_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "tbd.md"
    lines = REFERENCE.read_text(encoding="utf-8").split("\n")
    assert lines[1114] == "**Story Points:** 21"  # US-022
    lines[1114] = "**Story Points:** TBD"
    path.write_text("\n".join(lines), encoding="utf-8")
    story = load_backlog(path).story("US-022")
    assert story is not None
    assert (story.points, story.points_raw) == (None, "TBD")


def test_directory_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_parse(tmp_path, capsys)
    assert code == 2
    assert "directory" in assert_one_line_error(err, tmp_path, None)


def test_invalid_json_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "backlog.json"
    path.write_text('{\n  "title": "x",\n  "epics": [,]\n}\n')
    code, err = run_parse(path, capsys)
    assert code == 2
    assert "invalid JSON" in assert_one_line_error(err, path, 3)


def test_json_with_a_wrong_field_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "backlog.json"
    path.write_text('{"title": "x", "epics": [{"id": "EPIC-1", "points": "many"}]}')
    code, err = run_parse(path, capsys)
    assert code == 2
    assert "epics.0.points" in assert_one_line_error(err, path, None)


def test_invalid_yaml_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "backlog.yaml"
    path.write_text("title: x\nepics:\n  - id: [unclosed\n")
    code, err = run_parse(path, capsys)
    assert code == 2
    assert "invalid YAML" in assert_one_line_error(err, path, 4)
