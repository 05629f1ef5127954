"""The three-way merge of one field: properties over any values, and the policies."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backlog.errors import ConfigurationError
from sync.merge import FieldMerge, conflict_policy

values = st.one_of(st.none(), st.integers(0, 40), st.sampled_from(["High", "Low", "Medium"]))


@given(values, values, values)
def test_origin_says_which_side_moved_away_from_the_base(base, file, tracker) -> None:
    merge = FieldMerge("jira", "US-1", "points", base, file, tracker)
    same = {"same": file == tracker}
    if file == tracker:
        assert merge.origin == "same" and merge.action() == "none"
    elif tracker == base:
        assert merge.origin == "file" and merge.action() == "push"
    elif file == base:
        assert merge.origin == "tracker" and merge.action() == "pull"
    else:
        assert merge.origin == "both" and merge.action() == "conflict", same
        assert merge.action("file-wins") == "push"
        assert merge.action("tracker-wins") == "pull"


@given(values, values)
def test_a_one_sided_change_never_depends_on_the_policy(base, changed) -> None:
    for policy in ("report", "file-wins", "tracker-wins"):
        assert FieldMerge("github", "US-1", "points", base, changed, base).action(policy) in (
            "push",
            "none",
        )
        assert FieldMerge("github", "US-1", "points", base, base, changed).action(policy) in (
            "pull",
            "none",
        )


def test_values_compare_by_meaning_not_by_spelling() -> None:
    assert FieldMerge("jira", "US-1", "points", 8, "13", 13.0).origin == "same"
    assert FieldMerge("jira", "US-1", "priority", "High", "high", "HIGH").origin == "same"
    assert FieldMerge("jira", "US-1", "title", "A", "Fix  login", "Fix login").origin == "same"


def test_without_a_base_a_difference_is_the_trackers() -> None:
    merge = FieldMerge("jira", "US-1", "points", None, 8, 3, has_base=False)
    assert merge.origin == "tracker"
    assert merge.describe() == "points 8 -> 3 (tracker)"


def test_a_conflict_shows_both_values_and_who() -> None:
    merge = FieldMerge("jira", "US-1", "points", 8, 13, 5, changed_by="Ana Lima")
    assert merge.describe() == "points: conflict — file 13, tracker 5 by Ana Lima (was 8)"


def test_the_policy_setting_is_checked() -> None:
    assert conflict_policy({}) == "report"
    assert conflict_policy({"conflicts": "tracker-wins"}) == "tracker-wins"
    with pytest.raises(ConfigurationError, match=r"\[sync\] conflicts = 'ours'"):
        conflict_policy({"conflicts": "ours"})


def test_without_a_base_the_later_two_way_fields_keep_the_files_value() -> None:
    """The sentence and the sprint were pushed from the file before they became two-way: a
    link made then has no base for them, and the file's value still wins."""
    for name in ("story", "sprint"):
        merge = FieldMerge("github", "US-1", name, None, "new", "old", has_base=False)
        assert merge.origin == "file" and merge.action() == "push"
