"""``invest.*``: Independent, Negotiable, Valuable, Estimable, Small, Testable.

Cycles and dependencies on later sprints (the hard part of Independent) are ``dependency.*``
rules; ``invest.independent`` flags stories coupled to many others at once.

The Negotiable heuristic (info only): an acceptance criterion *prescribes implementation*
when it names a technology or tool (a built-in list, the document's "Tools & Technologies"
table and ``thresholds.implementation-terms``), a configuration file (``logback.xml``,
``values.yaml``) or a code identifier (``readinessProbe``, ``log_min_duration``). A story is
flagged when at least two of its Then-items, and at least half of them, do: its criteria fix
the solution instead of describing outcomes the team can negotiate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from backlog.model import is_placeholder, tshirt_size
from rules.base import Hit, Severity, fmt_number
from rules.context import RuleContext, user_story_parts
from rules.registry import rule

BUILTIN_TECH_TERMS = (
    "kubernetes", "k8s", "helm", "docker", "terraform", "ansible", "prometheus", "grafana",
    "jaeger", "opentelemetry", "loki", "elk", "elasticsearch", "logstash", "kibana", "kafka",
    "kafka streams", "akhq", "schema registry", "redis", "redisearch", "postgresql", "postgres",
    "pgbouncer", "citus", "mysql", "mongodb", "cassandra", "spring boot", "hikaricp", "jdbc",
    "micrometer", "linkerd", "istio", "envoy", "kong", "traefik", "nginx", "haproxy", "flink",
    "spark", "react", "vue", "angular", "websocket", "websockets", "chart.js", "d3", "k6",
    "jmeter", "junit", "testcontainers", "playwright", "selenium", "keycloak", "vault",
    "argocd", "github actions", "jenkins", "alertmanager", "pagerduty", "rocksdb", "oauth2",
    "jwt", "configmap", "helm chart", "yaml", "json format",
)  # fmt: skip
CONFIG_OR_IDENTIFIER = re.compile(
    r"(?<![\w.-])(?:[\w-]+(?:\.[\w-]+)*\.(?:xml|ya?ml|properties|json|toml|ini|conf)"
    r"|[a-z]+[A-Z][A-Za-z]+|[a-z]+_[a-z_]+)(?![\w-])"
)


@rule("invest.independent", Severity.info, "Story depends on many stories at once.")
def independent(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: flags a story that depends on more stories than
    ``thresholds.max-dependencies`` (3), counting an epic or "all previous stories" as every
    story it stands for.
    Why it matters: such a story cannot start until all of them are done, so it is not
    Independent; it usually hides integration work that deserves its own stories.
    Example: ``**Dependencies:** EPIC-001 completed`` (7 stories).
    Instead: depend on the specific stories the work needs, or split the story.
    """
    limit = ctx.config.thresholds.max_dependencies
    for story in ctx.stories:
        targets: dict[str, None] = {}
        for dep in story.dependencies:
            targets.update(dict.fromkeys(ctx.dependency_targets(dep)))
        targets.pop(story.id, None)
        if len(targets) > limit:
            written = story.dependencies_raw or ", ".join(d.raw for d in story.dependencies)
            yield Hit(
                story.id,
                f"{story.id} depends on {len(targets)} stories ({written!r}); more than "
                f"{limit} makes it start only when all of them are done",
                story.line,
                "name the few stories it really needs, or split it",
            )


def _tech_terms(ctx: RuleContext) -> tuple[str, ...]:
    terms = {t.casefold() for t in BUILTIN_TECH_TERMS}
    terms |= {t.casefold() for t in ctx.config.thresholds.implementation_terms}
    for section in ctx.backlog.other_sections:
        heading = section.heading.casefold()
        if "tool" in heading or "technolog" in heading:
            for row in section.text.splitlines():
                cells = [c.strip(" *") for c in row.strip().strip("|").split("|")]
                if len(cells) >= 2 and not set(cells[1]) <= {"-", " ", ":"}:
                    terms |= {t.strip().casefold() for t in cells[1].split(",") if t.strip()}
    terms.discard("tools")
    return tuple(sorted(terms))


CAMEL_CASE = re.compile(r"[a-z][A-Z]")
TOKEN = re.compile(r"[A-Za-z0-9](?:[\w+#-]|\.(?=\w))*")


class TermIndex:
    """Finds known technology terms (one to four words) in a text by word n-grams.

    Word lookups keep the check linear in the text length, whatever the number of terms.
    """

    def __init__(self, terms: tuple[str, ...]) -> None:
        self.sizes: dict[str, list[int]] = {}
        self.terms = {term.lower() for term in terms}
        for term in self.terms:
            words = term.split()
            self.sizes.setdefault(words[0], []).append(len(words))
        for sizes in self.sizes.values():
            sizes.sort(reverse=True)

    def find(self, text: str) -> list[str]:
        """Terms, config file names and code identifiers a text mentions."""
        found: list[str] = []
        lowered = TOKEN.findall(text.lower())
        if not self.sizes.keys().isdisjoint(lowered):
            words = TOKEN.findall(text)
            if len(words) != len(lowered):
                words = lowered
            index = 0
            while index < len(lowered):
                step = 1
                for size in self.sizes.get(lowered[index], ()):
                    if " ".join(lowered[index : index + size]) in self.terms:
                        found.append(" ".join(words[index : index + size]))
                        step = size
                        break
                index += step
        if "_" in text or "." in text or CAMEL_CASE.search(text):
            found += CONFIG_OR_IDENTIFIER.findall(text)
        return found


def implementation_evidence(text: str, terms: TermIndex) -> list[str]:
    """The technology names, config files and identifiers a criterion mentions."""
    return list(dict.fromkeys(terms.find(text)))


@rule("invest.negotiable", Severity.info, "Acceptance criteria prescribe the implementation.")
def negotiable(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: a heuristic. Flags a story when at least two of its Then-items, and at
    least half of them, name a technology or tool (built-in list, the document's Tools &
    Technologies table, ``thresholds.implementation-terms``), a config file or a code
    identifier.
    Why it matters: criteria that fix the solution leave nothing to negotiate; the team
    cannot propose a simpler way to reach the same outcome.
    Example: ``Then Prometheus scraping metrics``, ``Grafana dashboards displaying metrics``.
    Instead: state the outcome: ``Then every service's request rate and latency are visible
    on a dashboard within 1 minute``; keep tool choices in the tasks.
    """
    terms = TermIndex(_tech_terms(ctx))
    for story in ctx.stories:
        criteria = story.acceptance_criteria
        items = criteria.then_items if criteria else ()
        if len(items) < 2:
            continue
        evidence = [implementation_evidence(item, terms) for item in items]
        prescriptive = [found for found in evidence if found]
        if len(prescriptive) >= 2 and 2 * len(prescriptive) >= len(items):
            names = list(dict.fromkeys(name for found in prescriptive for name in found))
            yield Hit(
                story.id,
                f"{story.id}: {len(prescriptive)} of {len(items)} Then-items name an "
                f"implementation ({', '.join(names[:6])}); the criteria prescribe how, "
                "not what",
                criteria.line if criteria and criteria.line else story.line,
                "describe observable outcomes and move tool choices to the tasks",
            )


@rule("invest.valuable", Severity.warning, 'User story states its benefit ("so that").')
def valuable(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: flags a user story without a "so that <benefit>" part.
    Why it matters: without a stated benefit nobody can judge whether the story is Valuable
    or how to trade it off against others.
    Example: ``As a DevOps engineer, I want to deploy Jaeger``.
    Instead: ``... so that I can trace slow requests across services``.
    """
    for story in ctx.stories:
        sentence = story.user_story
        if sentence is not None and sentence.text.strip() and not user_story_parts(sentence)[2]:
            yield Hit(
                story.id,
                f'{story.id}: the user story has no "so that" benefit, so its value is unstated',
                sentence.line or story.line,
                'add "so that <benefit>" naming who gains what',
            )


@rule("invest.estimable", Severity.warning, "Story and its tasks carry usable estimates.")
def estimable(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: flags tasks without an hour estimate and an estimate backlog-bot cannot
    read (``TBD``, ``?``, ``XL-ish``). A T-shirt size (S, M, L, Small, XLarge) is an estimate:
    the estimation guide turns it into points when it has a Size column.
    Why it matters: work that cannot be estimated is not understood well enough to plan;
    unestimated tasks also hide capacity.
    Example: ``2. **Integrate authentication** - Backend`` (no hours).
    Instead: ``2. **Integrate authentication** (6 hrs) - Backend``.
    """
    for story in ctx.stories:
        raw = (story.points_raw or "").strip()
        if story.points is None and raw and tshirt_size(raw) is None:
            line = story.line if is_placeholder(raw) else story.points_line or story.line
            message = (
                f'{story.id}: story points "{raw}" are not an estimate'
                if is_placeholder(raw)
                else f'{story.id}: could not read the estimate "{raw}" at line {line}'
            )
            yield Hit(
                story.id,
                message,
                line,
                "estimate it on the team's scale: " + ", ".join(map(str, ctx.points_scale)),
            )
        missing = [task for task in story.tasks if task.hours is None]
        if missing:
            titles = ", ".join(f'"{task.title}"' for task in missing[:3])
            yield Hit(
                story.id,
                f"{story.id}: {len(missing)} of {len(story.tasks)} tasks have no hours ({titles})",
                missing[0].line or story.line,
                "give every task an hour estimate, e.g. (4 hrs)",
            )


@rule("invest.small", Severity.warning, "Story fits the guide's sizes and one sprint.")
def small(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: flags a story bigger than the estimation guide's largest non-epic size
    (a row whose complexity is "Epic" marks epic-sized work; 13 when the guide marks no row
    as Epic; ``thresholds.max-story-points`` overrides) or bigger than the smallest sprint
    capacity.
    Why it matters: a story that is epic-sized by the team's own guide, or larger than a
    sprint, cannot be finished within one sprint; it spills over and hides risk.
    Example: ``**Story Points:** 21`` when the guide says 21 = Epic (48-64 h).
    Instead: split it into stories of at most the largest non-epic size.
    """
    limit, origin = ctx.max_story_points
    capacities = [(s.capacity_points, s.number) for s in ctx.backlog.sprints if s.capacity_points]
    smallest = min(capacities) if capacities else None
    for story in ctx.stories:
        if story.points is None:
            continue
        band = ctx.band(story.points)
        if story.points > limit:
            if band is not None and band in ctx.epic_bands:
                hours = f" ({fmt_number(band.hours_min)}-{fmt_number(band.hours_max)} h)"
                if band.hours_min is None:
                    hours = ""
                why = (
                    f"the estimation guide says {band.points} = {band.complexity}{hours} "
                    f"(line {band.line})"
                )
            else:
                why = f"{origin} is {limit}"
            yield Hit(
                story.id,
                f"{story.id} has {story.points} points: {why}",
                story.line,
                f"split it into stories of at most {limit} points",
            )
        elif smallest is not None and story.points > smallest[0]:
            yield Hit(
                story.id,
                f"{story.id} has {story.points} points, more than sprint {smallest[1]}'s "
                f"capacity of {smallest[0]} points",
                story.line,
                "split it so that each part fits one sprint",
            )


@rule("invest.testable", Severity.warning, "Acceptance criteria in Given/When/Then, not vague.")
def testable(ctx: RuleContext) -> Iterator[Hit]:
    """What it does: flags acceptance criteria that are not in Given/When/Then form, and (as
    info) Then-items with vague words such as "works well", "properly", "as expected"
    (``thresholds.vague-terms``).
    Why it matters: a criterion is Testable when two people would agree on pass or fail;
    Gherkin gives the setting, the action and the outcome, and vague words hide the bar.
    Example: ``Then all API routes properly configured``.
    Instead: ``Then each route in routes.md answers 200 through the gateway``.
    """
    terms = ctx.config.thresholds.vague_terms
    vague = re.compile(
        r"(?<!\w)(?:" + "|".join(re.escape(t) for t in terms) + r")(?!\w)", re.IGNORECASE
    )
    for story in ctx.stories:
        criteria = story.acceptance_criteria
        if criteria is None or not (criteria.steps or criteria.checklist or criteria.raw):
            continue
        line = criteria.line or story.line
        if not criteria.is_gherkin:
            present = sorted({step.keyword for step in criteria.steps} & {"Given", "When", "Then"})
            have = f" (only {', '.join(present)})" if present else ""
            yield Hit(
                story.id,
                f"{story.id}: acceptance criteria are not in Given/When/Then form{have}",
                line,
                "write Given <context> / When <action> / Then <observable outcome>",
            )
        in_then = False
        for step in criteria.steps:
            if step.keyword in ("Given", "When", "Then"):
                in_then = step.keyword == "Then"
            for text in (step.text, *step.items) if in_then else ():
                match = vague.search(text)
                if match:
                    yield Hit(
                        story.id,
                        f'{story.id}: "{text}" is vague ("{match.group(0)}"): '
                        "say what is measured and the bar it must meet",
                        step.line or line,
                        "replace it with a measurable outcome",
                        Severity.info,
                    )
