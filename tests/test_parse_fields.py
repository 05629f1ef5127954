"""Inline field readers of the parser: hours, roles and bold labels (backlog.markdown.fields)."""

from __future__ import annotations

import pytest

from backlog.markdown.fields import label_name, parse_roles, split_hours


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Build form (8 hrs) - Frontend", ("Build form", 8.0, "8 hrs", " - Frontend")),
        ("Retry (3 hrs) then (2.5 h): QA", ("Retry (3 hrs) then", 2.5, "2.5 h", ": QA")),
        ("Title (draft) (~4 hours)", ("Title (draft)", 4.0, "~4 hours", "")),
        ("Title (TBD) - Backend", ("Title (TBD) - Backend", None, None, "")),
        ("  No hours at all  ", ("No hours at all", None, None, "")),
        ("Multi\nline (1 hr)", ("Multi\nline", 1.0, "1 hr", "")),
    ],
)
def test_split_hours_takes_the_last_hours_group(
    text: str, expected: tuple[str, float | None, str | None, str]
) -> None:
    assert split_hours(text) == expected


def test_parse_roles_is_stable_across_calls() -> None:
    first = parse_roles("DevOps/Backend (lead) + QA")
    assert first == ("DevOps", "Backend", "QA")
    assert parse_roles("DevOps/Backend (lead) + QA") == first
    assert parse_roles("(none)") == ()


@pytest.mark.parametrize(
    ("label", "expected"),
    [("Story  Points:", "story points"), ("PRIORITY", "priority"), (" Tasks : ", "tasks")],
)
def test_label_name(label: str, expected: str) -> None:
    assert label_name(label) == expected
    assert label_name(label) == expected  # memoised answer is the same
