"""``document.*``: what the reader could not read or had to make up is said, never silent."""

from __future__ import annotations

from collections.abc import Iterator

from rules.base import Hit, Severity, matches_prefix
from rules.context import RuleContext
from rules.registry import rule


def _range(line: int, end_line: int) -> str:
    return f"line {line}" if end_line <= line else f"lines {line}-{end_line}"


@rule("document.unparsed", Severity.warning, "Every line of the backlog is read or reported.")
def unparsed(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: reports each block of the document the reader did not understand: a
    section it only keeps as text, or a table, list or paragraph it could not place (at any
    heading level, under the document title and inside stories).
    Why it matters: a story, an estimate or a criterion written there is not imported, not
    synced and not checked; without this report the backlog would silently lose it.
    Example: a "MVP Scope" section with a list of stories by title, or a table of story
    titles without ids, under a heading the reader does not know.
    Instead: write it in one of the shapes of docs/backlog-format.md, or leave it if it is
    prose that is not backlog content (silence it with ``--ignore document.unparsed``).
    """
    for block in ctx.backlog.unread:
        where = f" {block.context}" if block.context else ""
        yield Hit(
            "document",
            f"{_range(block.line, block.end_line)} ({block.what}{where}, {block.lines} "
            "lines) not understood: not read into the backlog",
            block.line,
            "see docs/backlog-format.md for the shapes backlog-bot reads",
        )


@rule("document.generated-id", Severity.warning, "Every story has an id written in the file.")
def generated_id(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: flags a story that has no id in the file, so the reader generated one
    from its numbering or title.
    Why it matters: Jira and GitHub issues are matched to stories by id; a generated id
    changes when the story is renumbered or renamed, and the sync would then create a
    duplicate issue.
    Example: ``## User Story 3: Track progress`` with no ``**Story ID:**`` line.
    Instead: run ``backlog-bot fix --add-ids FILE`` or add ``**Story ID:** US-003``.
    """
    for note in ctx.backlog.reader_notes:
        if note.kind == "generated-id":
            yield Hit(note.item, note.message, note.line, "write an explicit id into the file")


@rule(
    "document.unread-column", Severity.warning, "Every column of a story table is read or reported."
)
def unread_column(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: reports each column of a story table (a table whose rows are stories)
    that backlog-bot has no field for, such as Owner, Assignee, Score or a second
    Acceptance Criteria column, once per table, at the table's line.
    Why it matters: the cells of that column are not imported, not synced and not checked;
    an owner or an estimate written there would be lost without a word.
    Example: ``| ID | User Story | Priority | Owner |``: the Owner column is not read.
    Instead: move the value into a column backlog-bot reads (docs/backlog-format.md lists
    them) or into the story's own section; leave it if the column is only for people.
    """
    for note in ctx.backlog.reader_notes:
        if note.kind == "unread-column":
            yield Hit(
                "document",
                note.message,
                note.line,
                "see docs/backlog-format.md for the story table columns backlog-bot reads",
            )


@rule("document.unused-ignore", Severity.warning, "Every inline ignore names a rule and is used.")
def unused_ignore(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: reports an inline ``<!-- backlog-bot: ignore ... -->`` comment that names
    no known rule, or that silences nothing in this run (like ruff's RUF100; the runner adds
    the second kind, since only it knows which findings were silenced).
    Why it matters: a stale ignore hides the next real problem of that kind in the story, and
    a misspelt one silences nothing while looking as if it did.
    Example: ``<!-- backlog-bot: ignore invest.smal -->``, or ``ignore invest.small`` on a
    3-point story.
    Instead: fix the rule id, or remove the comment.
    """
    from rules.registry import load_rules

    known = list(load_rules())
    for story in ctx.stories:
        for prefix in story.suppressions:
            if not any(matches_prefix(rule_id, [prefix]) for rule_id in known):
                yield Hit(
                    story.id,
                    f"{story.id}: the inline ignore {prefix!r} names no rule",
                    story.line,
                    "run 'backlog-bot rules' for the ids",
                )
