"""The rules on the reference backlog: every number checked, clean items not flagged.

The expected numbers were verified by hand against examples/bss-modernization.md:
epic story sums 21+13+13+13+8+8+13 = 89, 21+13+13+21+13+8+8 = 97, 21+13+21+13+13+13+8 = 102,
21+21+21+13+13+13+13+8 = 123; sprint 1 commits 21+13+8+13+8+13+13 = 89 (capacity 85);
sprint 6 Backend tasks US-017 8+10, US-020 4+8, US-019 6+8+6, US-021 4+6+4 = 64 (capacity 60).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from backlog.model import Backlog
from backlog.parse import load_backlog, parse_text
from rules.base import Finding, Severity
from rules.config import RulesConfig
from rules.runner import has_errors, run_rules

REFERENCE = Path(__file__).resolve().parents[1] / "examples" / "bss-modernization.md"
TWENTY_ONE = ["US-001", "US-008", "US-011", "US-015", "US-017", "US-022", "US-023", "US-024"]


@pytest.fixture(scope="module")
def backlog() -> Backlog:
    return load_backlog(REFERENCE)


@pytest.fixture(scope="module")
def findings(backlog: Backlog) -> list[Finding]:
    return run_rules(backlog)


def by_rule(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def test_epic_points_differ_from_story_sums(findings: list[Finding]) -> None:
    assert [(f.item, f.line, f.message) for f in by_rule(findings, "consistency.epic-points")] == [
        ("EPIC-001", 23, "EPIC-001 declares 155 points but its 7 stories add up to 89 "
         "(+66 points unaccounted for)"),
        ("EPIC-002", 355, "EPIC-002 declares 145 points but its 7 stories add up to 97 "
         "(+48 points unaccounted for)"),
        ("EPIC-003", 727, "EPIC-003 declares 150 points but its 7 stories add up to 102 "
         "(+48 points unaccounted for)"),
        ("EPIC-004", 1095, "EPIC-004 declares 170 points but its 8 stories add up to 123 "
         "(+47 points unaccounted for)"),
    ]  # fmt: skip


def test_sprint_one_is_over_its_points_capacity(findings: list[Finding]) -> None:
    [finding] = by_rule(findings, "capacity.points")
    assert finding.item == "sprint-1"
    assert finding.severity is Severity.error
    assert finding.message == (
        "sprint 1 commits 89 points (US-001 21, US-002 13, US-006 8, US-007 13, US-005 8, "
        "US-003 13, US-004 13) against a capacity of 85 points, 4 over"
    )


def test_sprint_six_backend_hours_exceed_backend_capacity(findings: list[Finding]) -> None:
    [finding] = by_rule(findings, "capacity.role-hours")
    assert finding.item == "sprint-6"
    assert finding.message == (
        "sprint 6 needs 64 h of Backend Developer work (US-017 18, US-020 12, US-019 20, "
        "US-021 14) but the Backend Developer has 60 h per sprint (line 14), 4 h over"
    )


def test_the_eight_21_point_stories_are_epic_sized(findings: list[Finding]) -> None:
    small = by_rule(findings, "invest.small")
    assert [f.item for f in small] == TWENTY_ONE
    assert small[0].message == (
        "US-001 has 21 points: the estimation guide says 21 = Epic (48-64 h) (line 2193)"
    )


def test_dependency_fields_disagree_with_the_matrix(findings: list[Finding]) -> None:
    mismatches = by_rule(findings, "consistency.dependency-mismatch")
    assert [f.item for f in mismatches] == ["US-009", "US-017", "US-022", "US-024"]
    assert mismatches[0].message == (
        "US-009's Dependencies field says 'None' but the dependency matrix (line 1985) says "
        "'US-001 (Prometheus)'"
    )
    assert "'EPIC-003 completed'" in mismatches[3].message
    assert "'US-022, US-023'" in mismatches[3].message


def test_capacity_check_totals_differ_from_task_hours(findings: list[Finding]) -> None:
    stated = [f.message.split(" (")[0] for f in by_rule(findings, "consistency.stated-hours")]
    assert stated == [
        "sprint 1 states 9 h for US-006 but its tasks add up to 12 h",
        "sprint 1 capacity check states 52 h for DevOps but the committed stories' DevOps "
        "Engineer tasks add up to 49 h",
        "sprint 1 capacity check states 42 h for Backend but the committed stories' Backend "
        "Developer tasks add up to 55 h",
        "sprint 1 capacity check states 6 h for QA but the committed stories' QA Engineer tasks "
        "add up to 21 h",
        "sprint 1 capacity check states 100 h for Total but the committed stories' all roles "
        "tasks add up to 125 h",
        "sprint 3 capacity check states 32 h for DevOps but the committed stories' DevOps "
        "Engineer tasks add up to 45 h",
        "sprint 3 capacity check states 16 h for QA but the committed stories' QA Engineer tasks "
        "add up to 19 h",
        "sprint 5 capacity check states 32 h for DevOps but the committed stories' DevOps "
        "Engineer tasks add up to 46 h",
        "sprint 6 capacity check states 46 h for Backend but the committed stories' Backend "
        "Developer tasks add up to 64 h",
        "sprint 7 capacity check states 38 h for DevOps but the committed stories' DevOps "
        "Engineer tasks add up to 46 h",
        "sprint 7 capacity check states 30 h for Backend but the committed stories' Backend "
        "Developer tasks add up to 48 h",
        "sprint 8 capacity check states 20 h for DevOps but the committed stories' DevOps "
        "Engineer tasks add up to 48 h",
        "sprint 8 capacity check states 44 h for Backend but the committed stories' Backend "
        "Developer tasks add up to 56 h",
    ]


def test_declared_totals(findings: list[Finding]) -> None:
    assert [f.message for f in by_rule(findings, "consistency.total-points")] == [
        "the document declares 620 total story points but its 29 stories add up to 411; "
        "the epics declare 620"
    ]
    assert [f.message for f in by_rule(findings, "consistency.sprint-points")] == [
        "the sprint overview states a total of 615 points but its rows add up to 605",
        "the sprint overview gives sprint 1 85 points but it commits 89 (89 in stories)",
        "the sprint overview gives sprint 3 80 points but it commits 63 (63 in stories)",
        "the sprint overview gives sprint 6 75 points but it commits 55 (55 in stories)",
        "the sprint overview gives sprint 8 70 points but it commits 60 (60 in stories)",
    ]


def test_declared_totals_point_at_their_lines(findings: list[Finding]) -> None:
    # "**Total Story Points:** 620 points" on line 4, "**Total Story Points: 615**" in the
    # sprint overview on line 1551
    assert [f.line for f in by_rule(findings, "consistency.total-points")] == [4]
    assert [f.line for f in by_rule(findings, "consistency.sprint-points")] == [
        1551, 1555, 1632, 1747, 1828,
    ]  # fmt: skip
    assert all(f.line > 0 for f in findings)


def test_clean_items_are_not_flagged(findings: list[Finding]) -> None:
    counts = Counter(f.rule for f in findings)
    # every story is prioritized, described, estimated on the scale, planned and acyclic
    for rule in (
        "dor.prioritized", "dor.user-story", "dor.acceptance-criteria", "dor.dependencies",
        "dor.technical-approach", "dor.estimated", "dor.capacity", "dor.unchecked",
        "invest.valuable", "invest.estimable", "estimate.scale", "dependency.unknown",
        "dependency.cycle", "dependency.order", "plan.unscheduled", "plan.unknown-story",
    ):  # fmt: skip
        assert counts[rule] == 0, rule
    flagged = {(f.rule, f.item) for f in findings}
    for story in ("US-021", "US-028", "US-029"):  # task hours inside the guide's band
        assert ("estimate.points-hours", story) not in flagged
    for story in ("US-004", "US-020", "US-021"):  # outcome-style criteria
        assert ("invest.negotiable", story) not in flagged
    for sprint in range(2, 9):
        assert ("capacity.points", f"sprint-{sprint}") not in flagged
    assert {f.item for f in by_rule(findings, "invest.small")}.isdisjoint({"US-002", "US-029"})


def test_findings_are_sorted_and_fail_the_build(findings: list[Finding]) -> None:
    assert findings == sorted(findings, key=lambda f: f.sort_key)
    assert has_errors(findings)
    assert all(f.file == str(REFERENCE) for f in findings)


def test_single_story_for_the_webhook_service(backlog: Backlog) -> None:
    found = run_rules(backlog, RulesConfig(select=("dor", "invest")), only_items={"US-001"})
    assert [(f.rule, f.severity) for f in found] == [
        ("invest.small", Severity.warning),
        ("invest.negotiable", Severity.info),
    ]


def test_inline_suppression_silences_a_story() -> None:
    text = REFERENCE.read_text(encoding="utf-8").replace(
        "**Story ID:** US-001\n",
        "**Story ID:** US-001\n<!-- backlog-bot: ignore invest.small, estimate -->\n",
    )
    found = run_rules(parse_text(text, source="bss.md"), only_items={"US-001"})
    assert [f.rule for f in found] == ["invest.negotiable"]


def test_config_suppressions_and_severities(backlog: Backlog) -> None:
    config = RulesConfig.from_mapping(
        {
            "ignore": ["estimate"],
            "severity": {"invest": "error", "invest.negotiable": "info"},
            "per-item-ignores": {"US-008": ["invest"]},
        }
    )
    found = run_rules(backlog, config)
    assert not by_rule(found, "estimate.points-hours")
    small = by_rule(found, "invest.small")
    assert "US-008" not in {f.item for f in small}
    assert {f.severity for f in small} == {Severity.error}
    assert {f.severity for f in by_rule(found, "invest.negotiable")} == {Severity.info}


def test_dod_on_a_live_issue_uses_the_documents_definition(backlog: Backlog) -> None:
    from rules.live import CheckRun, LiveIssue, PullRequestSnapshot
    from rules.runner import check_live_issue

    issue = LiveIssue(
        key="BSS-12",
        story_id="US-001",
        done=True,
        pull_requests=(
            PullRequestSnapshot(
                number=7,
                merged=True,
                approvals=1,
                checks=(CheckRun(name="ci", conclusion="success"),),
                coverage_pct=79.5,
                changed_files=("src/collector.py",),
            ),
        ),
    )
    found = check_live_issue(issue, backlog)
    assert [(f.rule, f.item, f.line) for f in found] == [
        ("dod.coverage", "US-001", 40),
        ("dod.reviewed", "US-001", 40),
        ("dod.docs-updated", "US-001", 40),
    ]
    messages = {f.rule: f.message for f in found}
    assert messages["dod.reviewed"] == (
        "BSS-12 (US-001) is done but pull request #7 was merged with 1 approval; the "
        'Definition of Done item "Code implemented and reviewed (2 approvals)" (line 2039) '
        "asks for 2"
    )
    assert "79.5% coverage, below the 80% of" in messages["dod.coverage"]
    assert '"Documentation updated" (line 2044)' in messages["dod.docs-updated"]
