"""Ordinary variation of hand-written backlogs reads into the same model."""

from __future__ import annotations

import re
from typing import Any

import pytest

from backlog.model import Backlog
from backlog.parse import parse_text

BASE = """\
# Demo Backlog

**Total Story Points:** 5

## Team Composition & Capacity

| Role | Availability | Weekly Hours | Sprint Capacity (2 weeks) |
|------|-------------|--------------|---------------------------|
| Backend Developer | 50% | 20 hrs | 40 hrs |
| Frontend Developer | 25% | 10 hrs | 20 hrs |

# EPIC 1: Checkout

## Epic Overview
**Epic ID:** EPIC-001
**Story Points:** 5

## User Stories

### Story 1.1: Pay by card
**Story ID:** US-001
**Story Points:** 5
**Priority:** High
**Dependencies:** None

**User Story:**
> As a shopper, I want to pay by card so that I can check out quickly.

**Acceptance Criteria:**
```gherkin
Given a cart with items
When I pay by card
Then I should see:
  - a receipt
  - an order number
```

**Tasks:**
1. **Build payment form** (8 hrs) - Frontend
   - Card fields
2. **Call payment API** (4 hrs) - Backend

**Subtasks:**
- Subtask 1.1.1: Validate card number (2 hrs)

# SPRINT PLANNING

## Sprint 1 (Weeks 1-2): Checkout

**Sprint Goal:** Ship card payments
**Capacity:** 20 story points

### Committed Stories:
1. **US-001: Pay by card** (5 pts) - Frontend/Backend
   - Build payment form (8 hrs) - Frontend
   - **Total: 12 hrs** - Frontend + Backend

**Sprint Capacity Check:**
- Backend: 4 = **4 hrs** (within 40 hrs)
"""


def essentials(backlog: Backlog) -> dict[str, Any]:
    """What every variant must agree on (line numbers aside)."""
    (story,) = backlog.stories
    criteria = story.acceptance_criteria
    sprint = backlog.sprints[0]
    return {
        "declared": backlog.declared_total_points,
        "roles": [(r.name, r.sprint_hours) for r in backlog.team.roles],
        "epic": (backlog.epics[0].id, backlog.epics[0].points),
        "story": (story.id, story.points, story.priority, story.number),
        "deps": [d.kind for d in story.dependencies],
        "user_story": story.user_story and (story.user_story.role, story.user_story.benefit),
        "then": criteria.then_items if criteria else None,
        "tasks": [(t.title, t.hours, t.roles, t.details) for t in story.tasks],
        "subtasks": [(s.number, s.title, s.hours) for s in story.subtasks],
        "sprint": (sprint.number, sprint.weeks, sprint.goal, sprint.capacity_points),
        "committed": [
            (c.story_id, c.points, c.roles, c.stated_total_hours) for c in sprint.committed
        ],
        "check": [(c.role, c.addends, c.stated_total, c.limit) for c in sprint.capacity_check],
    }


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    result = essentials(parse_text(BASE))
    assert result["tasks"] == [
        ("Build payment form", 8.0, ("Frontend",), ("Card fields",)),
        ("Call payment API", 4.0, ("Backend",), ()),
    ]
    assert result["then"] == ("a receipt", "an order number")
    assert result["user_story"] == ("shopper", "I can check out quickly")
    return result


def test_crlf_line_endings(expected: dict[str, Any]) -> None:
    backlog = parse_text(BASE.replace("\n", "\r\n"))
    assert essentials(backlog) == expected
    assert backlog.stories[0].line == parse_text(BASE).stories[0].line


def test_colon_outside_the_bold_label(expected: dict[str, Any]) -> None:
    text = re.sub(r"\*\*([A-Za-z ]+):\*\* ", r"**\1**: ", BASE)
    assert "**Story Points**: 5" in text
    assert essentials(parse_text(text)) == expected


def test_colon_inside_bold_label_with_value(expected: dict[str, Any]) -> None:
    text = BASE.replace("**Story Points:** 5\n**Priority", "**Story Points: 5**\n**Priority")
    assert essentials(parse_text(text)) == expected


@pytest.mark.parametrize("dash", ["-", "–", "—"])
def test_dash_separators(expected: dict[str, Any], dash: str) -> None:
    text = BASE.replace(") - ", f") {dash} ").replace("Story 1.1: Pay", f"Story 1.1 {dash} Pay")
    text = text.replace("# EPIC 1: Checkout", f"# EPIC 1 {dash} Checkout")
    backlog = parse_text(text)
    assert essentials(backlog) == expected
    assert backlog.stories[0].title == "Pay by card"


@pytest.mark.parametrize("unit", ["hrs", "hr", "h", "hours", "Hrs", "hour"])
def test_hour_units(expected: dict[str, Any], unit: str) -> None:
    text = BASE.replace("(8 hrs)", f"(8 {unit})").replace("(2 hrs)", f"(2{unit})")
    assert essentials(parse_text(text)) == expected


def test_heading_case(expected: dict[str, Any]) -> None:
    text = (
        BASE.replace("# EPIC 1: Checkout", "# Epic 1: checkout")
        .replace("### Story 1.1", "### STORY 1.1")
        .replace("## Sprint 1 (Weeks", "## SPRINT 1 (weeks")
        .replace("## Team Composition & Capacity", "## team composition & capacity")
        .replace("### Committed Stories:", "### COMMITTED STORIES")
    )
    assert essentials(parse_text(text)) == expected


def test_extra_blank_lines(expected: dict[str, Any]) -> None:
    text = BASE.replace("\n", "\n\n").replace("|\n\n|", "|\n|")
    # Blank lines between the fence lines would change its content; keep the fence intact.
    fence = BASE[BASE.index("```gherkin") : BASE.index("```\n\n**Tasks") + 3]
    text = text.replace("\n\n".join(fence.split("\n")), fence)
    assert essentials(parse_text(text)) == expected


@pytest.mark.parametrize("opening", ["```", "```gherkin", "~~~", "~~~ gherkin", "````feature"])
def test_fences_with_or_without_language(expected: dict[str, Any], opening: str) -> None:
    closing = opening.split(" ")[0].removesuffix("gherkin").removesuffix("feature")
    text = BASE.replace("```gherkin", opening).replace("```\n\n**Tasks", f"{closing}\n\n**Tasks")
    assert essentials(parse_text(text)) == expected


def test_unicode_text_and_line_numbers() -> None:
    text = BASE.replace("Pay by card", "Bezahlen mit Karte 💳 统一管理").replace(
        "Card fields", "Kartenfelder — ñandú"
    )
    text = text.replace("# Demo Backlog", "# Démo Backlog ✓\n\n> 统一管理 🚀 ünïcödé")
    backlog = parse_text(text)
    story = backlog.stories[0]
    assert story.title == "Bezahlen mit Karte 💳 统一管理"
    assert story.tasks[0].details == ("Kartenfelder — ñandú",)
    lines = text.split("\n")
    assert lines[story.line - 1].startswith("### Story 1.1")
    assert lines[story.tasks[1].line - 1].startswith("2. **Call payment API**")
    assert backlog.title == "Démo Backlog ✓"


def test_tasks_without_bold_and_roles_with_slash() -> None:
    text = BASE.replace(
        "1. **Build payment form** (8 hrs) - Frontend", "1. Build payment form (8h): Frontend/QA"
    )
    task = parse_text(text).stories[0].tasks[0]
    assert (task.title, task.hours, task.roles) == ("Build payment form", 8, ("Frontend", "QA"))


def test_sub_headings_as_labels(expected: dict[str, Any]) -> None:
    text = BASE.replace("**Tasks:**", "#### Tasks").replace("**Subtasks:**", "#### Subtasks")
    assert essentials(parse_text(text)) == expected


def test_points_tbd_kept_raw() -> None:
    text = BASE.replace("**Story Points:** 5\n**Priority", "**Story Points:** TBD\n**Priority")
    story = parse_text(text).stories[0]
    assert story.points is None
    assert story.points_raw == "TBD"


def test_unknown_section_is_kept() -> None:
    text = BASE + "\n# Glossary\n\nA **spike** is a time-boxed investigation.\n"
    backlog = parse_text(text)
    glossary = backlog.other_sections[-1]
    assert (glossary.heading, glossary.level) == ("Glossary", 1)
    assert glossary.text == "A **spike** is a time-boxed investigation."
    assert text.split("\n")[glossary.line - 1] == "# Glossary"


def test_inline_suppressions() -> None:
    text = BASE.replace(
        "**Priority:** High",
        "**Priority:** High\n\n<!-- backlog-bot: ignore invest.small, dor.estimated -->\n",
    )
    assert parse_text(text).stories[0].suppressions == ("invest.small", "dor.estimated")
    text = BASE.replace("**Tasks:**", "<!-- backlog-bot: ignore all -->\n\n**Tasks:**")
    story = parse_text(text).stories[0]
    assert story.suppressions == ("*",)
    assert len(story.tasks) == 2


def test_checklist_acceptance_criteria() -> None:
    fence = BASE[BASE.index("```gherkin") : BASE.index("```\n\n**Tasks") + 3]
    text = BASE.replace(fence, "- [ ] Receipt is shown\n- [x] Order number is emailed")
    criteria = parse_text(text).stories[0].acceptance_criteria
    assert criteria is not None and not criteria.is_gherkin
    assert [(c.text, c.checked) for c in criteria.checklist] == [
        ("Receipt is shown", False),
        ("Order number is emailed", True),
    ]


def test_dependency_forms() -> None:
    text = BASE.replace(
        "**Dependencies:** None", "**Dependencies:** US-007 (needs API), EPIC-002 completed"
    )
    deps = parse_text(text).stories[0].dependencies
    assert [(d.kind, d.target, d.qualifier, d.raw) for d in deps] == [
        ("story", "US-007", None, "US-007 (needs API)"),
        ("epic", "EPIC-002", "completed", "EPIC-002 completed"),
    ]


def test_story_outside_any_epic() -> None:
    story_part = BASE[BASE.index("### Story 1.1") : BASE.index("# SPRINT PLANNING")]
    backlog = parse_text("# Loose\n\n" + story_part)
    (epic,) = backlog.epics
    assert epic.id == "NO-EPIC"
    assert [s.id for s in epic.stories] == ["US-001"]
    assert epic.stories[0].epic_id is None


def test_story_heading_with_the_id_first(expected: dict[str, Any]) -> None:
    text = BASE.replace("### Story 1.1: Pay by card", "### US-001: Pay by card")
    backlog = parse_text(text)
    story = backlog.stories[0]
    assert (story.id, story.title, story.number) == ("US-001", "Pay by card", None)


def test_sprint_weeks_after_the_name(expected: dict[str, Any]) -> None:
    text = BASE.replace("## Sprint 1 (Weeks 1-2): Checkout", "## Sprint 1: Checkout (Weeks 1-2)")
    sprint = parse_text(text).sprints[0]
    assert (sprint.number, sprint.name, sprint.weeks) == (1, "Checkout", "1-2")
    assert essentials(parse_text(text)) == expected
