"""``capacity.*``: sprint commitments against stated capacity, velocity and role hours.

``sprint_loads()`` computes, per sprint, the committed points and the task hours per role;
the rules and the ``backlog-bot capacity`` table both read it. Hours come from the committed
stories' own task lists (the story is the source of truth); a commitment of a story the
backlog does not define falls back to the task lines the sprint plan lists under it.
Continuations ("US-001 (continued)") add neither points nor hours.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from statistics import mean

from backlog.model import Sprint, SprintCommitment, role_key
from rules.base import Hit, Severity, fmt_number
from rules.context import RuleContext
from rules.registry import rule


@dataclass(frozen=True)
class RoleLoad:
    key: str
    name: str
    hours: float
    capacity: float | None
    by_story: tuple[tuple[str, float], ...] = ()

    @property
    def load_pct(self) -> float | None:
        return 100.0 * self.hours / self.capacity if self.capacity else None

    @property
    def is_over(self) -> bool:
        return self.capacity is not None and self.hours > self.capacity


@dataclass(frozen=True)
class SprintLoad:
    sprint: Sprint
    story_points: int
    buffer_points: int
    by_story: tuple[tuple[str, int], ...]
    roles: tuple[RoleLoad, ...] = field(default=())

    @property
    def points(self) -> int:
        return self.story_points + self.buffer_points

    @property
    def load_pct(self) -> float | None:
        cap = self.sprint.capacity_points
        return 100.0 * self.points / cap if cap else None

    @property
    def is_over_points(self) -> bool:
        cap = self.sprint.capacity_points
        return cap is not None and self.points > cap

    @property
    def is_over(self) -> bool:
        return self.is_over_points or any(role.is_over for role in self.roles)


def _commitment_hours(ctx: RuleContext, item: SprintCommitment) -> dict[str, float]:
    story = ctx.stories_by_id.get(item.story_id)
    if story is not None and story.tasks:
        return ctx.role_hours(story)
    hours: dict[str, float] = {}
    for task in item.tasks:
        roles = task.roles or item.roles
        if not task.hours or not roles:
            continue
        for role in roles:
            key = role_key(role)
            hours[key] = hours.get(key, 0.0) + task.hours / len(roles)
    return hours


def _commitment_points(ctx: RuleContext, item: SprintCommitment) -> int:
    story = ctx.stories_by_id.get(item.story_id)
    if story is not None and story.points is not None:
        return story.points
    return item.points or 0


def sprint_loads(ctx: RuleContext) -> list[SprintLoad]:
    """Committed points and per-role hours of every sprint, in sprint order (cached per run)."""
    cached = ctx.cache.get("sprint_loads")
    if cached is not None:
        return cached  # type: ignore[return-value]
    loads: list[SprintLoad] = []
    team_keys = [role.key for role in ctx.team.roles]
    for sprint in ctx.backlog.sprints:
        by_story: list[tuple[str, int]] = []
        role_story: dict[str, list[tuple[str, float]]] = {}
        for item in sprint.committed:
            if item.continued:
                continue
            by_story.append((item.story_id, _commitment_points(ctx, item)))
            for key, hours in _commitment_hours(ctx, item).items():
                role_story.setdefault(key, []).append((item.story_id, hours))
        roles = []
        for key in [*team_keys, *sorted(k for k in role_story if k not in team_keys)]:
            role = ctx.team_role(key)
            parts = tuple(role_story.get(key, ()))
            roles.append(
                RoleLoad(
                    key=key,
                    name=role.name if role else key,
                    hours=sum(hours for _, hours in parts),
                    capacity=role.sprint_hours if role else None,
                    by_story=parts,
                )
            )
        loads.append(
            SprintLoad(
                sprint=sprint,
                story_points=sum(points for _, points in by_story),
                buffer_points=sum(b.points or 0 for b in sprint.buffer_items),
                by_story=tuple(by_story),
                roles=tuple(roles),
            )
        )
    ctx.cache["sprint_loads"] = loads
    return loads


def velocities(ctx: RuleContext) -> list[int]:
    """Historical velocities: the velocity table, else the sprints' actual velocities."""
    table = [r.velocity or r.completed for r in ctx.backlog.velocity_history]
    values = [v for v in table if v]
    if not values:
        values = [s.velocity_actual for s in ctx.backlog.sprints if s.velocity_actual]
    return values


def _listing(parts: tuple[tuple[str, float], ...] | tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{item} {fmt_number(value)}" for item, value in parts)


@rule("capacity.points", Severity.error, "Sprint commits no more points than its capacity.")
def points(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: adds the points of the stories (and buffer items) a sprint commits and
    flags a sprint whose sum exceeds its stated **Capacity:**.
    Why it matters: an over-committed sprint fails its goal before it starts and teaches
    the team to ignore its own plan.
    Example: sprint 1 commits 89 points with a capacity of 85.
    Instead: move a story to a later sprint or reduce its scope.
    """
    for load in sprint_loads(ctx):
        cap = load.sprint.capacity_points
        if cap is None or load.points <= cap:
            continue
        buffer = f" and {load.buffer_points} buffer points" if load.buffer_points else ""
        yield Hit(
            load.sprint.id,
            f"sprint {load.sprint.number} commits {load.points} points "
            f"({_listing(load.by_story)}{buffer}) against a capacity of {cap} points, "
            f"{load.points - cap} over",
            load.sprint.line,
            f"move {load.points - cap} or more points to a later sprint",
        )


@rule("capacity.velocity", Severity.warning, "Sprint commits no more than historical velocity.")
def velocity(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: flags a sprint that commits more points than the highest velocity in the
    history (the velocity table, else the sprints' actual velocities).
    Why it matters: the team has never delivered that much; planning above the best sprint
    on record makes spillover likely whatever the stated capacity says.
    Example: 89 points committed when velocities ranged from 63 to 83.
    Instead: plan near the average velocity and keep the rest as stretch goals.
    """
    history = velocities(ctx)
    if not history:
        return
    best, average = max(history), mean(history)
    for load in sprint_loads(ctx):
        if load.points > best:
            yield Hit(
                load.sprint.id,
                f"sprint {load.sprint.number} commits {load.points} points but historical "
                f"velocity averages {average:.1f} (range {min(history)}-{best} over "
                f"{len(history)} sprints)",
                load.sprint.line,
                f"plan about {round(average)} points",
            )


@rule("capacity.role-hours", Severity.error, "Each role's task hours fit its sprint capacity.")
def role_hours(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: sums, per role, the task hours of the stories a sprint commits and
    flags a role whose hours exceed its sprint capacity in the team capacity table; also
    flags task roles the table does not know.
    Why it matters: points can look fine while one role is overbooked; that role becomes
    the bottleneck and the sprint slips.
    Example: sprint 6 needs 64 h of Backend work; the Backend Developer has 60 h.
    Instead: move a story, rebalance tasks across roles, or add capacity.
    """
    if not ctx.team.roles:
        return
    for load in sprint_loads(ctx):
        for role in load.roles:
            if role.is_over:
                team_role = ctx.team_role(role.key)
                line = team_role.line if team_role else 0
                yield Hit(
                    load.sprint.id,
                    f"sprint {load.sprint.number} needs {fmt_number(role.hours)} h of "
                    f"{role.name} work ({_listing(role.by_story)}) but the {role.name} has "
                    f"{fmt_number(role.capacity)} h per sprint (line {line}), "
                    f"{fmt_number(role.hours - (role.capacity or 0))} h over",
                    load.sprint.line,
                    "move a story to another sprint or rebalance its tasks",
                )
            elif role.capacity is None and role.hours:
                yield Hit(
                    load.sprint.id,
                    f"sprint {load.sprint.number} has {fmt_number(role.hours)} h of "
                    f"{role.name!r} tasks ({_listing(role.by_story)}) but the team capacity "
                    "table has no such role",
                    load.sprint.line,
                    "assign the tasks to a role of the team table, or add the role",
                    Severity.warning,
                )
