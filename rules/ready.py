"""``dor.*``: one rule per Definition-of-Ready item.

The document's own DoR decides which checks run: each DoR item is mapped to a check by
keyword (``DOR_KEYWORDS``). A check whose item the document does not list stays silent; a DoR
item no check understands is reported once as ``dor.unchecked`` (info). A document without a
DoR gets every check, with the default texts in ``DOR_DEFAULTS``.
"""

from __future__ import annotations

from collections.abc import Iterator

from backlog.model import Story, is_placeholder
from rules.base import Hit, Severity, fmt_number
from rules.context import DefinitionCheck, RuleContext, map_definition, user_story_parts
from rules.registry import rule

DOR_KEYWORDS: dict[str, tuple[str, ...]] = {
    "prioritized": (r"priorit",),
    "user-story": (r"user stor", r"story (is )?(clearly |well[- ])?(defined|written)"),
    "acceptance-criteria": (r"acceptance",),
    "dependencies": (r"dependenc",),
    "technical-approach": (r"technical", r"approach", r"\btasks?\b", r"broken down"),
    "estimated": (r"estimat", r"\bsized\b", r"story points"),
    "capacity": (r"capacity",),
}
DOR_DEFAULTS: dict[str, str] = {
    "prioritized": "the story has a priority",
    "user-story": "the user story names a role and a want",
    "acceptance-criteria": "acceptance criteria are written down",
    "dependencies": "a Dependencies field, None when there are none",
    "technical-approach": "the technical approach is broken down into tasks",
    "estimated": "the story has story points",
    "capacity": "each role's task hours fit that role's sprint capacity",
}
DOR = "Definition of Ready"


def _dor(ctx: RuleContext) -> tuple[dict[str, DefinitionCheck], list]:  # type: ignore[type-arg]
    return map_definition(ctx.backlog.definition_of_ready, DOR_KEYWORDS, DOR_DEFAULTS)


def _stories_under(ctx: RuleContext, key: str) -> Iterator[tuple[Story, DefinitionCheck]]:
    checks, _ = _dor(ctx)
    check = checks.get(key)
    if check is None:
        return
    for story in ctx.stories:
        yield story, check


@rule("dor.prioritized", Severity.warning, "Story has a priority (DoR).")
def prioritized(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: flags a story without a **Priority:** value.
    Why it matters: the Definition of Ready asks that the Product Owner has prioritized the
    story; an unprioritized story cannot be ordered against the rest of the backlog.
    Example: a story with no ``**Priority:**`` line.
    Instead: add ``**Priority:** High`` (or Medium / Low).
    """
    for story, check in _stories_under(ctx, "prioritized"):
        if not (story.priority or "").strip():
            yield Hit(
                story.id,
                f"{story.id} has no priority, which {check.cite(DOR)} requires"
                f"{ctx.unread_in_story.get(story.id, '')}",
                story.line,
                "add a **Priority:** line (High, Medium or Low)",
            )


@rule("dor.user-story", Severity.warning, "User story names a role and a want (DoR).")
def user_story(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: flags a story whose "As a <role>, I want <want>" sentence is missing or
    lacks its role or want.
    Why it matters: the Definition of Ready asks for a clearly defined user story; without a
    role and a want nobody can tell whom the story serves or what it delivers.
    Example: ``**User Story:** Implement caching``.
    Instead: ``As a backend developer, I want a Redis cache so that reads are fast``.
    """
    for story, check in _stories_under(ctx, "user-story"):
        sentence = story.user_story
        if sentence is None or not sentence.text.strip():
            missing = "has no user story"
            line = story.line
        elif not all(user_story_parts(sentence)[:2]):
            role, want, _ = user_story_parts(sentence)
            absent = [name for name, value in (("role", role), ("want", want)) if not value]
            missing = f"has a user story without a {' or '.join(absent)}"
            line = sentence.line or story.line
        else:
            continue
        yield Hit(
            story.id,
            f"{story.id} {missing}, so it does not meet {check.cite(DOR)}"
            f"{ctx.unread_in_story.get(story.id, '')}",
            line,
            'write it as "As a <role>, I want <want> so that <benefit>"',
        )


@rule("dor.acceptance-criteria", Severity.warning, "Acceptance criteria documented (DoR).")
def acceptance_criteria(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: flags a story with no acceptance criteria at all.
    Why it matters: the Definition of Ready asks for documented acceptance criteria; without
    them there is no shared test of "done" for the story.
    Example: a story with no ``**Acceptance Criteria:**`` block.
    Instead: add a Given/When/Then block listing the observable outcomes.
    """
    for story, check in _stories_under(ctx, "acceptance-criteria"):
        criteria = story.acceptance_criteria
        if criteria is None or not (criteria.steps or criteria.checklist or criteria.raw.strip()):
            yield Hit(
                story.id,
                f"{story.id} has no acceptance criteria, which {check.cite(DOR)} requires"
                f"{ctx.unread_in_story.get(story.id, '')}",
                story.line,
                "add an **Acceptance Criteria:** block in Given/When/Then form",
            )


@rule("dor.dependencies", Severity.warning, "Dependencies identified (DoR).")
def dependencies(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: flags a story without a **Dependencies:** field.
    Why it matters: the Definition of Ready asks that dependencies are identified; a missing
    field cannot be told apart from "not yet thought about".
    Example: a story with no ``**Dependencies:**`` line.
    Instead: ``**Dependencies:** US-001`` or ``**Dependencies:** None``.
    """
    for story, check in _stories_under(ctx, "dependencies"):
        if story.dependencies_raw is None and not story.dependencies:
            yield Hit(
                story.id,
                f"{story.id} has no Dependencies field, so {check.cite(DOR)} is not met"
                f"{ctx.unread_in_story.get(story.id, '')}",
                story.line,
                "add **Dependencies:** with story ids, or None",
            )


@rule("dor.technical-approach", Severity.warning, "Technical approach broken into tasks (DoR).")
def technical_approach(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: flags a story with no tasks.
    Why it matters: the Definition of Ready asks that the technical approach was discussed;
    its visible result is a task breakdown with hours and roles.
    Example: a story with no ``**Tasks:**`` list.
    Instead: ``1. **Deploy Redis** (8 hrs) - DevOps`` and the other tasks.
    """
    for story, check in _stories_under(ctx, "technical-approach"):
        if not story.tasks:
            yield Hit(
                story.id,
                f"{story.id} has no tasks, so nothing shows {check.cite(DOR)} was met"
                f"{ctx.unread_in_story.get(story.id, '')}",
                story.line,
                "add a **Tasks:** list with hours and roles",
            )


@rule("dor.estimated", Severity.warning, "Story estimated in points (DoR).")
def estimated(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: flags a story with no estimate: no **Story Points:** (or Size, Estimate)
    line, or a placeholder such as ``TBD`` or ``?``. An estimate written in a form
    backlog-bot cannot read (``XL-ish``) is not missing: ``invest.estimable`` reports it.
    Why it matters: the Definition of Ready asks for an estimate; unestimated stories break
    sprint planning and forecasts.
    Example: ``**Story Points:** TBD``.
    Instead: estimate it in planning poker: ``**Story Points:** 8``.
    """
    for story, check in _stories_under(ctx, "estimated"):
        raw = (story.points_raw or "").strip()
        if story.points is None and (not raw or is_placeholder(raw)):
            written = f' ("{raw}" is not a number)' if raw else ""
            yield Hit(
                story.id,
                f"{story.id} has no story points{written}, which {check.cite(DOR)} requires"
                f"{ctx.unread_in_story.get(story.id, '')}",
                story.line,
                "estimate it on the team's scale: " + ", ".join(map(str, ctx.points_scale)),
            )


@rule("dor.capacity", Severity.warning, "Each role's task hours fit its sprint capacity (DoR).")
def capacity(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: flags a story whose tasks need a role the team capacity table does not
    list, or more hours of one role than that role has in a whole sprint.
    Why it matters: the Definition of Ready asks that the team has capacity; a story that no
    single sprint can staff will spill over however it is planned.
    Example: 70 h of Backend tasks when the Backend Developer has 60 h per sprint.
    Instead: split the story or rebalance its tasks across roles.
    """
    if not ctx.team.roles:
        return
    for story, check in _stories_under(ctx, "capacity"):
        for key, hours in sorted(ctx.role_hours(story).items()):
            role = ctx.team_role(key)
            if role is None:
                known = ", ".join(r.name for r in ctx.team.roles)
                yield Hit(
                    story.id,
                    f"{story.id} has {fmt_number(hours)} h of {key!r} tasks but the team "
                    f"capacity table has no such role ({known}); {check.cite(DOR)} cannot hold",
                    story.line,
                    "assign the tasks to a role of the team table, or add the role",
                )
            elif role.sprint_hours is not None and hours > role.sprint_hours:
                yield Hit(
                    story.id,
                    f"{story.id} needs {fmt_number(hours)} h of {role.name} work but the "
                    f"{role.name} has {fmt_number(role.sprint_hours)} h per sprint "
                    f"(line {role.line}); {check.cite(DOR)} cannot hold",
                    story.line,
                    "split the story or move tasks to other roles",
                )


@rule("dor.unchecked", Severity.info, "A Definition-of-Ready item no rule can check.")
def unchecked(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: lists Definition-of-Ready items that no dor.* rule understands.
    Why it matters: the team believes those items are enforced; they are not, and a reviewer
    has to check them by hand.
    Example: ``- [ ] Design reviewed by the architecture board``.
    Instead: reword it with a keyword a rule knows (priority, user story, acceptance,
    dependencies, technical approach, estimate, capacity) or accept a manual check.
    """
    _, unmapped = _dor(ctx)
    for item in unmapped:
        yield Hit(
            "definition-of-ready",
            f'the Definition of Ready item "{item.text}" is not checked automatically',
            item.line,
            "check it by hand, or reword it with a keyword backlog-bot knows",
        )
