"""How a backlog's priority text names a Jira priority."""

from __future__ import annotations

import pytest

from sync.jira.mapping import DEFAULT_PRIORITIES, jira_priority


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Critical", "Highest"),
        ("critical (Must Have)", "Highest"),
        ("High (Must Have)", "High"),
        ("Medium/Should", "Medium"),
        ("P0", "Highest"),
        ("P2 - later", "Medium"),
        ("  low ", "Low"),
        ("Must Have", None),
        ("Urgent", None),
        ("", None),
        (None, None),
    ],
)
def test_jira_priority_reads_the_whole_text_then_its_first_word(
    text: str | None, expected: str | None
) -> None:
    assert jira_priority(text, DEFAULT_PRIORITIES) == expected
