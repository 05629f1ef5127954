"""Progress of ``apply``, ``sync`` and ``pull`` work, on stderr (stdout keeps the result).

On a terminal: a rich progress bar per target with items done / total and, while a limit
holds the run back, the wait and its reason ("GitHub secondary limit, next write in 12 s").
Not on a terminal (CI logs, pipes): one line per phase, and a line for each wait of a second
or more, so a paced run against github.com is never silent for minutes. ``--quiet``: nothing.
"""

from __future__ import annotations

import sys
import time
from enum import StrEnum
from typing import IO, Any

from sync.waits import listening


class Mode(StrEnum):
    bar = "bar"
    lines = "lines"
    off = "off"


def choose_mode(*, quiet: bool, machine_output: bool, stream: IO[str] | None = None) -> Mode:
    """``off`` when asked to be quiet or printing JSON; else ``bar`` on a terminal."""
    if quiet or machine_output:
        return Mode.off
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    return Mode.bar if callable(isatty) and isatty() else Mode.lines


class TargetProgress:
    """The ``Progress`` of one target (``start``/``advance``), plus phases and waits."""

    def __init__(self, target: str, mode: Mode, *, stream: IO[str] | None = None) -> None:
        self.target = target
        self.mode = mode
        self.stream = stream or sys.stderr
        self.total: int | None = None
        self.done = 0
        self.waited = 0.0
        self._started = time.monotonic()
        self._bar: Any = None
        self._task: Any = None
        self._listening: Any = None

    # --- the Progress protocol of bot.targets.registry ---------------------------------------

    def start(self, total: int) -> None:
        self.total = total
        if self._bar is not None:
            self._bar.update(self._task, total=total, description="applying")
        self._line(f"applying {total} change{'s' if total != 1 else ''}")

    def advance(self, description: str, amount: int) -> None:
        self.done += amount
        if self._bar is not None:
            self._bar.update(self._task, advance=amount, description=description[:48])

    # --- phases and waits --------------------------------------------------------------------

    def phase(self, text: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=text)
        self._line(text)

    def wait(self, service: str, seconds: float, reason: str) -> None:
        if service != self.target:
            return
        self.waited += seconds
        if self._bar is not None:
            self._bar.update(self._task, description=f"[yellow]{reason}")
        elif seconds >= 1:
            self._line(f"waiting: {reason}")

    def finish(self, summary: str) -> None:
        elapsed = time.monotonic() - self._started
        waited = f", {self.waited:.0f} s of it waiting on limits" if self.waited >= 1 else ""
        self._line(f"{summary} in {elapsed:.1f} s{waited}")

    def _line(self, text: str) -> None:
        if self.mode is Mode.lines:
            print(f"{self.target}: {text}", file=self.stream, flush=True)

    # --- context ----------------------------------------------------------------------------

    def __enter__(self) -> TargetProgress:
        if self.mode is Mode.bar:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            console = Console(file=self.stream, force_terminal=True)
            self._bar = Progress(
                SpinnerColumn(),
                TextColumn(f"[bold]{self.target}[/bold]"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=console,
                transient=True,
            )
            self._task = self._bar.add_task("planning", total=None)
            self._bar.start()
        self._listening = listening(self.wait)
        self._listening.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._listening.__exit__(*exc_info)
        if self._bar is not None:
            self._bar.stop()
