"""Two ``serve`` replicas on one PostgreSQL drain 2,000 queued deliveries while one of them is
SIGKILLed midway: every delivery done exactly once (only the one the kill interrupted may run
twice), no attempt above 1 otherwise, and one bot comment per issue although every tenth
delivery asks both replicas, concurrently, to validate one of three issues."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from backlog.parse import load_backlog
from bot.service.inbox import Inbox
from bot.validation.validator import MARKER
from sandbox.github import GitHubSandbox
from sync.state.inbox import TABLE
from tests.github_support import github_target, migrated_engine
from tests.serve_support import serve
from tests.service_support import GITHUB_SECRET, wait_until

ROOT = Path(__file__).resolve().parent.parent
BILLING = ROOT / "tests" / "data" / "billing-backlog.md"
UNREADY = (
    "**Story Points:** 5\n**Priority:** Medium",
    "**Story Points:** TBD\n**Priority:** Medium",
)
DELIVERIES = 2_000


def delivery(number: int, index: int) -> dict[str, Any]:
    # "edited" is validated (re-read, rules, report); "labeled" only reaches the journal
    action = "edited" if index % 10 == 0 else "labeled"
    return {
        "source": "github",
        "delivery_id": f"drain-{index}",
        "event": "issues",
        "action": action,
        "status": "queued",
        "payload": {
            "action": action,
            "issue": {"number": number},
            "repository": {"full_name": "acme/bss"},
            "sender": {"login": "octocat"},
        },
    }


@pytest.mark.slow  # two real `serve` processes, one SIGKILLed, 2,000 deliveries
@pytest.mark.postgres
@pytest.mark.timeout(900)
def test_two_replicas_drain_2000_deliveries_through_a_sigkill(
    postgres_url: str, tmp_path: Path
) -> None:
    engine = migrated_engine(postgres_url)
    journal = tmp_path / "journal.txt"
    backlog = tmp_path / "backlog.md"
    backlog.write_text(BILLING.read_text().replace(*UNREADY))
    config = tmp_path / "backlog-bot.toml"
    config.write_text('[validation]\nbot-logins = ["backlog-bot[bot]"]\n')
    with GitHubSandbox() as sandbox:
        with github_target(sandbox, engine) as target:
            assert not target.sync.apply(load_backlog(backlog)).failures
        numbers = sorted(n for ns in sandbox.issues_by_marker().values() for n in ns)
        inbox = Inbox(engine)
        assert all(inbox.enqueue_many([delivery(numbers[i % 3], i) for i in range(DELIVERIES)]))
        env = {
            **sandbox.env(),
            "DATABASE_URL": postgres_url,
            "GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
            "BACKLOG_FILE": str(backlog),
            "BACKLOG_BOT_CONFIG": str(config),
            "WEBHOOK_HANDLER_MODULES": "tests.service_handlers:register",
            "BACKLOG_BOT_TEST_JOURNAL": str(journal),
            "WEBHOOK_LEASE_SECONDS": "3",
            "WEBHOOK_POLL_SECONDS": "0.2",
            "LOG_LEVEL": "WARNING",
        }

        def done() -> int:
            return inbox.counts()["done"]

        with serve(env) as (_, doomed), serve(env):
            wait_until(lambda: done() >= DELIVERIES // 4, timeout=400, what="a quarter done")
            doomed.send_signal(signal.SIGKILL)
            doomed.wait()
            killed_at = done()
            wait_until(lambda: done() == DELIVERIES, timeout=400, what="every delivery done")
        assert killed_at < DELIVERIES  # the kill did happen midway

        runs = Counter(
            line.split()[1] for line in journal.read_text().splitlines() if line.startswith("done ")
        )
        assert set(runs) == {f"drain-{i}" for i in range(DELIVERIES)}
        twice = [key for key, count in runs.items() if count > 1]
        assert len(twice) <= 1 and max(runs.values()) <= 2  # only what the kill interrupted
        with engine.connect() as conn:
            attempts = Counter(conn.execute(sa.select(TABLE.c.attempts)).scalars())
        assert set(attempts) <= {1, 2} and attempts[2] <= 1, attempts
        reports = Counter(c["issue"] for c in sandbox.repo.comments.values() if MARKER in c["body"])
        assert reports, "no story failed its Definition of Ready: nothing was checked"
        assert set(reports.values()) == {1}, reports
    engine.dispose()
