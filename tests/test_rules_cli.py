"""Scenario tests of ``backlog-bot validate | capacity | rules`` through the real entry point.

The small backlog ``tests/data/billing-backlog.md`` was checked by hand: 30 declared points
but 8 + 5 = 13 in stories; the epic declares 21; sprint 1 commits 13 points (capacity 10) and
12 + 10 = 22 Backend hours (capacity 20); velocities 8, 9, 11 average 9.3.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.cli.app import main

DATA = Path(__file__).resolve().parent / "data"
BACKLOG = "billing-backlog.md"

EXPECTED_TEXT = """\
backlog
  billing-backlog.md:3: error [consistency.total-points] the document declares 30 total story \
points but its 2 stories add up to 13; the epics declare 21
      help: set the total to 13 or add the missing stories

EPIC-001
  billing-backlog.md:12: error [consistency.epic-points] EPIC-001 declares 21 points but its \
2 stories add up to 13 (+8 points unaccounted for)
      help: set the epic's Story Points to 13 or add the missing stories

US-002
  billing-backlog.md:45: info [dependency.same-sprint] US-002 depends on US-001, planned in \
the same sprint 1
      help: finish the dependencies first in the sprint, or plan them a sprint earlier
  billing-backlog.md:53: warning [invest.valuable] US-002: the user story has no "so that" \
benefit, so its value is unstated
      help: add "so that <benefit>" naming who gains what
  billing-backlog.md:59: info [invest.testable] US-002: "the PDF works well" is vague \
("works well"): say what is measured and the bar it must meet
      help: replace it with a measurable outcome

sprint-1
  billing-backlog.md:69: error [capacity.points] sprint 1 commits 13 points (US-001 8, \
US-002 5) against a capacity of 10 points, 3 over
      help: move 3 or more points to a later sprint
  billing-backlog.md:69: error [capacity.role-hours] sprint 1 needs 22 h of Backend \
Developer work (US-001 12, US-002 10) but the Backend Developer has 20 h per sprint \
(line 9), 2 h over
      help: move a story to another sprint or rebalance its tasks
  billing-backlog.md:69: warning [capacity.velocity] sprint 1 commits 13 points but \
historical velocity averages 9.3 (range 8-11 over 3 sprints)
      help: plan about 9 points

Found 8 findings: 4 errors, 2 warnings, 2 info.
"""

EXPECTED_CAPACITY = """\
          Sprint capacity (committed / capacity, load %)          
┏━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━┓
┃ Sprint ┃     Points ┃ Backend Developer ┃ QA Engineer ┃ Status ┃
┡━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━┩
│      1 │ 13/10 130% │       22/20h 110% │   6/10h 60% │ OVER   │
└────────┴────────────┴───────────────────┴─────────────┴────────┘
Forecast: 13 points at historical velocities (8, 9, 11); Monte Carlo, 10000 runs, seed 20240101
  P50: 2 sprints, ends 2026-02-01
  P85: 2 sprints, ends 2026-02-01
  P95: 2 sprints, ends 2026-02-01
Over capacity: sprint 1
"""  # noqa: W291


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(DATA / BACKLOG, tmp_path / BACKLOG)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "120")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_validate_text(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    coverage = f"{BACKLOG}: read 2 stories in 1 epic, 1 sprint; every line understood\n"
    assert run(capsys, "validate", BACKLOG) == (1, EXPECTED_TEXT, coverage)


def test_validate_json(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", BACKLOG, "--format", "json")
    document = json.loads(out)
    assert code == 1
    assert document["summary"] == {"total": 8, "error": 4, "warning": 2, "info": 2}
    assert document["findings"][1] == {
        "rule": "consistency.epic-points",
        "severity": "error",
        "item": "EPIC-001",
        "message": "EPIC-001 declares 21 points but its 2 stories add up to 13 "
        "(+8 points unaccounted for)",
        "file": "billing-backlog.md",
        "line": 12,
        "suggestion": "set the epic's Story Points to 13 or add the missing stories",
    }


def test_validate_github_annotations(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", BACKLOG, "--format", "github", "--select", "capacity")
    assert code == 1
    assert out.splitlines() == [
        "::error file=billing-backlog.md,line=69,title=capacity.points (sprint-1)::sprint 1 "
        "commits 13 points (US-001 8, US-002 5) against a capacity of 10 points, 3 over "
        "(help: move 3 or more points to a later sprint)",
        "::error file=billing-backlog.md,line=69,title=capacity.role-hours (sprint-1)::sprint 1 "
        "needs 22 h of Backend Developer work (US-001 12, US-002 10) but the Backend Developer "
        "has 20 h per sprint (line 9), 2 h over (help: move a story to another sprint or "
        "rebalance its tasks)",
        "::warning file=billing-backlog.md,line=69,title=capacity.velocity (sprint-1)::sprint 1 "
        "commits 13 points but historical velocity averages 9.3 (range 8-11 over 3 sprints) "
        "(help: plan about 9 points)",
        "Found 3 findings: 2 errors, 1 warning, 0 info.",
    ]


def test_validate_markdown(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", BACKLOG, "-f", "markdown", "--select", "invest")
    assert code == 0  # only warnings and info remain
    assert out == (
        "### backlog-bot validate\n\n"
        "Found 2 findings: 0 errors, 1 warning, 1 info.\n\n"
        "| Severity | Item | Line | Rule | Finding |\n"
        "|---|---|---|---|---|\n"
        '| ⚠️ warning | US-002 | 53 | `invest.valuable` | US-002: the user story has no "so '
        'that" benefit, so its value is unstated — *add "so that <benefit>" naming who gains '
        "what* |\n"
        '| ℹ️ info | US-002 | 59 | `invest.testable` | US-002: "the PDF works well" is vague '
        '("works well"): say what is measured and the bar it must meet — *replace it with a '
        "measurable outcome* |\n"
    )


def test_validate_select_ignore_and_config(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "rules.toml").write_text(
        '[rules]\nignore = ["consistency", "capacity.points"]\n'
        '[rules.severity]\n"capacity" = "warning"\n',
        encoding="utf-8",
    )
    code, out, _ = run(
        capsys, "validate", BACKLOG, "--config", "rules.toml", "--ignore", "dependency,invest"
    )
    assert code == 0
    assert out.splitlines()[-1] == "Found 2 findings: 0 errors, 2 warnings, 0 info."
    assert "[capacity.role-hours]" in out and "[capacity.points]" not in out


def test_validate_output_file_and_clean_exit(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "validate", BACKLOG, "--select", "dor", "-o", "report.txt")
    assert (code, out) == (0, "")
    assert (workdir / "report.txt").read_text(encoding="utf-8") == "No findings.\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["validate", "missing.md"], "error: missing.md: no such file\n"),
        (
            ["validate", BACKLOG, "--select", "nope"],
            "error: unknown rule selector 'nope' (from --select/--ignore or <defaults>); "
            "run 'backlog-bot rules' for the ids\n",
        ),
        (
            ["capacity", BACKLOG, "--sprint", "4"],
            "error: billing-backlog.md: --sprint 4: the backlog has sprints 1\n",
        ),
        (
            ["capacity", BACKLOG, "--start-date", "May 1"],
            "error: --start-date 'May 1' is not a date (use YYYY-MM-DD)\n",
        ),
        (
            ["rules", "nope"],
            "error: unknown rule 'nope'; run 'backlog-bot rules' for the list\n",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert run(capsys, *argv) == (2, "", message)


def test_capacity_table(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "capacity", BACKLOG, "--start-date", "2026-01-05")
    assert (code, out) == (1, EXPECTED_CAPACITY)


def test_capacity_json(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "capacity", BACKLOG, "--format", "json", "--sprint", "1")
    document = json.loads(out)
    assert code == 1
    assert document["over_capacity"] == [1]
    [sprint] = document["sprints"]
    assert (sprint["committed_points"], sprint["capacity_points"], sprint["load_pct"]) == (
        13,
        10,
        130.0,
    )
    assert [(r["role"], r["hours"], r["load_pct"]) for r in sprint["roles"]] == [
        ("Backend Developer", 22.0, 110.0),
        ("QA Engineer", 6.0, 60.0),
    ]
    assert document["forecast"]["percentiles"][0] == {
        "percentile": 50,
        "sprints": 2,
        "end_date": None,
    }


def test_rules_list_and_docs(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "estimate")
    assert (code, out) == (
        0,
        "estimate.points-hours  warning  stable   Task hours match the guide's band for the "
        "points.\n"
        "estimate.scale         warning  stable   Story points are on the team's points scale.\n",
    )
    code, out, _ = run(capsys, "rules", "invest.small")
    assert code == 0
    assert out.startswith(
        "invest.small (warning, stable)\n\nStory fits the guide's sizes and one sprint.\n\n"
        "What it does: flags a story bigger than"
    )
    assert "\n\nInstead: split it into stories" in out
    code, out, _ = run(capsys, "rules", "--format", "json")
    listed = json.loads(out)
    assert code == 0 and {"id", "severity", "lifecycle", "summary", "doc"} <= set(listed[0])
    assert "dor.estimated" in {item["id"] for item in listed}
