"""Benchmark of the inbox under replicas: two real ``backlog-bot serve`` processes on one
PostgreSQL drain a burst of queued GitHub deliveries (real webhook validation against the
GitHub sandbox, the reference backlog applied) with tens of thousands of done rows in the table
(statistics taken on them, as autovacuum would), then each takes an unauthenticated 200 MB
Slack POST.

Figures (the reliability issue's closing note): drain time and deliveries/s, the largest claim
any replica made (the batch is 20), the highest attempt count, deliveries run twice (journal),
bot comments per issue, and each replica's resident memory before and after the 200 MB POST.

Run: ``.venv/bin/python bench/bench_inbox_drain.py [--deliveries 2000] [--done 25000]
[--validate-every 10] [--kill]``: every N-th delivery is an ``issues edited`` that runs the real
validation (re-read, rules on the reference backlog, report); the others are ``labeled``
events that only the journal handler records, so the figures show the inbox's own cost.
``--kill`` SIGKILLs one replica a quarter of the way. Exit 1 when a bound is
broken (a claim above the batch, an attempt above 2, a delivery lost, an issue with two bot
comments, memory grown by more than 50 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from backlog.parse import load_backlog  # noqa: E402
from bench.bench_webhooks import database, rss_mb  # noqa: E402
from bot.service.inbox import Inbox  # noqa: E402
from bot.validation.validator import MARKER  # noqa: E402
from sandbox.github import GitHubSandbox  # noqa: E402
from sandbox.runner import free_port  # noqa: E402
from sandbox.slack import SlackSandbox  # noqa: E402
from sync.calls import CallCounter  # noqa: E402
from sync.github.adapter import GitHubRestAdapter  # noqa: E402
from sync.github.engine import GitHubSync  # noqa: E402
from sync.github.graphql import GitHubProjectsClient  # noqa: E402
from sync.github.limits import PacingPolicy, RateGovernor  # noqa: E402
from sync.github.mapping import GitHubOptions  # noqa: E402
from sync.state import db  # noqa: E402
from sync.state.inbox import TABLE, utcnow  # noqa: E402
from sync.state.links import LinkStore  # noqa: E402

REFERENCE = ROOT / "examples" / "bss-modernization.md"
BATCH = 20  # Worker(batch=20), the default
SLACK_POST_BYTES = 200 * 2**20
MAX_GROWTH_MB = 50.0


def apply_reference(sandbox: GitHubSandbox, url: str) -> list[int]:
    """The reference backlog in the GitHub sandbox, links in the database -> issue numbers."""
    engine = db.make_engine(url)
    governor = RateGovernor(PacingPolicy.off())
    counter = CallCounter()
    repo = f"{sandbox.repo.owner}/{sandbox.repo.name}"
    rest = GitHubRestAdapter(api_url=sandbox.url, token=sandbox.token, repository=repo,
                             counter=counter, governor=governor)  # fmt: skip
    projects = GitHubProjectsClient(api_url=sandbox.url, token=sandbox.token, repository=repo,
                                    counter=counter, governor=governor)  # fmt: skip
    try:
        sync = GitHubSync(rest, LinkStore(engine, "github"), GitHubOptions(), projects=projects,
                          project_title=sandbox.project_title)  # fmt: skip
        report = sync.apply(load_backlog(REFERENCE))
        if report.failures:
            raise SystemExit(f"apply failed: {report.failures}")
    finally:
        rest.close()
        projects.close()
        engine.dispose()
    return sorted(n for ns in sandbox.issues_by_marker().values() for n in ns)


def fill_done(url: str, count: int) -> None:
    """``count`` finished deliveries, then ANALYZE: the planner believes everything is done."""
    engine = db.make_engine(url)
    now = utcnow()
    rows = [
        {"source": "github", "delivery_id": f"old-{i}", "event": "issues", "action": "edited",
         "payload": {"issue": {"number": 1}}, "received_at": now, "status": "done",
         "attempts": 1, "next_attempt_at": now, "finished_at": now}
        for i in range(count)
    ]  # fmt: skip
    with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(sa.insert(TABLE), rows[start : start + 5000])
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE webhook_delivery")
    engine.dispose()


@contextmanager
def replica(env: dict[str, str], log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    script = Path(sys.executable).parent / "backlog-bot"
    with log.open("wb") as stderr:
        process = subprocess.Popen([str(script), "serve", "--port", str(port)], cwd=ROOT,
                                   env=env, stdout=subprocess.DEVNULL, stderr=stderr)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"serve did not start: {log.read_text()[-2000:]}")
        time.sleep(0.05)
    try:
        yield base, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def largest_claim(log: Path) -> tuple[int, int]:
    """(largest claim, number of claims) from a replica's JSON log."""
    sizes = []
    for line in log.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("msg") == "deliveries claimed":
            sizes.append(int(record["count"]))
    return (max(sizes) if sizes else 0), len(sizes)


def post_200_mb(base: str) -> int:
    def body() -> Iterator[bytes]:
        for _ in range(SLACK_POST_BYTES // 65536):
            yield b"x" * 65536

    try:
        return httpx.post(base + "/slack/events", content=body(), timeout=120).status_code
    except httpx.HTTPError:
        return 413  # refused, and the connection closed before the upload finished


def run(deliveries: int, done_rows: int, kill: bool, every: int) -> int:
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, database("postgresql") as url:
        tmp_path = Path(tmp)
        journal = tmp_path / "journal.txt"
        config = tmp_path / "backlog-bot.toml"
        config.write_text('[validation]\nbot-logins = ["backlog-bot[bot]"]\n')
        with GitHubSandbox() as github, SlackSandbox() as slack, ExitStack() as stack:
            numbers = apply_reference(github, url)
            fill_done(url, done_rows)
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "SLACK_"))},
                **github.env(), **slack.env(), "PYTHONPATH": str(ROOT), "DATABASE_URL": url,
                "GITHUB_WEBHOOK_SECRET": "bench-secret", "BACKLOG_FILE": str(REFERENCE),
                "BACKLOG_BOT_CONFIG": str(config), "BACKLOG_BOT_TEST_JOURNAL": str(journal),
                "WEBHOOK_HANDLER_MODULES": "tests.service_handlers:register",
                "WEBHOOK_LEASE_SECONDS": "10", "LOG_LEVEL": "INFO",
            }  # fmt: skip
            logs = [tmp_path / "replica-a.log", tmp_path / "replica-b.log"]
            replicas = [stack.enter_context(replica(env, log)) for log in logs]
            engine = db.make_engine(url)
            inbox = Inbox(engine)
            actions = ["edited" if i % every == 0 else "labeled" for i in range(deliveries)]
            items = [
                {"source": "github", "delivery_id": f"burst-{i}", "event": "issues",
                 "action": action, "status": "queued",
                 "payload": {"action": action, "issue": {"number": numbers[i % len(numbers)]},
                             "repository": {"full_name": "acme/bss"},
                             "sender": {"login": "octocat"}}}
                for i, action in enumerate(actions)
            ]  # fmt: skip
            started = time.perf_counter()
            inbox.enqueue_many(items)
            killed = False
            while True:
                counts = inbox.counts()
                finished = counts["done"] - done_rows
                if kill and not killed and finished >= deliveries // 4:
                    replicas[0][1].send_signal(signal.SIGKILL)
                    replicas[0][1].wait()
                    killed = True
                if finished >= deliveries:
                    break
                if time.perf_counter() - started > 1800:
                    problems.append(f"drain timed out: {counts}")
                    break
                time.sleep(0.1)
            elapsed = time.perf_counter() - started
            with engine.connect() as conn:
                attempts = Counter(
                    conn.execute(
                        sa.select(TABLE.c.attempts).where(TABLE.c.delivery_id.like("burst-%"))
                    ).scalars()
                )
            engine.dispose()
            memory = []
            for name, (base, process) in zip("AB", replicas, strict=True):
                if process.poll() is not None:
                    continue
                before = rss_mb(process.pid)[0]
                status = post_200_mb(base)
                after = rss_mb(process.pid)[0]
                memory.append((name, before, after, status))
            comments = Counter(
                c["issue"] for c in github.repo.comments.values() if MARKER in c["body"]
            )
        runs = Counter(
            line.split()[1] for line in journal.read_text().splitlines() if line.startswith("done ")
        )
        claims = [largest_claim(log) for log in logs]

    biggest = max(size for size, _ in claims)
    twice = sum(1 for count in runs.values() if count > 1)
    print(f"inbox drain: {deliveries} deliveries (1 in {every} validated), {done_rows} done rows "
          "(ANALYZEd), 2 replicas" + (", one SIGKILLed at 25%" if kill else ""))  # fmt: skip
    print(f"  time: {elapsed:.1f} s   rate: {deliveries / elapsed:.1f} deliveries/s")
    print(f"  largest claim: {biggest} (batch {BATCH}); claims per replica: "
          + ", ".join(str(n) for _, n in claims))  # fmt: skip
    print(f"  attempts: max {max(attempts)}; by attempts {dict(sorted(attempts.items()))}")
    print(f"  handler runs: {len(runs)} deliveries, {twice} run twice")
    print(f"  bot comments: {len(comments)} issues, max {max(comments.values(), default=0)} each")
    for name, before, after, status in memory:
        print(f"  replica {name} RSS: {before:.0f} MB -> {after:.0f} MB after a 200 MB Slack "
              f"POST (HTTP {status})")  # fmt: skip
    if biggest > BATCH:
        problems.append(f"a claim took {biggest} deliveries (batch {BATCH})")
    if max(attempts) > 2 or sum(n for a, n in attempts.items() if a > 1) > (1 if kill else 0):
        problems.append(f"attempts {dict(attempts)}")
    if len(runs) != deliveries or twice > (1 if kill else 0):
        problems.append(f"{len(runs)} of {deliveries} handled, {twice} twice")
    if any(count > 1 for count in comments.values()):
        problems.append("an issue got two bot comments")
    if any(after - before > MAX_GROWTH_MB or status != 413 for _, before, after, status in memory):
        problems.append("the 200 MB POST was not refused with flat memory")
    for problem in problems:
        print(f"FAIL: {problem}")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--done", type=int, default=25000)
    parser.add_argument("--validate-every", type=int, default=10, metavar="N")
    parser.add_argument("--kill", action="store_true", help="SIGKILL one replica at 25%%")
    args = parser.parse_args(argv)
    return run(args.deliveries, args.done, args.kill, max(1, args.validate_every))


if __name__ == "__main__":
    sys.exit(main())
