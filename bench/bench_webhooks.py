"""Benchmark of webhook intake: a real ``backlog-bot serve`` subprocess, signed GitHub
deliveries from a bounded loopback load generator (httpx async, a fixed number of requests).

Targets (from the service issue), on SQLite and on PostgreSQL:
- at least 300 signed deliveries/s acknowledged, with p99 acknowledgement latency < 50 ms
  (measured paced at ``--rate`` per second, the worker running, as in production);
- resident memory of ``serve`` under 200 MB (peak, VmHWM);
- inbox drain rate reported (a backlog accepted with ``--workers-off``, then drained by a
  fresh ``serve`` whose no-op handler isolates the inbox's own cost).
Also prints the unpaced (closed-loop) maximum intake rate.

Run: ``.venv/bin/python bench/bench_webhooks.py [--requests 3000] [--rate 300]``
(prints the figures; exit 1 if a target is missed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bot.service.inbox import Delivery, Inbox  # noqa: E402
from bot.service.webhooks import sign  # noqa: E402
from bot.service.worker import HandlerRegistry  # noqa: E402
from sandbox.runner import free_port  # noqa: E402
from sync.state import db  # noqa: E402

SECRET = "bench-webhook-secret"
PG_ADMIN = os.environ.get("BACKLOG_BOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
OCTOKIT = ROOT / ".cache/oracles/node_modules/@octokit/webhooks-examples/api.github.com/index.json"
TARGET_RATE = 300.0
TARGET_P99_MS = 50.0
TARGET_RSS_MB = 200.0


def register_noop(registry: HandlerRegistry) -> None:
    """Handler loaded into the benchmarked serve: reads the payload, does no I/O."""

    def noop(delivery: Delivery) -> None:
        _ = (delivery.payload.get("issue") or {}).get("number")

    registry.add("github", "issues", noop)


def example_body() -> bytes:
    if OCTOKIT.is_file():
        for entry in json.loads(OCTOKIT.read_text()):
            if entry["name"] == "issues":
                return json.dumps(entry["examples"][0]).encode()
    return json.dumps({"action": "opened", "issue": {"number": 1, "body": "x" * 6000}}).encode()


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            db.upgrade(url)
            yield url
        return
    import psycopg

    name = f"bbbench_{uuid.uuid4().hex[:10]}"
    admin = PG_ADMIN.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0] + "/" + name
    try:
        db.upgrade(url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def serve(url: str, *, workers: bool = True) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": url,
        "GITHUB_WEBHOOK_SECRET": SECRET,
        "WEBHOOK_HANDLER_MODULES": "bench.bench_webhooks:register_noop",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),  # production default: INFO
    }
    script = Path(sys.executable).parent / "backlog-bot"
    args = [str(script), "serve", "--port", str(port)] + ([] if workers else ["--workers-off"])
    process = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("serve did not start")
        time.sleep(0.05)
    try:
        yield base, process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> tuple[float, float]:
    """(current VmRSS, peak VmHWM) in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def load(
    base: str, body: bytes, count: int, *, rate: float | None, conns: int, procs: int = 2
) -> dict:
    """Send ``count`` signed deliveries from ``procs`` generator processes (httpx async).

    Paced (``rate``/s, open loop): each request's latency runs from its *scheduled* send
    time, so queueing in the generator or the server is counted. Unpaced: as fast as
    ``conns`` connections per process allow. The generator's own CPU (httpx costs about
    2-3 ms per request) is spread over processes so it does not cap the server.
    """
    start_at = time.time() + 1.0  # every process starts on the same tick
    jobs = [(base, body, count, rate, conns, procs, index, start_at) for index in range(procs)]
    with ProcessPoolExecutor(procs, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(_generate, jobs))
    latencies = sorted(x for part in parts for x in part["latencies"])
    statuses: dict[int, int] = {}
    for part in parts:
        for code, n in part["statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
    elapsed = max(part["elapsed"] for part in parts)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "rate": count / elapsed,
        "p50": pct(0.50),
        "p99": pct(0.99),
        "max": latencies[-1] * 1000,
        "statuses": statuses,
        "client_cpu_ms": sum(p["cpu"] for p in parts) / count * 1000,
    }


def _generate(job: tuple) -> dict:
    base, body, count, rate, conns, procs, index, start_at = job
    coroutine = _generator(base, body, count, rate, conns, procs, index, start_at)
    try:
        import uvloop  # the generator's own event-loop overhead is not what we measure

        return uvloop.run(coroutine)
    except ImportError:
        return asyncio.run(coroutine)


async def _generator(
    base: str,
    body: bytes,
    count: int,
    rate: float | None,
    conns: int,
    procs: int,
    index: int,
    start_at: float,
) -> dict:
    signature = sign(SECRET, body)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    mine = list(range(index, count, procs))
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        semaphore = asyncio.Semaphore(conns)

        async def one(scheduled: float) -> None:
            headers = {
                "Content-Type": "application/json",
                "X-GitHub-Event": "issues",
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "X-Hub-Signature-256": signature,
            }
            async with semaphore:
                started = scheduled if rate else time.perf_counter()
                response = await client.post("/webhooks/github", content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        await asyncio.sleep(max(0.0, start_at - time.time()))
        cpu0 = time.process_time()
        began = time.perf_counter()
        tasks = []
        for i in mine:
            scheduled = began + i / rate if rate else 0.0
            if rate:
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(scheduled)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
    return {
        "latencies": latencies,
        "statuses": statuses,
        "elapsed": elapsed,
        "cpu": time.process_time() - cpu0,
    }


def wait_drained(url: str, total: int, timeout: float = 300) -> float:
    engine = db.make_engine(url)
    inbox = Inbox(engine)
    began = time.perf_counter()
    try:
        while True:
            counts = inbox.counts()
            if counts["done"] >= total:
                return time.perf_counter() - began
            if time.perf_counter() - began > timeout:
                raise SystemExit(f"inbox not drained: {counts}")
            time.sleep(0.05)
    finally:
        engine.dispose()


def bench(kind: str, requests: int, rate: float, conns: int, procs: int) -> bool:
    body = example_body()
    print(f"\n== {kind}: {requests} signed deliveries of {len(body)} bytes ==")
    ok = True
    with database(kind) as url:
        with serve(url) as (base, process):
            load(base, body, 200, rate=None, conns=conns, procs=procs)  # warm-up
            cpu0 = cpu_seconds(process.pid)
            paced = load(base, body, requests, rate=rate, conns=64, procs=procs)
            serve_cpu_ms = (cpu_seconds(process.pid) - cpu0) / requests * 1000
            burst = load(base, body, requests, rate=None, conns=conns, procs=procs)
            wait_drained(url, 200 + 2 * requests)
            rss, peak = rss_mb(process.pid)
        print(
            f"paced at {rate:.0f}/s: achieved {paced['rate']:.0f}/s, "
            f"ack p50 {paced['p50']:.1f} ms, p99 {paced['p99']:.1f} ms, "
            f"max {paced['max']:.1f} ms, statuses {paced['statuses']}"
        )
        print(
            f"unpaced, {procs}x{conns} connections: {burst['rate']:.0f}/s, "
            f"p50 {burst['p50']:.1f} ms, p99 {burst['p99']:.1f} ms, statuses {burst['statuses']}"
        )
        print(
            f"CPU per delivery: serve {serve_cpu_ms:.2f} ms (intake + worker), "
            f"httpx load generator {paced['client_cpu_ms']:.2f} ms; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        print(f"serve memory: RSS {rss:.0f} MB, peak {peak:.0f} MB")
        with serve(url, workers=False) as (base, _):
            load(base, body, requests, rate=None, conns=conns, procs=procs)
        with serve(url) as _:
            drained = wait_drained(url, 200 + 3 * requests)
        print(
            f"inbox drain: {requests} queued deliveries in {drained:.1f} s "
            f"= {requests / drained:.0f}/s (one worker, no-op handler)"
        )
    checks = {
        f"paced rate >= {TARGET_RATE:.0f}/s": paced["rate"] >= TARGET_RATE * 0.98,
        f"p99 < {TARGET_P99_MS:.0f} ms": paced["p99"] < TARGET_P99_MS,
        "all 202": set(paced["statuses"]) == {202} and set(burst["statuses"]) == {202},
        f"peak RSS < {TARGET_RSS_MB:.0f} MB": peak < TARGET_RSS_MB,
    }
    for name, passed in checks.items():
        print(f"  [{'ok' if passed else 'MISSED'}] {name}")
        ok = ok and passed
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=TARGET_RATE)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--generators", type=int, default=2, help="load generator processes")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = [
        bench(kind, args.requests, args.rate, args.connections, args.generators) for kind in kinds
    ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
