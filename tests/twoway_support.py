"""What the two-way sync tests share: the backlog file byte for byte, the command's output, and
the check that a synced backlog leaves nothing to do."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from bot.cli.app import main

DIFF_HEADERS = ("+++", "---")


@dataclass
class BacklogFile:
    """The team's Markdown backlog and its ``backlog-bot.toml``."""

    file: Path
    config: Path

    def text(self) -> str:
        """The file as written (line endings kept: pull must write them back exactly)."""
        with open(self.file, encoding="utf-8", newline="") as handle:
            return handle.read()

    def edit_file(self, old: str, new: str) -> None:
        """What a teammate does in an editor: ``old``, written once, becomes ``new``."""
        text = self.text()
        assert text.count(old) == 1, old
        with open(self.file, "w", encoding="utf-8", newline="") as handle:
            handle.write(text.replace(old, new))

    def policy(self, name: str) -> None:
        self.config.write_text(f'[sync]\nconflicts = "{name}"\n', encoding="utf-8")


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    """``backlog-bot ARGS`` -> its exit code and the lines it printed."""
    code = main(list(args))
    return code, capsys.readouterr().out.splitlines()


def changed_lines(out: list[str]) -> list[str]:
    """The changed lines of a unified diff in ``out``."""
    return [line for line in out if line[:1] in "+-" and line[:3] not in DIFF_HEADERS]


class Recorded(Protocol):
    """A tracker (``target``: jira or github) seen through the requests that changed something."""

    target: str

    def clear_requests(self) -> None: ...

    def writes(self) -> Sequence[object]: ...


def assert_nothing_left(capsys: pytest.CaptureFixture[str], file: Path, tracker: Recorded) -> None:
    """No drift in the plan, and an apply that writes nothing at all."""
    code, out = run_cli(capsys, "plan", str(file), "--target", tracker.target)
    assert code == 0 and "changed since the last apply or pull" not in "\n".join(out), out
    tracker.clear_requests()
    assert main(["apply", str(file), "--target", tracker.target]) == 0
    assert tracker.writes() == []
    capsys.readouterr()
