"""Rate-limit behaviour: pacing under the documented secondary limits (pure, with a fake
clock), and the REST adapter against the sandbox's primary and secondary limits."""

from __future__ import annotations

import pytest

from backlog.errors import RateLimitedError, TransientError
from sandbox.github import GitHubSandbox
from sync.calls import CallCounter
from sync.github.adapter import GitHubRestAdapter
from sync.github.limits import PacingPolicy, RateGovernor


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_pacing_spaces_writes_and_keeps_the_hourly_budget() -> None:
    fake = FakeTime()
    governor = RateGovernor(PacingPolicy(), sleep=fake.sleep, clock=fake.clock)
    start = fake.now
    for _ in range(500):
        governor.before(is_write=True)
    # one second apart: 80 per minute is never the binding limit at 1/s
    assert fake.now - start == pytest.approx(499.0)
    governor.before(is_write=True)  # the 501st write waits for the first to leave the hour
    assert fake.now - start == pytest.approx(3600.0)
    reads_before = fake.now
    for _ in range(50):
        governor.before(is_write=False)
    assert fake.now == reads_before


def test_per_minute_budget_binds_when_spacing_is_short() -> None:
    fake = FakeTime()
    policy = PacingPolicy(seconds_between_writes=0.1)
    governor = RateGovernor(policy, sleep=fake.sleep, clock=fake.clock)
    start = fake.now
    for _ in range(81):
        governor.before(is_write=True)
    assert fake.now - start == pytest.approx(60.0)


def test_headers_block_until_reset_and_retry_after() -> None:
    fake = FakeTime()
    governor = RateGovernor(PacingPolicy.off(), sleep=fake.sleep, clock=fake.clock)
    governor.after(
        200, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(fake.now) + 90)}
    )
    governor.before(is_write=False)
    assert fake.now >= 1_000_090
    governor.after(403, {"retry-after": "30"})
    before = fake.now
    governor.before(is_write=False)
    assert fake.now - before == pytest.approx(30.0)
    # a secondary limit without retry-after: the fallback wait, doubling each time
    assert governor.secondary(None) == pytest.approx(0.05)
    assert governor.secondary(None) == pytest.approx(0.1)


def test_retry_policy_never_repeats_a_non_idempotent_call_after_a_transient_failure() -> None:
    governor = RateGovernor(PacingPolicy.off())
    calls = []

    def flaky() -> str:
        calls.append(1)
        raise TransientError("502", service="github", status=502)

    with pytest.raises(TransientError):
        governor.run(flaky, idempotent=False)
    assert len(calls) == 1
    with pytest.raises(TransientError):
        governor.run(flaky, idempotent=True)
    assert len(calls) == 1 + PacingPolicy.off().max_attempts


def test_adapter_waits_for_the_primary_reset_and_honours_retry_after() -> None:
    with GitHubSandbox() as sandbox:
        counter = CallCounter()
        adapter = GitHubRestAdapter(
            api_url=sandbox.url,
            token=sandbox.token,
            repository="acme/bss",
            counter=counter,
            pacing=PacingPolicy.off(),
        )
        try:
            sandbox.limits.configure("core", limit=2, window=1.0)
            for _ in range(3):
                adapter.check_access()
            assert adapter.governor.stats.waited_seconds > 0
            assert counter.snapshot()["github GET"] in (3, 4)
            sandbox.limits.add_fault(kind="secondary", method="POST", retry_after=1)
            sandbox.limits.configure("core", limit=5000, window=3600)
            adapter.create_issue(
                "US-001",
                title="t",
                body="<!-- backlog-bot:id=US-001 -->",
                labels=[],
                milestone=None,
            )
            assert adapter.governor.stats.rate_limited == 1
            assert max(adapter.governor.stats.waits) >= 0.9
            assert len(sandbox.repo.issues) == 1
            sandbox.limits.add_fault(kind="secondary", method="POST", times=None, retry_after=5000)
            with pytest.raises(RateLimitedError):
                adapter.create_issue("US-002", title="t", body="", labels=[], milestone=None)
        finally:
            adapter.close()
