"""Property tests of the reader's other shapes: story tables, label bullets at any heading
level, list-item stories, id generation, unread blocks, and line edits of the fixer.

Each test renders a random backlog in one shape, reads it back and checks the model says
exactly what was written, and that nothing written outside the stories goes unreported.
"""

from __future__ import annotations

import contextlib
import string
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backlog.errors import BadInputError
from backlog.fix import LineEdit, apply_edits
from backlog.parse import parse_text

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

words = st.text(string.ascii_lowercase, min_size=3, max_size=9)
titles = st.lists(words, min_size=1, max_size=5).map(lambda parts: " ".join(parts).capitalize())
points = st.one_of(st.none(), st.sampled_from([1, 2, 3, 5, 8, 13]))
priorities = st.sampled_from(["High", "Medium", "Low", "P0", "P1"])
prefixes = st.sampled_from(["US-", "SH-", "SF-", "ABC-"])


@st.composite
def stories(draw: st.DrawFn, max_size: int = 8) -> list[tuple[str, str, int | None, str]]:
    """Distinct ids in one style, each with a title, maybe points, and a priority."""
    prefix = draw(prefixes)
    width = draw(st.sampled_from([2, 3]))
    numbers = draw(st.lists(st.integers(1, 99), min_size=1, max_size=max_size, unique=True))
    return [
        (f"{prefix}{n:0{width}d}", draw(titles), draw(points), draw(priorities)) for n in numbers
    ]


@SETTINGS
@given(epics=st.lists(stories(max_size=5), min_size=1, max_size=4), hyphen=st.booleans())
def test_story_tables_under_epic_headings(
    epics: list[list[tuple[str, str, int | None, str]]], hyphen: bool
) -> None:
    seen: set[str] = set()
    by_id: dict[str, tuple[str, str, int | None, str]] = {}
    parts = ["# Product Backlog", ""]
    expected: dict[str, list[str]] = {}
    for number, rows in enumerate(epics, start=1):
        rows = [row for row in rows if row[0] not in seen]
        seen.update(row[0] for row in rows)
        by_id.update((row[0], row) for row in rows)
        sep = " - " if hyphen else ": "
        parts += [
            f"## Epic {number}{sep}Area {number}",
            "",
            "| ID | User Story | Points | Priority |",
        ]
        parts += ["|----|----|----|----|"]
        parts += [f"| {i} | {t} | {'' if p is None else p} | {pr} |" for i, t, p, pr in rows]
        parts.append("")
        expected[f"EPIC-{number:03d}"] = [row[0] for row in rows]
    backlog = parse_text("\n".join(parts), source="b.md")
    assert {epic.id: [s.id for s in epic.stories] for epic in backlog.epics} == expected
    for story in backlog.stories:
        _, title, value, priority = by_id[story.id]
        assert (story.title, story.points, story.priority) == (title, value, priority)
    assert backlog.unread == ()


@SETTINGS
@given(
    rows=stories(),
    level=st.integers(2, 5),
    bullets=st.booleans(),
    with_ids=st.booleans(),
    prose=st.lists(titles, max_size=3),
)
def test_heading_stories_at_any_level(
    rows: list[tuple[str, str, int | None, str]],
    level: int,
    bullets: bool,
    with_ids: bool,
    prose: list[str],
) -> None:
    marker = "* " if bullets else ""
    parts = ["# Backlog", ""]
    for index, (story_id, title, value, priority) in enumerate(rows, start=1):
        heading = f"{story_id}: {title}" if with_ids else f"User Story {index}: {title}"
        parts += ["#" * level + " " + heading, ""]
        if value is not None:
            parts.append(f"{marker}**Story Points:** {value}")
        parts += [f"{marker}**Priority:** {priority}", ""]
        parts += [f"As a user, I want {title.lower()} so that I can work", ""]
        parts += ["**Acceptance Criteria:**", "", "- it works", "- it is fast", ""]
    parts += ["## Notes", ""]
    for sentence in prose:
        parts += [sentence + ".", ""]
    backlog = parse_text("\n".join(parts), source="b.md")
    expected_ids = (
        [row[0] for row in rows] if with_ids else [f"US-{i}" for i in range(1, len(rows) + 1)]
    )
    assert [story.id for story in backlog.stories] == expected_ids
    assert [story.points for story in backlog.stories] == [row[2] for row in rows]
    assert [story.priority for story in backlog.stories] == [row[3] for row in rows]
    for story in backlog.stories:
        assert story.user_story is not None and story.user_story.benefit == "I can work"
        assert story.acceptance_criteria is not None
        assert [c.text for c in story.acceptance_criteria.checklist] == ["it works", "it is fast"]
    generated = [note.item for note in backlog.reader_notes]
    assert generated == ([] if with_ids else expected_ids)
    # The notes section is reported, and only when it has text.
    assert [u.context for u in backlog.unread] == (['"Notes"'] if prose else [])


@SETTINGS
@given(rows=stories(), start=st.integers(1, 20))
def test_numbered_list_item_stories(
    rows: list[tuple[str, str, int | None, str]], start: int
) -> None:
    parts = ["# Stories", "", "### User Stories", ""]
    for offset, (_, title, _, _) in enumerate(rows):
        number = start + offset
        pad = " " * len(f"{number}. ")  # continuation lines indented under the item text
        parts += [
            f"{number}. **User Story ID**: {number}  ",
            f"{pad}**As a** Shopper  ",
            f"{pad}**I want to** {title.lower()}  ",
            f"{pad}**So that** I can buy things.  ",
            f"{pad}**Acceptance Criteria**:  ",
            f"{pad}- The page loads.",
            "",
        ]
    backlog = parse_text("\n".join(parts), source="b.md")
    assert [s.id for s in backlog.stories] == [str(start + i) for i in range(len(rows))]
    for story, (_, title, _, _) in zip(backlog.stories, rows, strict=True):
        assert story.user_story is not None
        assert (story.user_story.role, story.user_story.want) == ("Shopper", f"to {title.lower()}")
        assert story.acceptance_criteria is not None
    assert backlog.unread == ()


@SETTINGS
@given(
    lines=st.lists(
        st.text(string.printable.replace("\r", "").replace("\n", ""), max_size=12),
        min_size=1,
        max_size=30,
    ),
    picks=st.lists(st.tuples(st.integers(0, 29), words), max_size=6),
    crlf=st.booleans(),
    final_newline=st.booleans(),
)
def test_line_edits_touch_only_their_lines(
    lines: list[str], picks: list[tuple[int, str]], crlf: bool, final_newline: bool
) -> None:
    newline = "\r\n" if crlf else "\n"
    text = newline.join(lines) + (newline if final_newline else "")
    # Lines as the reader numbers them: the empty remainder after a final newline is none.
    real = len(lines) - (1 if not final_newline and lines[-1] == "" else 0)
    chosen = {index: word for index, word in picks if index < real}
    edits = [LineEdit(index + 1, lines[index], word) for index, word in chosen.items()]
    fixed = apply_edits(text, edits)
    after = fixed.split(newline)
    before = text.split(newline)
    assert len(after) == len(before)
    for index, (old, new) in enumerate(zip(before, after, strict=True)):
        assert new == chosen.get(index, old)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "text",
    [
        "| ID | Story |\n|---|---|\n| US-1 | " + "~" * 50_000 + "x |\n",
        "### US-1: T\n\n**Priority:** P0 | Size:" + " " * 50_000 + "x\n",
        "### US-1: T\n\n```yaml\nid: US-1\ntitle:" + " " * 50_000 + "x\n```\n",
        "# B\n\n- " + "US-1 " * 20_000 + "\n",
        "---\n" + "key: value\n" * 20_000 + "\n# B\n\n### US-1: T\n",
    ],
    ids=["struck-cell", "pipe-field", "yaml-value", "intro-item", "front-matter"],
)
def test_hostile_shapes_parse_in_linear_time(text: str) -> None:
    started = time.perf_counter()
    with contextlib.suppress(BadInputError):  # refusing is fine; hanging is not
        parse_text(text, source="hostile.md")
    assert time.perf_counter() - started < 5


def test_table_of_sentences_without_ids_under_a_sprint() -> None:
    text = (
        "# Backlog\n\n## Sprint 1\n\n| User Story | Priority | Points |\n|---|---|---|\n"
        "| As a user, I want to log in so that I see my data | High | 3 |\n"
        "| As a user, I want to log in so that I see my data | Low | 5 |\n"
        "| As an admin, I want to ban users so that the forum stays civil | Medium | 8 |\n"
    )
    backlog = parse_text(text, source="b.md")
    # Two equal sentences stay two stories: generated ids never merge rows.
    assert [(s.id, s.points, s.priority) for s in backlog.stories] == [
        ("US-LOG-IN", 3, "High"),
        ("US-LOG-IN-2", 5, "Low"),
        ("US-BAN-USERS", 8, "Medium"),
    ]
    assert [note.item for note in backlog.reader_notes] == [
        "US-LOG-IN",
        "US-LOG-IN-2",
        "US-BAN-USERS",
    ]
    assert [list(s.committed_story_ids) for s in backlog.sprints] == [
        ["US-LOG-IN", "US-LOG-IN-2", "US-BAN-USERS"]
    ]
    assert backlog.unread == ()
