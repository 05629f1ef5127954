"""Every rule: a flagged example and the clean example, on hand-built models."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from backlog.model import (
    AcceptanceCriteria,
    Backlog,
    BufferItem,
    CapacityCheckLine,
    ChecklistItem,
    Definition,
    Dependency,
    DependencyRow,
    GherkinStep,
    ReaderNote,
    SprintCommitment,
    Task,
    UnreadBlock,
    UserStory,
    VelocityRecord,
)
from rules.base import Severity
from rules.config import RulesConfig
from rules.live import (
    ChecklistEntry,
    CheckRun,
    LiveIssue,
    LiveSubtask,
    PullRequestSnapshot,
)
from rules.registry import load_rules
from rules.runner import run_rules
from tests.rules_factories import DOR, clean_backlog, criteria, depends_on, story

CLEAN_PR = PullRequestSnapshot(
    number=12,
    merged=True,
    state="closed",
    approvals=2,
    checks=(CheckRun(name="tests", conclusion="success"),),
    coverage_pct=86.5,
    changed_files=("src/invoices.py", "docs/invoices.md"),
)
CLEAN_ISSUE = LiveIssue(
    key="BSS-1",
    story_id="US-001",
    done=True,
    pull_requests=(CLEAN_PR,),
    subtasks=(LiveSubtask(key="BSS-2", title="API", done=True),),
    checklist=(ChecklistEntry(text="invoices listed", checked=True),),
)


def live(**changes: object) -> tuple[LiveIssue, ...]:
    from dataclasses import replace

    return (replace(CLEAN_ISSUE, **changes),)  # type: ignore[arg-type]


def pr(**changes: object) -> tuple[PullRequestSnapshot, ...]:
    from dataclasses import replace

    return (replace(CLEAN_PR, **changes),)  # type: ignore[arg-type]


def with_story(**changes: object) -> Backlog:
    """The clean backlog with US-001 changed."""
    return clean_backlog(
        story("US-001", 100, **changes), story("US-002", 130, **depends_on("US-001"))
    )


def with_sprint(number: int, **changes: object) -> Backlog:
    base = clean_backlog()
    sprints = tuple(s.replace(**changes) if s.number == number else s for s in base.sprints)
    return base.replace(sprints=sprints)


def five_stories() -> Backlog:
    stories = [story(f"US-00{n}", 100 + 30 * n) for n in range(1, 5)]
    stories.append(story("US-005", 300, **depends_on("US-001", "US-002", "US-003", "US-004")))
    return clean_backlog(*stories)


def both_in_sprint_one() -> Backlog:
    base = clean_backlog()
    sprint = base.sprints[0].replace(
        capacity_points=20,
        overview_points=16,
        committed=(
            SprintCommitment(story_id="US-001", points=8, line=520),
            SprintCommitment(story_id="US-002", points=8, line=521),
        ),
    )
    return base.replace(sprints=(sprint,))


@dataclass(frozen=True)
class Case:
    rule: str
    build: Callable[[], Backlog]
    expect: str
    item: str
    live: tuple[LiveIssue, ...] = ()
    severity: Severity | None = None


CASES = [
    Case("dor.prioritized", lambda: with_story(priority=None), "US-001 has no priority", "US-001"),
    Case(
        "dor.user-story",
        lambda: with_story(user_story=UserStory(text="Implement caching")),
        "user story without a role or want",
        "US-001",
    ),
    Case(
        "dor.acceptance-criteria",
        lambda: with_story(acceptance_criteria=None),
        "has no acceptance criteria",
        "US-001",
    ),
    Case(
        "dor.dependencies",
        lambda: with_story(dependencies_raw=None, dependencies=()),
        "has no Dependencies field",
        "US-001",
    ),
    Case("dor.technical-approach", lambda: with_story(tasks=()), "has no tasks", "US-001"),
    Case(
        "dor.estimated",
        lambda: with_story(points=None, points_raw="TBD"),
        'has no story points ("TBD" is not a number)',
        "US-001",
    ),
    Case(
        "dor.capacity",
        lambda: with_story(tasks=(Task(title="Big", hours=70, roles=("Backend",)),)),
        "needs 70 h of Backend Developer work but the Backend Developer has 60 h per sprint",
        "US-001",
    ),
    Case(
        "dor.unchecked",
        lambda: clean_backlog(
            definition_of_ready=DOR.replace(
                items=(*DOR.items, ChecklistItem(text="Architecture board", line=957))
            )
        ),
        '"Architecture board" is not checked automatically',
        "definition-of-ready",
    ),
    Case(
        "invest.independent",
        five_stories,
        "US-005 depends on 4 stories ('US-001, US-002, US-003, US-004')",
        "US-005",
    ),
    Case(
        "invest.negotiable",
        lambda: with_story(
            acceptance_criteria=criteria(
                "Redis cluster deployed on Kubernetes", "values.yaml sets maxmemory", "fast reads"
            )
        ),
        "2 of 3 Then-items name an implementation (Redis, Kubernetes, values.yaml)",
        "US-001",
    ),
    Case(
        "invest.valuable",
        lambda: with_story(
            user_story=UserStory(text="As a customer, I want X", role="customer", want="X")
        ),
        'has no "so that" benefit',
        "US-001",
    ),
    Case(
        "invest.estimable",
        lambda: with_story(tasks=(Task(title="Build invoice API", roles=("Backend",)),)),
        '1 of 1 tasks have no hours ("Build invoice API")',
        "US-001",
    ),
    Case(
        "invest.estimable",
        lambda: with_story(points=None, points_raw="XL-ish", points_line=40),
        'US-001: could not read the estimate "XL-ish" at line 40',
        "US-001",
    ),
    Case(
        "invest.small",
        lambda: with_story(points=21),
        "US-001 has 21 points: the estimation guide says 21 = Epic (48-64 h) (line 905)",
        "US-001",
    ),
    Case(
        "invest.testable",
        lambda: with_story(
            acceptance_criteria=AcceptanceCriteria(
                steps=(GherkinStep(keyword="Then", text="it works"),), raw="Then it works"
            )
        ),
        "not in Given/When/Then form (only Then)",
        "US-001",
    ),
    Case(
        "invest.testable",
        lambda: with_story(acceptance_criteria=criteria("the page works well", "PDF in 2 s")),
        '"the page works well" is vague ("works well")',
        "US-001",
        severity=Severity.info,
    ),
    Case(
        "estimate.scale",
        lambda: with_story(points=10),
        "US-001 has 10 points, not a value of the estimation guide (line 900): 1, 3, 5, 8, 13, 21",
        "US-001",
    ),
    Case(
        "estimate.points-hours",
        lambda: with_story(points=13),
        "US-001 has 13 points but its 3 tasks add up to 24 h; the estimation guide says "
        "13 = 32-48 h (line 904)",
        "US-001",
    ),
    Case(
        "capacity.points",
        lambda: with_sprint(1, capacity_points=5),
        "sprint 1 commits 8 points (US-001 8) against a capacity of 5 points, 3 over",
        "sprint-1",
    ),
    Case(
        "capacity.velocity",
        lambda: clean_backlog(velocity_history=(VelocityRecord(sprint="1", velocity=6),)),
        "sprint 1 commits 8 points but historical velocity averages 6.0 (range 6-6 over 1 sprints)",
        "sprint-1",
    ),
    Case(
        "capacity.role-hours",
        lambda: with_story(tasks=(Task(title="Big", hours=61, roles=("Backend",)),)),
        "sprint 1 needs 61 h of Backend Developer work (US-001 61) but the Backend Developer "
        "has 60 h per sprint (line 11), 1 h over",
        "sprint-1",
    ),
    Case(
        "consistency.epic-points",
        lambda: clean_backlog().replace(epics=(clean_backlog().epics[0].replace(points=20),)),
        "EPIC-001 declares 20 points but its 2 stories add up to 16 (+4 points unaccounted for)",
        "EPIC-001",
    ),
    Case(
        "consistency.total-points",
        lambda: clean_backlog(declared_total_points=30),
        "declares 30 total story points but its 2 stories add up to 16",
        "backlog",
    ),
    Case(
        "consistency.sprint-points",
        lambda: with_sprint(1, overview_points=13),
        "the sprint overview gives sprint 1 13 points but it commits 8 (8 in stories)",
        "sprint-1",
    ),
    Case(
        "consistency.sprint-points",
        lambda: clean_backlog(sprint_overview_total_points=21),
        "the sprint overview states a total of 21 points but its rows add up to 16",
        "sprint-overview",
    ),
    Case(
        "consistency.stated-hours",
        lambda: with_sprint(
            1,
            capacity_check=(
                CapacityCheckLine(role="Backend", addends=(10, 3), stated_total=13, line=530),
            ),
        ),
        "sprint 1 capacity check states 13 h for Backend but the committed stories' Backend "
        "Developer tasks add up to 12 h (US-001 12)",
        "sprint-1",
    ),
    Case(
        "consistency.stated-hours",
        lambda: with_sprint(
            1,
            capacity_check=(
                CapacityCheckLine(role="Backend", addends=(10, 3), stated_total=12, line=530),
            ),
        ),
        "sprint 1 capacity check: Backend 10 + 3 is 13, not 12",
        "sprint-1",
    ),
    Case(
        "consistency.stated-hours",
        lambda: with_sprint(
            1, committed=(SprintCommitment(story_id="US-001", points=8, stated_total_hours=20),)
        ),
        "sprint 1 states 20 h for US-001 but its tasks add up to 24 h (line 100)",
        "US-001",
    ),
    Case(
        "consistency.dependency-mismatch",
        lambda: clean_backlog(
            dependency_matrix=(
                DependencyRow(
                    story_id="US-002",
                    depends_on_raw="None",
                    depends_on=(Dependency(raw="None", kind="none"),),
                    line=850,
                ),
            )
        ),
        "US-002's Dependencies field says 'US-001' but the dependency matrix (line 850) "
        "says 'None'",
        "US-002",
    ),
    Case(
        "consistency.blocks-mismatch",
        lambda: clean_backlog(
            dependency_matrix=(DependencyRow(story_id="US-002", blocks=("US-001",), line=851),)
        ),
        "says US-002 blocks US-001, but US-001 does not depend on US-002",
        "US-001",
    ),
    Case(
        "dependency.unknown",
        lambda: clean_backlog(
            story("US-001", 100), story("US-002", 130, **depends_on("US-001", "US-099"))
        ),
        "US-002 depends on US-099 (Dependencies field), which the backlog does not define",
        "US-002",
    ),
    Case(
        "dependency.cycle",
        lambda: clean_backlog(
            story("US-001", 100, **depends_on("US-002")),
            story("US-002", 130, **depends_on("US-001")),
        ),
        "dependency cycle: US-001 -> US-002 -> US-001",
        "US-001",
    ),
    Case(
        "dependency.order",
        lambda: clean_backlog(story("US-002", 130, **depends_on("US-001")), story("US-001", 100)),
        "US-002 is planned in sprint 1 but depends on US-001, planned in sprint 2",
        "US-002",
    ),
    Case(
        "dependency.same-sprint",
        both_in_sprint_one,
        "US-002 depends on US-001, planned in the same sprint 1",
        "US-002",
    ),
    Case(
        "plan.unscheduled",
        lambda: clean_backlog().replace(sprints=clean_backlog().sprints[:1]),
        "US-002 (8 points) is in no sprint of the plan (1 sprints)",
        "US-002",
    ),
    Case(
        "plan.unknown-story",
        lambda: with_sprint(
            2,
            committed=(
                SprintCommitment(story_id="US-002", points=8),
                SprintCommitment(story_id="US-099", points=0, line=545),
            ),
        ),
        "sprint 2 commits US-099, which the backlog does not define",
        "sprint-2",
    ),
    Case(
        "document.unparsed",
        lambda: clean_backlog(
            unread=(
                UnreadBlock(line=54, end_line=59, what="section", context='"MVP Scope"', lines=5),
            )
        ),
        'lines 54-59 (section "MVP Scope", 5 lines) not understood: not read into the backlog',
        "document",
    ),
    Case(
        "document.generated-id",
        lambda: clean_backlog(
            reader_notes=(
                ReaderNote(
                    kind="generated-id",
                    item="US-3",
                    message="story 'User Story 3:' has no id; using the generated id US-3",
                    line=12,
                ),
            )
        ),
        "story 'User Story 3:' has no id; using the generated id US-3",
        "US-3",
    ),
    Case(
        "document.unread-column",
        lambda: clean_backlog(
            reader_notes=(
                ReaderNote(
                    kind="unread-column",
                    item="Owner",
                    message="column 'Owner' of the story table at line 3 is not read: its "
                    "cells are not imported",
                    line=3,
                ),
            )
        ),
        "column 'Owner' of the story table at line 3 is not read: its cells are not imported",
        "document",
    ),
    Case(
        "dod.reviewed",
        clean_backlog,
        "BSS-1 (US-001) is done but pull request #12 was merged with 1 approval; the Definition "
        'of Done item "Code implemented and reviewed (2 approvals)" (line 960) asks for 2',
        "US-001",
        live=live(pull_requests=pr(approvals=1)),
    ),
    Case(
        "dod.reviewed",
        clean_backlog,
        "BSS-1 (US-001) is done but its pull request #12 is not merged",
        "US-001",
        live=live(pull_requests=pr(merged=False, state="open")),
    ),
    Case(
        "dod.checks-green",
        clean_backlog,
        "pull request #12 has required checks that are not green (tests: failure)",
        "US-001",
        live=live(pull_requests=pr(checks=(CheckRun(name="tests", conclusion="failure"),))),
    ),
    Case(
        "dod.coverage",
        clean_backlog,
        "pull request #12 has 72.5% coverage, below the 80% of the Definition of Done item "
        '"Unit tests written (80% coverage minimum)" (line 961)',
        "US-001",
        live=live(pull_requests=pr(coverage_pct=72.5)),
    ),
    Case(
        "dod.subtasks-done",
        clean_backlog,
        "1 of 2 sub-tasks are open (BSS-3 'Docs')",
        "US-001",
        live=live(subtasks=(LiveSubtask("BSS-2", "API", True), LiveSubtask("BSS-3", "Docs"))),
    ),
    Case(
        "dod.acceptance-checked",
        clean_backlog,
        "1 of 1 acceptance items are not ticked (first: 'invoices listed')",
        "US-001",
        live=live(checklist=(ChecklistEntry("invoices listed"),)),
    ),
    Case(
        "document.unused-ignore",
        lambda: clean_backlog(
            story("US-001", 100, suppressions=("invest.smal",)),
            story("US-002", 130, **depends_on("US-001")),
        ),
        "US-001: the inline ignore 'invest.smal' names no rule",
        "US-001",
    ),
    Case(
        "dod.docs-updated",
        clean_backlog,
        "its merged pull requests change 1 files and none is documentation",
        "US-001",
        live=live(pull_requests=pr(changed_files=("src/invoices.py",))),
    ),
    Case(
        "dod.unchecked",
        lambda: clean_backlog(
            definition_of_done=Definition(items=(ChecklistItem(text="Deployed to staging"),))
        ),
        'the Definition of Done item "Deployed to staging" is not checked automatically',
        "definition-of-done",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.rule}:{c.expect[:30]}")
def test_rule_flags_its_example(case: Case) -> None:
    config = RulesConfig(select=(case.rule,), preview=True)
    findings = run_rules(case.build(), config, case.live)
    matching = [f for f in findings if case.expect in f.message]
    assert matching, [f.message for f in findings]
    finding = matching[0]
    assert finding.rule == case.rule
    assert finding.item == case.item
    assert finding.severity == (case.severity or load_rules()[case.rule].severity)


@pytest.mark.parametrize("rule_id", sorted(load_rules()))
def test_rule_is_silent_on_the_clean_example(rule_id: str) -> None:
    config = RulesConfig(select=(rule_id,), preview=True)
    assert run_rules(clean_backlog(), config, (CLEAN_ISSUE,)) == []


def test_every_rule_has_a_flagged_case() -> None:
    assert {case.rule for case in CASES} == set(load_rules())


def test_an_inline_ignore_that_silences_nothing_is_reported() -> None:
    backlog = clean_backlog(
        story("US-001", 100, suppressions=("invest.small", "dor.estimated")),
        story("US-002", 130, **depends_on("US-001"), points=21, points_raw="21"),
    )
    config = RulesConfig(select=("invest", "document.unused-ignore"))
    found = [(f.rule, f.item, f.message) for f in run_rules(backlog, config)]
    assert (
        "document.unused-ignore",
        "US-001",
        "US-001: the inline ignore 'invest.small' silences nothing (invest.small found "
        "nothing here)",
    ) in found
    # dor.estimated did not run (not selected): its ignore is not judged.
    assert not any("dor.estimated" in message for _, _, message in found)
    # The same ignore on a story the rule flags is used, and so not reported.
    flagged = clean_backlog(
        story("US-001", 100),
        story("US-002", 130, **depends_on("US-001"), points=21, points_raw="21",
              suppressions=("invest.small",)),
    )  # fmt: skip
    assert [f.rule for f in run_rules(flagged, config)] == []


def test_dod_checks_only_issues_being_closed() -> None:
    open_issue = live(done=False, pull_requests=())
    assert run_rules(clean_backlog(), RulesConfig(select=("dod",)), open_issue) == []


def test_dod_defaults_without_a_definition_of_done() -> None:
    backlog = clean_backlog(definition_of_done=None)
    findings = run_rules(backlog, RulesConfig(select=("dod",)), live(pull_requests=()))
    assert [f.message for f in findings] == [
        "BSS-1 (US-001) is done but has no linked pull request (the default Definition of "
        "Done (a linked pull request merged with approvals))"
    ]


def test_dor_rules_follow_the_document_definition() -> None:
    """A DoR without an estimate item: an unestimated story is not a DoR finding."""
    only_priority = Definition(items=(ChecklistItem(text="Story prioritized", line=3),))
    backlog = clean_backlog(
        story("US-001", 100, points=None), definition_of_ready=only_priority
    ).replace(dependency_matrix=())
    findings = run_rules(backlog, RulesConfig(select=("dor",)))
    assert findings == []


def test_buffer_items_count_towards_sprint_points() -> None:
    backlog = with_sprint(1, buffer_items=(BufferItem(title="Spillover", points=13),))
    findings = run_rules(backlog, RulesConfig(select=("capacity.points",)))
    assert [f.message for f in findings] == [
        "sprint 1 commits 21 points (US-001 8 and 13 buffer points) against a capacity of "
        "20 points, 1 over"
    ]


def test_multi_role_tasks_split_their_hours() -> None:
    backlog = with_story(tasks=(Task(title="Pair", hours=130, roles=("Backend", "QA")),))
    findings = run_rules(backlog, RulesConfig(select=("capacity.role-hours",)))
    assert [f.message.split(" (")[0] for f in findings] == [
        "sprint 1 needs 65 h of Backend Developer work",
        "sprint 1 needs 65 h of QA Engineer work",
    ]


def test_unknown_task_role_is_reported() -> None:
    backlog = with_story(tasks=(Task(title="Design", hours=8, roles=("Designer",)),))
    findings = run_rules(backlog, RulesConfig(select=("capacity.role-hours", "dor.capacity")))
    assert sorted((f.rule, f.severity) for f in findings) == [
        ("capacity.role-hours", Severity.warning),
        ("dor.capacity", Severity.warning),
    ]
