"""Story table columns backlog-bot has no field for are reported, one note per column.

A property: extra columns anywhere in a story table change nothing that is read, and each
one is reported exactly once, at the table's line (``document.unread-column``).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backlog.parse import parse_text
from rules.runner import run_rules
from tests.test_parse_shapes import stories

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EXTRA = ["Owner", "Assignee", "Score", "Rank", "GitHub Issue", "Evidence", "Why Cut"]
HEADER = ["ID", "User Story", "Points", "Priority"]

Row = tuple[str, str, int | None, str]


def story_table(rows: list[Row], extra: dict[str, int]) -> str:
    """A backlog with one story table; ``extra`` columns inserted at the given positions."""

    def widen(values: list[str], fill: bool) -> list[str]:
        out = list(values)
        for name, position in sorted(extra.items(), key=lambda item: -item[1]):
            out.insert(min(position, len(out)), f"{name.lower()} value" if fill else name)
        return out

    header = widen(HEADER, fill=False)
    lines = ["# Backlog", "", "| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    for story_id, title, points, priority in rows:
        values = [story_id, title, "" if points is None else str(points), priority]
        lines.append("| " + " | ".join(widen(values, fill=True)) + " |")
    return "\n".join([*lines, ""])


@SETTINGS
@given(
    rows=stories(),
    extra=st.dictionaries(st.sampled_from(EXTRA), st.integers(0, len(HEADER)), max_size=3),
)
def test_extra_columns_change_nothing_and_are_reported_once(
    rows: list[Row], extra: dict[str, int]
) -> None:
    plain = parse_text(story_table(rows, {}), source="b.md")
    wide = parse_text(story_table(rows, extra), source="b.md")
    assert list(wide.stories) == list(plain.stories)
    assert plain.reader_notes == ()
    notes = sorted((n.kind, n.item, n.line) for n in wide.reader_notes)
    assert notes == sorted(("unread-column", name, 3) for name in extra)
    findings = [f for f in run_rules(wide) if f.rule == "document.unread-column"]
    assert [(f.line, f.severity.value) for f in findings] == [(3, "warning")] * len(extra)


def test_columns_of_tables_that_are_not_story_tables_are_not_reported() -> None:
    text = (
        "# Backlog\n\n### US-001: Log in\n\n**Story Points:** 3\n\n"
        "## Team Capacity\n\n| Role | Availability | Hours/Week | Sprint | Favourite Colour |\n"
        "|---|---|---|---|---|\n| Backend | 100% | 40 | 80 | blue |\n"
    )
    assert parse_text(text, source="b.md").reader_notes == ()


def test_second_criteria_column_is_reported() -> None:
    text = (
        "# Backlog\n\n| User Story ID | Capability | Acceptance Criteria 1 | "
        "Acceptance Criteria 2 |\n|---|---|---|---|\n| US-1 | Log in | works | is fast |\n"
    )
    backlog = parse_text(text, source="b.md")
    assert [(n.item, n.line) for n in backlog.reader_notes] == [
        ("Capability", 3),
        ("Acceptance Criteria 2", 3),
    ]
    criteria = backlog.stories[0].acceptance_criteria
    assert criteria is not None and criteria.raw == "works"
