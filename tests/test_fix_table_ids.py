"""``fix --add-ids`` on story tables: an ID column in front, the table stays a table.

Property: for any story table without ids (user story sentences, rows that are not stories
mixed in, with or without outer pipes, under prose), the fix gives every story an explicit
id, everything else reads the same, and the lines outside the table keep their bytes.
"""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backlog.fix import add_ids, apply_edits
from backlog.parse import parse_text

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

words = st.text(string.ascii_lowercase, min_size=3, max_size=8)
phrases = st.lists(words, min_size=1, max_size=4).map(" ".join)
sentences = st.builds(
    lambda role, want, why: f"As a {role}, I want to {want} so that {why}", words, phrases, phrases
)
other_rows = st.sampled_from(["Buffer", "Total", "Stretch goal", "Spike"])
cells = st.one_of(st.just(""), st.sampled_from(["High", "Low", "3", "5", "S", "M"]))


@SETTINGS
@given(
    rows=st.lists(st.tuples(st.one_of(sentences, other_rows), cells), min_size=1, max_size=8),
    outer=st.booleans(),
    spaced=st.booleans(),
    before=st.lists(phrases, max_size=2),
    after=st.lists(phrases, max_size=2),
)
def test_add_ids_on_story_tables(
    rows: list[tuple[str, str]], outer: bool, spaced: bool, before: list[str], after: list[str]
) -> None:
    pad = " " if spaced else ""

    def row(values: list[str]) -> str:
        inner = f"{pad}|{pad}".join(values)
        return f"|{pad}{inner}{pad}|" if outer else inner

    head = ["# Backlog", "", *before, "", "## Stories", ""]
    table = [row(["User Story", "Priority"]), row(["---", "---"])]
    table += [row([story, value]) for story, value in rows]
    text = "\n".join([*head, *table, "", *after, ""])
    original = parse_text(text, source="b.md")
    if not original.stories:
        return  # only rows that are no stories: not a story table, nothing to fix
    edits = add_ids(text, original)
    fixed = apply_edits(text, edits)
    read = parse_text(fixed, source="b.md")

    assert [note.kind for note in read.reader_notes] == []
    assert [s.id for s in read.stories] == [f"US-{n:03d}" for n in range(1, len(read.stories) + 1)]
    assert [s.replace(id="") for s in read.stories] == [s.replace(id="") for s in original.stories]
    old_lines, new_lines = text.split("\n"), fixed.split("\n")
    assert len(new_lines) == len(old_lines)
    first, last = len(head), len(head) + len(table)  # 0-based range of the table
    assert new_lines[:first] == old_lines[:first]
    assert new_lines[last:] == old_lines[last:]
    # Every table line gained exactly one cell, in front.
    for old, new in zip(old_lines[first:last], new_lines[first:last], strict=True):
        assert new.count("|") == old.count("|") + 1
        assert new.endswith(old.lstrip("|").lstrip(" "))
