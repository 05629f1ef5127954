"""Resilience: safe retries only, Retry-After honoured, creates never blindly re-sent, and
a run under 20% injected faults converges with nothing duplicated or missing."""

from __future__ import annotations

import pytest
import requests

from sandbox.jira import Fault, JiraSandbox
from sync.calls import CallCounter
from sync.http_transport import Pacer, install
from sync.jira.adapter import SAFE_POSTS
from sync.retry import RetryPolicy
from tests.jira_support import (  # noqa: F401 (_dispose_engines is a fixture)
    SOURCE,
    _dispose_engines,
    authorize,
    issue_count_by_label,
    jira_site,
    make_sync,
    reference_backlog,
)

pytestmark = pytest.mark.usefixtures("jira_deployment")  # Cloud and Data Center

ALL_ISSUES = 4 + 29 + 112


def _session(
    site: JiraSandbox, sleeps: list[float], policy: RetryPolicy | None = None
) -> tuple[requests.Session, CallCounter]:
    session = requests.Session()
    authorize(session, site)
    counter = CallCounter()
    policy = policy or RetryPolicy(
        attempts=4, base_delay=0.01, max_delay=5.0, safe_post_paths=SAFE_POSTS
    )
    adapter = install(session, "jira", counter, Pacer(0), policy)
    adapter._sleep = sleeps.append  # record instead of sleeping
    return session, counter


def test_reads_are_retried_and_creates_are_not() -> None:
    sleeps: list[float] = []
    with jira_site() as site:
        session, counter = _session(site, sleeps)
        site.inject_fault(Fault("error", status=503, times=1, methods=("GET",)))
        assert session.get(f"{site.url}/rest/api/2/myself", timeout=5).status_code == 200
        site.inject_fault(Fault("error", status=503, times=1, methods=("POST",)))
        response = session.post(
            f"{site.url}/rest/api/2/issue/bulk", json={"issueUpdates": []}, timeout=5
        )
        assert response.status_code == 503  # handed to the caller, who looks before retrying
        assert [r.status for r in site.requests] == [503, 200, 503]
        assert counter.snapshot() == {"jira GET": 2, "jira POST": 1}


def test_rate_limit_waits_for_retry_after_even_for_creates() -> None:
    sleeps: list[float] = []
    with jira_site() as site:
        session, _ = _session(site, sleeps)
        site.inject_fault(Fault("rate_limit", retry_after=3, times=1))
        body = {"issueUpdates": []}
        assert (
            session.post(f"{site.url}/rest/api/2/issue/bulk", json=body, timeout=5).status_code
            == 201
        )
        assert sleeps == [3.0]


def test_a_capped_wait_hands_a_long_rate_limit_back_at_once() -> None:
    """The service caps the in-process wait (it defers the delivery instead): a Retry-After
    within the cap is waited for, a longer one (or one that would pass the cap in all) is
    handed back as the 429 without sleeping, with the server's hint for the deferral."""
    sleeps: list[float] = []
    with jira_site() as site:
        capped = RetryPolicy(attempts=5, base_delay=0.01, longest_rate_limit_wait=5.0)
        session, _ = _session(site, sleeps, capped)
        url = f"{site.url}/rest/api/2/myself"
        site.inject_fault(Fault("rate_limit", retry_after=3, times=1))
        assert session.get(url, timeout=5).status_code == 200
        assert sleeps == [3.0]
        site.inject_fault(Fault("rate_limit", retry_after=30, times=1))
        refused = session.get(url, timeout=5)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "30"
        assert sleeps == [3.0]  # not slept on
        site.inject_fault(Fault("rate_limit", retry_after=3, times=3))
        assert session.get(url, timeout=5).status_code == 429  # 3 s, then 3 more would pass 5
        assert sleeps == [3.0, 3.0]
        assert [r.status for r in site.requests] == [429, 200, 429, 429, 429]


def test_dropped_connection_on_a_read_is_retried() -> None:
    sleeps: list[float] = []
    with jira_site() as site:
        session, _ = _session(site, sleeps)
        site.inject_fault(Fault("drop", times=2))
        info = session.get(f"{site.url}/rest/api/2/serverInfo", timeout=5).json()
        assert (
            info["deploymentType"]
            == {"cloud": "Cloud", "datacenter": "DataCenter"}[site.deployment]
        )
        assert [r.status for r in site.requests] == [0, 0, 200]
        assert len(sleeps) == 2 and all(0 <= s <= 0.02 for s in sleeps)


def test_timeout_after_the_create_happened_creates_nothing_twice(sqlite_url: str) -> None:
    with jira_site() as site:
        # The read timeout is generous so that only the stalled batch times out, however loaded
        # the machine: a 50-issue batch answered in 3 s must not count as unanswered.
        engine = make_sync(site, sqlite_url, timeout=(2.0, 3.0))
        site.inject_fault(
            Fault("stall_after", methods=("POST",), path_contains="/issue/bulk", times=1, delay=4.0)
        )
        report = engine.apply(reference_backlog(), SOURCE)
        assert report.failures == []
        assert report.counts["adopt epic"] == 4  # the epics: created, unanswered, found by label
        assert "create epic" not in report.counts
        assert site.state.summary()["issues"] == ALL_ISSUES
        assert set(issue_count_by_label(site).values()) == {1}
        bulk = [r for r in site.requests if r.path.endswith("/issue/bulk")]
        assert len(bulk) == 5  # the stalled epics batch was not sent again


def test_twenty_percent_faults_converge_without_duplicates(database_url: str) -> None:
    each = 0.045  # five kinds of fault: about 20% of requests hit one
    faults = [
        Fault("error", status=500, probability=each),
        Fault("error", status=503, probability=each),
        Fault("rate_limit", retry_after=1, probability=each),
        Fault("drop", probability=each),
        Fault("drop_after", probability=each),
    ]
    with jira_site(seed=7) as site:
        engine = make_sync(site, database_url, timeout=(2.0, 2.0))
        site.inject_fault(*faults, seed=7)
        backlog = reference_backlog()
        runs = []
        for _ in range(4):
            report = engine.apply(backlog, SOURCE)
            runs.append(report)
            if not report.failures and report.plan.is_noop:
                break
        faulted = [r for r in site.requests if r.fault]
        assert len(faulted) >= 0.1 * len(site.requests)
        site.clear_faults()
        final = engine.apply(backlog, SOURCE)
        assert final.failures == [] and final.plan.is_noop
        summary = site.state.summary()
        assert summary["issues"] == ALL_ISSUES
        assert summary["links"] == 62
        assert summary["sprints"] == 8
        assert summary["issues_in_sprints"] == 29
        assert set(issue_count_by_label(site).values()) == {1}
