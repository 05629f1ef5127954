"""Two-way sync for the commands: the drift of a target, the merge base, the write-back.

``measure`` reads the tracker's live values of the linked stories and compares them with the
file and the base (``sync.twoway``). ``plan`` prints the drift, ``apply`` leaves tracker-side
changes and conflicts alone (the story carries the tracker's value) and records the base of
what it pushed, ``pull FILE`` writes tracker-side changes into the Markdown and records their
base. ``[sync] conflicts`` picks the policy for fields changed on both sides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from backlog.edit import EditResult, FieldEdit, apply_edits
from backlog.model import Backlog
from sync.merge import FieldMerge, conflict_policy, normalise
from sync.state.base import BaseStore
from sync.twoway import (
    Drift,
    DriftSource,
    adopt_tracker_values,
    compare,
    is_untouched_status,
    written_fields,
)


class TwoWayRunner(Protocol):
    name: str

    @property
    def database_url(self) -> str: ...

    def state_engine(self) -> Engine: ...

    def drift_source(self) -> DriftSource: ...

    def record_held(self, backlog: Backlog, held: Mapping[str, Set[str]]) -> int: ...

    def pushed_as_is(self, backlog: Backlog) -> set[str]: ...


def policy() -> str:
    from bot.settings import load_config_table

    return conflict_policy(load_config_table("sync"))


def measure(runner: TwoWayRunner, backlog: Backlog, text: str, conflicts: str) -> Drift:
    """Read the tracker (batched) and compare each linked story's fields three ways."""
    from sync.state import db

    db.upgrade(runner.database_url)
    source = runner.drift_source()
    base = BaseStore(runner.state_engine(), runner.name).load()
    return compare(source, backlog, text, base, source.live(), policy=conflicts)


def guard(runner: TwoWayRunner, backlog: Backlog, drift: Drift) -> Backlog:
    """The backlog apply may push: tracker-side changes and conflicts keep the tracker's value
    (``file-wins`` conflicts are pushed)."""
    return adopt_tracker_values(runner.drift_source(), backlog, drift.left_alone())


def hold_left_alone(
    runner: TwoWayRunner, guarded: Backlog, drift: Drift, backlog: Backlog | None = None
) -> int:
    """Before apply (and plan): ``guarded`` (``guard``'s backlog) carries the tracker's value
    of each field left alone; what the tracker holds of them is recorded as pushed (in the
    state database only), so that apply sends no write repeating the tracker's own value (a
    milestone moved on GitHub, a renamed issue). Content the field does not decide alone (a
    priority label following a board change) is still written by apply. ``backlog`` (the
    file as read): a part of a description or body (the story sentence, the criteria ticks)
    is held only for issues whose content the file itself has not changed since the last
    push, so that the file's own edits of that text (a task renamed) are still written."""
    held: dict[str, set[str]] = {}
    left = drift.left_alone()
    differ = _parts_differ(drift, left)  # a part of the same text apply is to push
    if backlog is not None and any(m.field in PART_FIELDS for m in left):
        as_is = runner.pushed_as_is(backlog)
        differ |= {m.item for m in left if m.field in PART_FIELDS and m.item not in as_is}
    for merge in left:
        if merge.field in PART_FIELDS and merge.item in differ:
            continue  # the text holds the file's change too: apply writes it
        if (merge.item, merge.field) not in drift.untidy:
            held.setdefault(merge.item, set()).add(merge.field)
    return runner.record_held(guarded, held) if held else 0


def record_applied(runner: TwoWayRunner, backlog: Backlog, text: str, drift: Drift) -> int:
    """After apply: the file's value is the base of every field it pushed or found equal."""
    source = runner.drift_source()
    keep = {(m.item, m.field) for m in drift.left_alone()}
    linked = _linked_ids(runner)
    lines = text.splitlines(keepends=True)
    sprint_of = backlog.sprint_of()
    values = []
    for story in backlog.iter_stories():
        if story.id not in linked:
            continue
        mine = source.file_values(story, written_fields(lines, story, sprint_of))
        for name in source.fields:
            if (story.id, name) not in keep and name in mine:
                values.append((story.id, name, normalise(name, mine[name])))
    return BaseStore(runner.state_engine(), runner.name).record(values, "apply")


# fields that are one part of a longer text (the description or body): that text counts as
# what the tracker holds only when such a part was pulled into the file, and no other part
# of it differs
PART_FIELDS = frozenset({"story", "criteria"})
# fields the text quotes as the file writes them (the Jira description's and the
# GitHub body's dependency lines): that text counts as what the tracker holds only after the
# field was pulled (``record_held`` knows it as ``<field> text``); agreeing on the field, or
# leaving the tracker's change alone, says nothing of the text
QUOTED_FIELDS = frozenset({"dependencies"})


def _parts_differ(drift: Drift, pulled: Iterable[FieldMerge] = ()) -> set[str]:
    """Items one of whose text parts differs between the file and the tracker (other than
    by what was pulled): their description or body is not what the tracker holds."""
    done = list(pulled)
    return {m.item for m in drift.merges if m.field in PART_FIELDS and m not in done}


@dataclass
class PullResult:
    drift: Drift
    edit: EditResult
    recorded: int = 0
    notes: list[str] = field(default_factory=list)


def pull_into(runner: TwoWayRunner, backlog: Backlog, text: str, drift: Drift) -> PullResult:
    """The file with the tracker-side changes (and ``tracker-wins`` conflicts) written in."""
    source = runner.drift_source()
    stories = {story.id: story for story in backlog.iter_stories()}
    edits: list[FieldEdit] = []
    for merge in drift.to_pull:
        edit = source.edit(stories[merge.item], merge.field, merge.tracker)
        if edit is not None:
            edits.append(edit)
    return PullResult(drift, apply_edits(text, backlog, edits))


def record_pulled(runner: TwoWayRunner, result: PullResult, written_file: Backlog) -> int:
    """After the file was written: the base of each written field and each agreed field, and
    (``written_file``: the backlog as written) the tracker's content recorded as pushed where
    the file now says what the tracker holds, so that the next ``apply`` writes nothing."""
    written = {(e.story_id, e.field) for e in result.edit.applied}
    pulled = [m for m in result.drift.to_pull if (m.item, _edit_field(m)) in written]
    values = [(m.item, m.field, normalise(m.field, m.tracker)) for m in pulled]
    values += [
        (m.item, m.field, normalise(m.field, m.tracker))
        for m in result.drift.agreed
        if not is_untouched_status(m)  # a status the file never wrote stays out of the base
    ]
    result.recorded = BaseStore(runner.state_engine(), runner.name).record(values, "pull")
    held: dict[str, set[str]] = {}
    differ = _parts_differ(result.drift, pulled)
    for merge in [*pulled, *result.drift.agreed]:
        if (merge.item, merge.field) in result.drift.untidy:
            continue
        if merge.field in PART_FIELDS and (merge not in pulled or merge.item in differ):
            continue  # agreeing on one part says nothing of the rest of the text
        held.setdefault(merge.item, set()).add(merge.field)
        if merge.field in QUOTED_FIELDS and merge in pulled and merge.item not in differ:
            held[merge.item].add(f"{merge.field} text")
    runner.record_held(written_file, held)
    return result.recorded


def record_agreed(runner: TwoWayRunner, backlog: Backlog, drift: Drift) -> int:
    """Fields both sides hold alike (``backlog`` is the file as read): each one's base, and
    the tracker's content recorded as pushed where nothing else in the item differs from what
    was last pushed, so that an ``apply`` writes nothing for them. This is how the changes of
    a merged GitOps pull request become agreed (nothing is written anywhere); the proposal
    itself moves no base."""
    agreed = [m for m in drift.agreed if not is_untouched_status(m)]
    values = [(m.item, m.field, normalise(m.field, m.tracker)) for m in agreed]
    recorded = BaseStore(runner.state_engine(), runner.name).record(values, "pull")
    held: dict[str, set[str]] = {}
    differ = _parts_differ(drift)
    for merge in agreed:
        if merge.field in PART_FIELDS and merge.item in differ:
            continue  # another part of the same text differs: apply still writes the text
        if (merge.item, merge.field) not in drift.untidy:
            held.setdefault(merge.item, set()).add(merge.field)
    if held:
        runner.record_held(backlog, held)
    return recorded


def drift_lines(drift: Drift) -> list[str]:
    """One line per differing field: where the change came from, and what will happen."""
    lines = []
    for merge in sorted(drift.merges, key=lambda m: (m.item, m.field)):
        action = merge.action(drift.policy)
        symbol = {"push": "~", "pull": "<", "conflict": "!"}.get(action, " ")
        key = drift.keys.get(merge.item, "")
        lines.append(f"  {symbol} {action:<8} {merge.item} {key}: {merge.describe()}")
    return lines


def _edit_field(merge: FieldMerge) -> str:
    # a tracker title is written as the story heading; every other field under its own name
    return "heading" if merge.field == "title" else merge.field


def _linked_ids(runner: TwoWayRunner) -> set[str]:
    from sqlmodel import Session, select

    from sync.state.tables import SyncLink

    with Session(runner.state_engine()) as session:
        rows = session.exec(
            select(SyncLink.backlog_id).where(
                SyncLink.target == runner.name, SyncLink.kind == "story"
            )
        ).all()
    return set(rows)


def linked_stories(engine: Engine, target: str) -> list[Any]:
    """The ``sync_link`` rows of the target's stories."""
    from sqlmodel import Session, select

    from sync.state.tables import SyncLink

    with Session(engine) as session:
        return list(
            session.exec(
                select(SyncLink).where(SyncLink.target == target, SyncLink.kind == "story")
            ).all()
        )


def summary(drift: Drift) -> str:
    counts = {
        "from the file": len(drift.to_push),
        "from the tracker": len(drift.to_pull),
        "conflicts": len(drift.conflicts),
    }
    return ", ".join(f"{n} {what}" for what, n in counts.items() if n) or "none"


def left_alone_lines(merges: Iterable[FieldMerge]) -> list[str]:
    return [f"  left alone: {m.item} {m.describe()}" for m in merges]
