"""The three-way merge by lines that writes the bot's changes over commits pushed by hand."""

from __future__ import annotations

from bot.gitops.lines import merge_lines

BASE = "# Backlog\n\n## Epic\n**Priority:** High\n**Status:** To Do\n\nText\n"


def test_changes_to_different_lines_are_both_kept() -> None:
    ours = BASE.replace("# Backlog\n", "# Team backlog\n")
    theirs = BASE.replace("**Status:** To Do\n", "**Status:** Done\n")
    assert merge_lines(BASE, ours, theirs) == (
        "# Team backlog\n\n## Epic\n**Priority:** High\n**Status:** Done\n\nText\n"
    )


def test_an_insertion_and_an_edit_elsewhere_are_both_kept() -> None:
    ours = BASE + "More\n"
    theirs = BASE.replace("**Priority:** High\n", "**Priority:** High\n**Points:** 3\n")
    assert merge_lines(BASE, ours, theirs) == (
        "# Backlog\n\n## Epic\n**Priority:** High\n**Points:** 3\n**Status:** To Do\n\nText\nMore\n"
    )


def test_the_same_line_changed_differently_does_not_merge() -> None:
    ours = BASE.replace("**Status:** To Do\n", "**Status:** Blocked\n")
    theirs = BASE.replace("**Status:** To Do\n", "**Status:** Done\n")
    assert merge_lines(BASE, ours, theirs) is None
    # two insertions at one place differ too
    assert merge_lines(BASE, BASE + "A\n", BASE + "B\n") is None


def test_the_same_change_on_both_sides_is_taken_once() -> None:
    both = BASE.replace("**Status:** To Do\n", "**Status:** Done\n")
    assert merge_lines(BASE, both, both) == both
    ours = both.replace("Text\n", "Text!\n")
    assert merge_lines(BASE, ours, both) == ours
    assert merge_lines(BASE, BASE, both) == both and merge_lines(BASE, ours, BASE) == ours
