"""The real ``backlog-bot serve`` in a subprocess, for tests that kill it or weigh its memory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from sandbox.runner import free_port
from tests.service_support import wait_until

ROOT = Path(__file__).resolve().parent.parent


def launcher() -> list[str]:
    script = Path(sys.executable).parent / "backlog-bot"  # the installed console script
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from bot.cli.app import main; sys.exit(main())"]


@contextmanager
def serve(
    env: dict[str, str], *args: str, log: Path | None = None, ready: str = "/healthz"
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``backlog-bot serve`` with ``env`` on top of a clean environment; its URL and process,
    once ``ready`` answers 200. ``log``: a file for its standard error (its JSON log lines)."""
    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "JIRA_", "SLACK_"))}
    full = {**base, "PYTHONPATH": str(ROOT), **env}  # PYTHONPATH: handler modules under tests/
    with ExitStack() as stack:
        stderr = stack.enter_context(log.open("ab")) if log is not None else subprocess.PIPE
        process = subprocess.Popen(
            [*launcher(), "serve", "--port", str(port), *args],
            cwd=ROOT,
            env=full,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        url = f"http://127.0.0.1:{port}"
        try:

            def up() -> bool:
                if process.poll() is not None:
                    said = log.read_bytes() if log is not None else process.stderr.read()  # type: ignore[union-attr]
                    raise AssertionError(f"serve exited: {said.decode()[-2000:]}")
                try:
                    return httpx.get(url + ready, timeout=1).status_code == 200
                except httpx.HTTPError:
                    return False

            wait_until(up, timeout=40, what="serve to answer")
            yield url, process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stderr is not None:
                process.stderr.close()


def rss_mb(pid: int) -> float:
    """Resident memory of a process now (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")
