"""Parse benchmark: candidate Markdown parsers and backlog-bot's parser on synthetic backlogs.

Run: ``.venv/bin/python bench/bench_parse.py [--sizes 100 1000 10000] [--repeat 3]``
(``--parsers backlog`` measures backlog-bot only; the other candidates need ``.[bench]``).

For each size (stories; about 1.8 KB of Markdown each, see ``bench/synthetic.py``) and each
candidate it prints CPU time (best of ``--repeat``) and peak memory. Every measurement runs
in a fresh child process, so peak RSS includes memory allocated by the Rust extensions
(tracemalloc cannot see it) and a crashing parser cannot take the benchmark down. It also
feeds each candidate a few hostile inputs (a panic and a stack overflow seen while fuzzing).

Then the whole process, as a user runs it: ``backlog-bot parse FILE --format json`` on the
generated 1,000- and 10,000-story backlogs, the reference document and each real-world
backlog of ``tests/data/realworld`` (interpreter start-up, imports and JSON output included),
``--runs`` times each, interleaved. It prints the CPU time the child used (user + system,
from ``wait4``; the process is single-threaded, so on an idle machine this is its wall
time, and unlike wall time it does not grow when other processes share the CPUs) and the
wall time. A first run with bytecode writing on warms ``__pycache__``, as an installed
package has it.

Targets (issue 11): ``parse`` of 1,000 stories in-process under 0.5 s; 10k/1k time ratio
<= 12 (in-process parse, each size's first parse in a fresh child process, the sizes
alternating ``--rounds`` times, best time of each); ``backlog-bot parse FILE --format
json`` of 1,000 stories as a whole process under 0.5 s; each real-world file as a whole
process under 0.3 s (whole processes judged by their median CPU time). The last lines print
PASS or MISS for each target; the exit status is 1 when a target is missed.

With ``--baseline DIR`` (a checkout of 02f6b5c, the commit the issue was filed against, with
``.venv`` installed: ``git worktree add DIR 02f6b5c && python -m venv DIR/.venv &&
DIR/.venv/bin/pip install -e DIR``) that checkout's ``backlog-bot parse`` of the 1,000 stories
runs right after each of ours, and the whole-process target is also judged by the median
ratio of those pairs: at most 0.5 / 1.1, the target over what the issue measured at filing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PARSE_1K_LIMIT_S = 0.5
SCALING_LIMIT = 12.0
WHOLE_PROCESS_LIMIT_S = 0.5
REALWORLD_LIMIT_S = 0.3
# Issue 11 was filed against 02f6b5c, whose parse of 1,000 stories it measured as "about
# 1.1 s here". The machines' speed varies by half from one hour to the next, so an absolute
# figure is judged best as a ratio to that commit measured in the same run (``--baseline``).
FILED_WHOLE_PROCESS_S = 1.1
BASELINE = "1,000 stories, baseline checkout"
OURS = "backlog-bot parse_text"
REALWORLD = ROOT / "tests" / "data" / "realworld"

HOSTILE = {
    "bracket+backtick": "[`",
    "deep quotes": ">" * 100_000,
}


def _candidates() -> dict[str, Callable[[str], object]]:
    def pyromark_events(text: str) -> object:
        import pyromark

        count = 0
        for _ in pyromark.events_with_range(text, options=pyromark.Options.ENABLE_TABLES):
            count += 1
        return count

    def markdown_it_pyrs(text: str) -> object:
        from markdown_it_pyrs import MarkdownIt

        return MarkdownIt("commonmark").enable("table").tree(text)

    def markdown_it_py(text: str) -> object:
        from markdown_it import MarkdownIt

        return MarkdownIt("commonmark").enable("table").parse(text)

    def mistune_ast(text: str) -> object:
        import mistune

        return mistune.create_markdown(renderer=None, plugins=["table"])(text)

    def backlog_bot(text: str) -> object:
        from backlog.parse import parse_text

        return parse_text(text)

    return {
        "pyromark (events+ranges)": pyromark_events,
        "markdown-it-pyrs (tree)": markdown_it_pyrs,
        "markdown-it-py (tokens)": markdown_it_py,
        "mistune (AST, no line map)": mistune_ast,
        "backlog-bot parse_text": backlog_bot,
    }


def _worker(name: str, stories: int, repeat: int, hostile: str | None) -> None:
    """Child process: one measurement, printed as JSON."""
    function = _candidates()[name]
    if hostile is not None:
        try:
            function(HOSTILE[hostile])
            outcome = "ok"
        except BaseException as exc:  # a Rust panic is a BaseException
            outcome = f"raised {type(exc).__name__}"
        print(json.dumps({"outcome": outcome}))
        return
    from bench.synthetic import make_backlog_markdown

    text = make_backlog_markdown(stories)
    function(make_backlog_markdown(3))  # warm imports outside the timing
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(repeat):
        start = time.process_time()
        result = function(text)
        times.append(time.process_time() - start)
        del result
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": min(times), "peak_kib": peak - before, "bytes": len(text)}))


def _first_parses(name: str, rounds: int) -> dict[int, float] | str:
    """Best time of each size's first parse in a fresh process, the sizes alternating.

    Fresh processes give both sizes the heap a one-shot command starts with. Parsed again in
    one process, the small backlog reuses memory the allocator kept from the run before,
    while the large one's buffers (above glibc's 32 MiB mmap ceiling) are mapped afresh each
    time: 7,000 page faults a run against 103,000 for ten times the input, a ratio of 11 to 12
    where fresh processes give 8 to 10. Alternating the sizes exposes both to the same busy
    spells of a shared machine, and each size gets the same number of runs (the best of
    more runs is lower on a noisy machine).
    """
    times: dict[int, list[float]] = {1000: [], 10000: []}
    for _ in range(rounds):
        for stories, seconds in times.items():
            row = _run_child([name, str(stories), "--repeat", "1"])
            if "seconds" not in row:
                return str(row["outcome"])
            seconds.append(float(row["seconds"]))  # type: ignore[arg-type]
    return {stories: min(seconds) for stories, seconds in times.items()}


def _run_child(args: list[str]) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, __file__, "--worker", *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if completed.returncode != 0:
        return {"outcome": f"crashed (exit {completed.returncode})"}
    return json.loads(completed.stdout.strip().splitlines()[-1])


@dataclass
class Process:
    """CPU (user + system) and wall seconds of each whole-process run of one command."""

    label: str
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    def line(self) -> str:
        cpu, wall = statistics.median(self.cpu), statistics.median(self.wall)
        return (
            f"  {self.label:44} cpu median {cpu:.3f} s (best {min(self.cpu):.3f}); "
            f"wall median {wall:.3f} s"
        )


def _parse_command(path: Path, checkout: Path = ROOT) -> list[str]:
    """``backlog-bot parse PATH --format json`` as installed in ``checkout``'s ``.venv``."""
    return [str(checkout / ".venv" / "bin" / "backlog-bot"), "parse", str(path), "--format", "json"]


def _run_once(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    start = time.perf_counter()
    child = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return usage.ru_utime + usage.ru_stime, wall


def _whole_processes(commands: dict[str, list[str]], runs: int) -> dict[str, Process]:
    """Each command ``runs`` times, interleaved, after one run that warms ``__pycache__``."""
    warm = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for command in {command[0]: command for command in commands.values()}.values():
        _run_once(command, env=warm)  # one command per installed executable
    results = {label: Process(label) for label in commands}
    for _ in range(runs):
        for label, command in commands.items():
            cpu, wall = _run_once(command)
            results[label].cpu.append(cpu)
            results[label].wall.append(wall)
    return results


def _verdicts(
    results: dict[tuple[str, int], float], ratios: dict[str, float], processes: dict[str, Process]
) -> list[tuple[str, bool]]:
    """(label, met) for each target that this run measured."""
    checks = []
    small = results.get((OURS, 1000))
    if small is not None:
        checks.append(
            (f"parse 1k stories {small:.3f} s CPU < {PARSE_1K_LIMIT_S} s", small < PARSE_1K_LIMIT_S)
        )
    ratio = ratios.get(OURS)
    if ratio is not None:
        checks.append(
            (f"parse 10k/1k time ratio {ratio:.1f} <= {SCALING_LIMIT}", ratio <= SCALING_LIMIT)
        )
    thousand = processes.get("1,000 stories")
    if thousand is not None:
        median = statistics.median(thousand.cpu)
        checks.append(
            (
                f"backlog-bot parse (1,000 stories) --format json, whole process, median "
                f"{median:.3f} s CPU < {WHOLE_PROCESS_LIMIT_S} s",
                median < WHOLE_PROCESS_LIMIT_S,
            )
        )
    baseline = processes.get(BASELINE)
    if thousand is not None and baseline is not None:
        pairs = zip(thousand.cpu, baseline.cpu, strict=True)
        ratio = statistics.median(ours / theirs for ours, theirs in pairs)
        limit = WHOLE_PROCESS_LIMIT_S / FILED_WHOLE_PROCESS_S
        checks.append(
            (
                f"the same, against the baseline run next to it: median ratio {ratio:.3f} <= "
                f"{limit:.3f} ({WHOLE_PROCESS_LIMIT_S} s against the {FILED_WHOLE_PROCESS_S} s "
                "the issue measured when it was filed)",
                ratio <= limit,
            )
        )
    real = [p for label, p in processes.items() if label.startswith("realworld/")]
    if real:
        worst = max(real, key=lambda p: statistics.median(p.cpu))
        median = statistics.median(worst.cpu)
        checks.append(
            (
                f"each real-world file, whole process: slowest {worst.label} median "
                f"{median:.3f} s CPU < {REALWORLD_LIMIT_S} s",
                median < REALWORLD_LIMIT_S,
            )
        )
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--parsers", nargs="*", default=None, help="substring filter")
    parser.add_argument("--runs", type=int, default=7, help="whole-process runs per file")
    parser.add_argument(
        "--rounds", type=int, default=5, help="alternating 1k/10k processes for the time ratio"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a checkout of the commit issue 11 was filed against, with its own .venv: its "
        "parse of the 1,000 stories runs right after each of ours; the pairs' median ratio "
        "is judged",
    )
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        name, stories = options.worker[0], int(options.worker[1])
        hostile = options.worker[2] if len(options.worker) > 2 else None
        _worker(name, stories, options.repeat, hostile)
        return 0
    names = [
        name
        for name in _candidates()
        if not options.parsers or any(part in name for part in options.parsers)
    ]
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; CPU seconds, best of "
        f"{options.repeat}; peak = RSS growth during the parse"
    )
    print(f"{'parser':28} {'stories':>8} {'MB':>6} {'seconds':>8} {'peak MiB':>9}")
    results: dict[tuple[str, int], float] = {}
    for name in names:
        for stories in options.sizes:
            repeat = options.repeat if stories <= 1000 else max(1, options.repeat - 1)
            row = _run_child([name, str(stories), "--repeat", str(repeat)])
            if "seconds" not in row:
                print(f"{name:28} {stories:>8} {'':>6} {row['outcome']}")
                continue
            results[(name, stories)] = float(row["seconds"])  # type: ignore[arg-type]
            print(
                f"{name:28} {stories:>8} {int(row['bytes']) / 1e6:>6.1f} "  # type: ignore[call-overload]
                f"{float(row['seconds']):>8.3f} {int(row['peak_kib']) / 1024:>9.1f}"  # type: ignore[arg-type,call-overload]
            )
    print()
    ratios: dict[str, float] = {}
    for name in names:
        if (name, 1000) not in results or (name, 10000) not in results:
            continue
        best = _first_parses(name, options.rounds)
        if isinstance(best, str):
            print(f"{name:28} 10k/1k time ratio: {best}")
            continue
        small, large = best[1000], best[10000]
        ratios[name] = large / small
        print(
            f"{name:28} 10k/1k time ratio {large / small:5.1f} (first parse in a fresh "
            f"process, sizes alternating, best of {options.rounds}: 1k {small:.3f} s, 10k "
            f"{large:.3f} s)"
        )
    print()
    print("hostile inputs (each in its own process):")
    for name in names:
        outcomes = [f"{label}: {_run_child([name, '0', label])['outcome']}" for label in HOSTILE]
        print(f"  {name:28} " + "; ".join(outcomes))
    print()
    with tempfile.TemporaryDirectory() as tmp:
        from bench.synthetic import make_backlog_markdown

        files = {}
        for stories in (1000, 10000):
            path = Path(tmp) / f"backlog-{stories}.md"
            path.write_text(make_backlog_markdown(stories), encoding="utf-8")
            files[f"{stories:,} stories"] = path
        files["examples/bss-modernization.md"] = ROOT / "examples" / "bss-modernization.md"
        for path in sorted(REALWORLD.glob("*.md")):
            if path.name != "SOURCES.md":
                files[f"realworld/{path.name}"] = path
        commands = {}
        for label, path in files.items():
            commands[label] = _parse_command(path)
            if label == "1,000 stories" and options.baseline is not None:
                # Right after ours, so that each pair of runs meets the same spell.
                commands[BASELINE] = _parse_command(path, options.baseline)
        processes = _whole_processes(commands, options.runs)
    print(
        f"backlog-bot parse FILE --format json, whole process, {options.runs} runs each "
        "(CPU = user + system of the child):"
    )
    for process in processes.values():
        print(process.line())
    ten, one = processes["10,000 stories"], processes["1,000 stories"]
    ratio = statistics.median(ten.cpu) / statistics.median(one.cpu)
    print(f"  whole-process 10k/1k CPU ratio {ratio:.1f}")
    print()
    checks = _verdicts(results, ratios, processes)
    for label, met in checks:
        print(f"{'PASS' if met else 'MISS'}  {label}")
    return 0 if all(met for _, met in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
