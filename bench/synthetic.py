"""Synthetic backlogs in the reference document's dialect, for benchmarks.

``make_backlog_markdown(n_stories, seed=0)`` writes a deterministic backlog of about 1.8 KB of
Markdown per story: epics of seven stories with Gherkin criteria, tasks and subtasks; a team
capacity table; a sprint plan (overview table, committed stories with task lines, capacity
checks) in which some sprints are over-committed; a dependency matrix that sometimes
disagrees with the stories' own fields; velocity history, estimation guide, DoR and DoD.
So rule and sync benchmarks have real work to do. Other benchmarks import it.
"""

from __future__ import annotations

import random

STORIES_PER_EPIC = 7
STORIES_PER_SPRINT = 7
POINTS = (1, 2, 3, 5, 8, 8, 13, 13, 21)
ROLES = (
    ("DevOps", "DevOps Engineer", 100, 40),
    ("Backend", "Backend Developer", 60, 30),
    ("Frontend", "Frontend Developer", 20, 10),
    ("QA", "QA Engineer", 40, 20),
)
VERBS = (
    "Deploy",
    "Configure",
    "Implement",
    "Migrate",
    "Harden",
    "Automate",
    "Monitor",
    "Test",
    "Design",
    "Document",
    "Optimise",
    "Integrate",
)
THINGS = (
    "billing engine",
    "rating service",
    "customer portal",
    "invoice archive",
    "payment gateway",
    "usage collector",
    "order pipeline",
    "audit trail",
    "cache layer",
    "event bus",
    "identity provider",
    "report builder",
    "tariff catalogue",
    "search index",
)
ACTORS = (
    "DevOps engineer",
    "backend developer",
    "QA engineer",
    "product owner",
    "SRE",
    "billing analyst",
)
OUTCOMES = (
    "latency stays under 200 ms",
    "errors are visible within a minute",
    "releases need no downtime",
    "auditors can trace every change",
    "customers see accurate invoices",
    "load doubles without new hardware",
)


def story_id(number: int, width: int) -> str:
    return f"US-{number:0{width}d}"


def make_backlog_markdown(n_stories: int, seed: int = 0) -> str:
    """A backlog of ``n_stories`` stories (about 1.8 KB of Markdown each), deterministic."""
    if n_stories < 1:
        raise ValueError("n_stories must be at least 1")
    rng = random.Random(seed)
    width = max(3, len(str(n_stories)))
    stories = [_story_facts(rng, number, width) for number in range(1, n_stories + 1)]
    n_epics = (n_stories + STORIES_PER_EPIC - 1) // STORIES_PER_EPIC
    n_sprints = (n_stories + STORIES_PER_SPRINT - 1) // STORIES_PER_SPRINT
    total = sum(s["points"] for s in stories if isinstance(s["points"], int))
    out: list[str] = [
        f"# Synthetic BSS Backlog ({n_stories} stories)\n",
        f"**Project Duration:** {2 * n_sprints} weeks ({n_sprints} sprints × 2 weeks each)",
        f"**Total Story Points:** {total + rng.choice((0, 0, 5, -8))} points",
        "**Team Velocity Target:** 75-85 points per sprint\n",
        "---\n",
        "## TEAM COMPOSITION & CAPACITY\n",
        "| Role | Availability | Weekly Hours | Sprint Capacity (2 weeks) |",
        "|------|-------------|--------------|---------------------------|",
    ]
    for _, name, pct, weekly in ROLES:
        out.append(f"| {name} | {pct}% | {weekly} hrs | {2 * weekly} hrs |")
    out.append("| **Total Team Capacity** | - | **100 hrs** | **200 hrs** |\n")
    out.append("**Sprint Velocity Capacity:** 80-100 story points\n\n---\n")
    for epic_index in range(n_epics):
        chunk = stories[epic_index * STORIES_PER_EPIC : (epic_index + 1) * STORIES_PER_EPIC]
        out.append(_epic(rng, epic_index + 1, chunk, width))
    out.append(_sprint_plan(rng, stories, n_sprints))
    out.append(_appendix(rng, stories, n_sprints))
    return "\n".join(out)


def _story_facts(rng: random.Random, number: int, width: int) -> dict[str, object]:
    points: int | str = rng.choice(POINTS) if rng.random() > 0.01 else "TBD"
    tasks = []
    for _ in range(rng.randint(3, 4)):
        role = rng.choice(ROLES)[0]
        tasks.append(
            (f"{rng.choice(VERBS)} {rng.choice(THINGS)}", rng.choice((2, 3, 4, 6, 8, 10)), role)
        )
    return {
        "id": story_id(number, width),
        "number": number,
        "points": points,
        "tasks": tasks,
        "title": f"{rng.choice(VERBS)} the {rng.choice(THINGS)}",
    }


def _dependency(
    rng: random.Random, story: dict[str, object], epic: int, first: bool, width: int
) -> str:
    number = int(story["number"])  # type: ignore[call-overload]
    if first and epic > 1:
        return f"EPIC-{epic - 1:03d} completed"
    if number > 1 and rng.random() < 0.35:
        other = story_id(rng.randint(max(1, number - 12), number - 1), width)
        return f"{other} ({rng.choice(THINGS)} needed first)"
    return "None"


def _epic(rng: random.Random, number: int, chunk: list[dict[str, object]], width: int) -> str:
    declared = sum(s["points"] for s in chunk if isinstance(s["points"], int))
    declared += rng.choice((0, 0, 0, 13, -5))
    lines = [
        f"# EPIC {number}: {rng.choice(THINGS).upper()} PROGRAMME\n",
        "## Epic Overview",
        f"**Epic ID:** EPIC-{number:03d}",
        f"**Epic Name:** {rng.choice(THINGS).title()} Programme",
        "**Business Value:** Reduce operating cost and make billing predictable.",
        f"**Story Points:** {declared} points",
        "**Acceptance Criteria:**",
        "- [ ] All stories meet the Definition of Done",
        "- [ ] Dashboards and alerts configured\n",
        "## User Stories\n",
    ]
    for index, story in enumerate(chunk):
        lines.append(_story(rng, number, index, story, width))
    return "\n".join(lines)


def _story(rng: random.Random, epic: int, index: int, story: dict[str, object], width: int) -> str:
    actor, outcome = rng.choice(ACTORS), rng.choice(OUTCOMES)
    title = str(story["title"])
    out = [
        f"### Story {epic}.{index + 1}: {title}",
        f"**Story ID:** {story['id']}",
        f"**Title:** As a {actor}, I want to {title.lower()}",
        f"**Story Points:** {story['points']}",
        f"**Priority:** {rng.choice(('High', 'Medium', 'Low'))}",
        f"**Dependencies:** {_dependency(rng, story, epic, index == 0, width)}\n",
        "**User Story:**",
        f"> As a {actor}, I want to {title.lower()} so that {outcome}.\n",
        "**Acceptance Criteria:**",
        "```gherkin",
        f"Given the {rng.choice(THINGS)} is available",
        f"When I {title.lower()}",
        "Then I should see:",
        *(
            f"  - {rng.choice(THINGS).capitalize()} reports {rng.choice(OUTCOMES)}"
            for _ in range(4)
        ),
        "```\n",
        "**Tasks:**",
    ]
    for task_number, (task_title, hours, role) in enumerate(story["tasks"], start=1):  # type: ignore[arg-type]
        out.append(f"{task_number}. **{task_title}** ({hours} hrs) - {role}")
        out.append(f"   - Prepare {rng.choice(THINGS)} configuration")
        out.append(f"   - Verify that {rng.choice(OUTCOMES)}")
    out.append("\n**Subtasks:**")
    for sub in range(1, rng.randint(2, 3) + 1):
        hours = rng.choice((1, 2, 3))
        unit = "hr" if hours == 1 else "hrs"
        out.append(
            f"- Subtask {epic}.{index + 1}.{sub}: Write {rng.choice(THINGS)} checks "
            f"({hours} {unit})"
        )
    out.append("\n---\n")
    return "\n".join(out)


def _sprint_plan(rng: random.Random, stories: list[dict[str, object]], n_sprints: int) -> str:
    out = [
        "# SPRINT PLANNING\n",
        "## Sprint Overview\n",
        "| Sprint | Duration | Focus Area | Story Points | Key Deliverables |",
        "|--------|----------|------------|--------------|------------------|",
    ]
    sections: list[str] = []
    grand = 0
    for sprint in range(1, n_sprints + 1):
        chunk = stories[(sprint - 1) * STORIES_PER_SPRINT : sprint * STORIES_PER_SPRINT]
        points = sum(s["points"] for s in chunk if isinstance(s["points"], int))
        grand += points
        weeks = f"{2 * sprint - 1}-{2 * sprint}"
        out.append(f"| Sprint {sprint} | Weeks {weeks} | Delivery | {points} | Increment |")
        capacity = rng.choice((70, 75, 80, 85))
        lines = [
            f"## Sprint {sprint} (Weeks {weeks}): Delivery {sprint}\n",
            f"**Sprint Goal:** Ship increment {sprint}",
            f"**Capacity:** {capacity} story points",
            f"**Team Velocity:** {capacity - rng.randint(0, 6)} points (actual)\n",
            "### Committed Stories:",
        ]
        per_role: dict[str, list[int]] = {}
        for position, story in enumerate(chunk, start=1):
            roles = sorted({task[2] for task in story["tasks"]})  # type: ignore[attr-defined]
            lines.append(
                f"{position}. **{story['id']}: {story['title']}** "
                f"({story['points']} pts) - {'/'.join(roles)}"
            )
            total = 0
            for task_title, hours, role in story["tasks"]:  # type: ignore[attr-defined]
                lines.append(f"   - {task_title} ({hours} hrs) - {role}")
                per_role.setdefault(role, []).append(hours)
                total += hours
            lines.append(f"   - **Total: {total} hrs** - {' + '.join(roles)}\n")
        lines.append("**Sprint Capacity Check:**")
        for short, _, _, weekly in ROLES:
            hours = per_role.get(short)
            if hours:
                lines.append(
                    f"- {short}: {' + '.join(map(str, hours))} = **{sum(hours)} hrs** "
                    f"(within {2 * weekly} hrs)"
                )
        sections.append("\n".join(lines) + "\n\n---\n")
    out.append(f"\n**Total Story Points: {grand}** (synthetic)\n\n---\n")
    return "\n".join(out) + "\n" + "\n".join(sections)


def _appendix(rng: random.Random, stories: list[dict[str, object]], n_sprints: int) -> str:
    out = [
        "# VELOCITY & CAPACITY TRACKING\n",
        "## Historical Velocity Data\n",
        "| Sprint | Planned Points | Completed Points | Velocity | Completion Rate |",
        "|--------|----------------|------------------|----------|-----------------|",
    ]
    for sprint in range(1, n_sprints + 1):
        planned = rng.randint(60, 90)
        done = planned - rng.randint(0, 5)
        out.append(
            f"| Sprint {sprint} | {planned} | {done} | {done} | {round(100 * done / planned)}% |"
        )
    out += [
        "\n# DEPENDENCY MATRIX\n",
        "## Detailed Dependencies\n",
        "| Story | Depends On | Blocks | Notes |",
        "|-------|------------|--------|-------|",
    ]
    for story in stories[1::10]:
        earlier = [s["id"] for s in stories if int(s["number"]) < int(story["number"])][-3:]  # type: ignore[call-overload]
        depends = ", ".join(rng.sample(earlier, k=min(len(earlier), rng.randint(0, 2)))) or "None"
        out.append(f"| {story['id']} (Synthetic) | {depends} | - | Generated |")
    out += [
        "\n# QUALITY GATES\n",
        "## Definition of Done (DoD)\n",
        "Each story must meet:",
        "- [ ] Code implemented and reviewed (2 approvals)",
        "- [ ] Unit tests written (80% coverage minimum)",
        "- [ ] Integration tests passing",
        "- [ ] Acceptance criteria validated",
        "- [ ] Documentation updated\n",
        "# APPENDIX\n",
        "## A. Estimation Poker Guide\n",
        "| Points | Hours | Complexity | Examples |",
        "|--------|-------|------------|----------|",
        "| 1 | 2-4 | Simple | Configuration change |",
        "| 3 | 4-8 | Small | Validation |",
        "| 5 | 8-16 | Medium | Standard feature |",
        "| 8 | 16-32 | Complex | New service |",
        "| 13 | 32-48 | Very Complex | Multi-component feature |",
        "| 21 | 48-64 | Epic | New architecture component |\n",
        "## B. Definition of Ready (DoR)\n",
        "Story is ready to be committed when:",
        "- [ ] User story clearly defined",
        "- [ ] Acceptance criteria documented",
        "- [ ] Dependencies identified",
        "- [ ] Story estimated",
        "- [ ] Team has capacity\n",
    ]
    return "\n".join(out)
