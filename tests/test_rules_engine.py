"""The engine itself: registry, documentation, selection, configuration, crash isolation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from backlog.errors import ConfigurationError
from rules.base import RULE_ID, Hit, Lifecycle, Rule, Severity
from rules.config import RulesConfig, load_rules_config
from rules.context import RuleContext
from rules.forecast import monte_carlo, percentile
from rules.registry import load_rules, select_rules, unknown_selectors
from rules.runner import CRASH_RULE, check_live_issue, run_rules
from tests.rules_factories import clean_backlog, story

REQUIRED_FAMILIES = {"dor", "dod", "invest", "capacity", "consistency", "dependency", "estimate"}
REQUIRED_IDS = {
    "invest.independent", "invest.negotiable", "invest.valuable", "invest.estimable",
    "invest.small", "invest.testable", "capacity.points", "capacity.role-hours",
    "consistency.epic-points", "consistency.sprint-points", "consistency.stated-hours",
    "consistency.dependency-mismatch", "dependency.unknown", "dependency.cycle",
    "dependency.order", "dependency.same-sprint", "estimate.scale", "estimate.points-hours",
    "plan.unscheduled",
}  # fmt: skip


def test_registry_ids_are_unique_well_formed_and_complete() -> None:
    registry = load_rules()
    assert all(RULE_ID.match(rule_id) for rule_id in registry)
    assert len({rule.check for rule in registry.values()}) == len(registry)
    assert set(registry) >= REQUIRED_IDS
    assert {rule.family for rule in registry.values()} >= REQUIRED_FAMILIES
    assert len([r for r in registry if r.startswith("dor.")]) >= 7


@pytest.mark.parametrize("rule", load_rules().values(), ids=lambda r: r.id)
def test_rule_is_documented(rule: Rule) -> None:
    assert rule.summary and rule.summary.endswith(".") and len(rule.summary) <= 80
    assert rule.missing_doc_sections() == []
    assert rule.doc.startswith("What it does:")


def _rule(rule_id: str, lifecycle: Lifecycle = Lifecycle.stable) -> Rule:
    return Rule(rule_id, Severity.warning, "x.", lambda ctx: iter(()), lifecycle)


def test_select_and_ignore_by_prefix() -> None:
    rules = [_rule("dor.estimated"), _rule("dor.prioritized"), _rule("invest.small")]
    ids = lambda chosen: [r.id for r in chosen]  # noqa: E731
    assert ids(select_rules(rules)) == ["dor.estimated", "dor.prioritized", "invest.small"]
    assert ids(select_rules(rules, select=["dor"])) == ["dor.estimated", "dor.prioritized"]
    assert ids(select_rules(rules, ignore=["dor"])) == ["invest.small"]
    # a more specific select wins over a broader ignore, like linters do
    assert ids(select_rules(rules, select=["dor.estimated"], ignore=["dor"])) == ["dor.estimated"]
    assert ids(select_rules(rules, select=["do"])) == []  # prefixes stop at a dot or dash


def test_preview_rules_need_opting_in() -> None:
    rules = [_rule("document.unparsed-section", Lifecycle.preview)]
    assert select_rules(rules) == []
    assert select_rules(rules, preview=True) == rules
    assert select_rules(rules, select=["document.unparsed-section"]) == rules


def test_unknown_selectors_are_named() -> None:
    assert unknown_selectors(["dor", "invest.small", "all", "nope", "dor.x"]) == ["nope", "dor.x"]


def test_crashing_rule_becomes_a_finding() -> None:
    def broken(ctx: RuleContext) -> Iterator[Hit]:
        """What it does: breaks."""
        yield Hit("US-001", "fine")
        raise KeyError("story")

    rules = [Rule("test.broken", Severity.info, "x.", broken), load_rules()["invest.small"]]
    backlog = clean_backlog(story("US-001", 100, points=21))
    findings = run_rules(backlog, rules=rules)
    assert [(f.rule, f.item, f.severity) for f in findings] == [
        (CRASH_RULE, "test.broken", Severity.error),
        ("invest.small", "US-001", Severity.warning),
    ]
    assert findings[0].message == (
        "rule test.broken crashed (KeyError: 'story'); the other rules ran"
    )


def test_config_from_mapping_normalises_and_validates() -> None:
    config = RulesConfig.from_mapping(
        {
            "select": "dor",
            "ignore": ["dor.capacity"],
            "severity": {"dor": "ERROR"},
            "per-item-ignores": {"US-001": ["dor"]},
            "thresholds": {"max-story-points": 8, "vague-terms": ["nice"]},
            "forecast": {"start-date": "2026-01-05", "seed": 7},
        },
        source="x.toml",
    )
    assert config.select == ("dor",)
    assert config.severity_for("dor.estimated") is Severity.error
    assert config.is_suppressed("dor.estimated", "US-001")
    assert not config.is_suppressed("dor.estimated", "US-002")
    assert config.thresholds.max_story_points == 8
    assert config.thresholds.vague_terms == ("nice",)
    assert config.forecast.start_date == date(2026, 1, 5)
    assert config.forecast.seed == 7


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"selct": ["dor"]}, "x.toml: unknown key 'selct' in [rules]"),
        ({"severity": {"dor": "fatal"}}, "must be error, warning or info, not 'fatal'"),
        ({"thresholds": {"max-points": 3}}, "unknown key 'max-points' in [rules.thresholds]"),
        ({"forecast": {"start-date": "soon"}}, "rules.forecast.start-date has an unusable"),
        ({"ignore": [1]}, "rules ignore must be a list of rule id prefixes"),
    ],
)
def test_config_errors_name_the_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=r"x\.toml") as raised:
        RulesConfig.from_mapping(table, source="x.toml")
    assert message in str(raised.value)


def test_config_files(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.backlog-bot.rules]\nignore = ["estimate"]\n', encoding="utf-8"
    )
    assert load_rules_config(cwd=tmp_path).ignore == ("estimate",)
    (tmp_path / "backlog-bot.toml").write_text(
        '[rules]\nselect = ["dor"]\n[rules.thresholds]\nmin-approvals = 3\n', encoding="utf-8"
    )
    config = load_rules_config(cwd=tmp_path)  # backlog-bot.toml wins over pyproject.toml
    assert (config.select, config.ignore, config.thresholds.min_approvals) == (("dor",), (), 3)
    assert load_rules_config(cwd=tmp_path / "missing-dir") == RulesConfig()
    (tmp_path / "bad.toml").write_text("[rules\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="invalid TOML"):
        load_rules_config(tmp_path / "bad.toml")


def test_thresholds_change_the_rules() -> None:
    backlog = clean_backlog(estimation_guide=())  # no guide: the default limit of 13 applies
    config = RulesConfig.from_mapping({"thresholds": {"max-story-points": 5}})
    found = run_rules(backlog, config)
    assert [f.message for f in found if f.rule == "invest.small"] == [
        "US-001 has 8 points: the configured max-story-points is 5",
        "US-002 has 8 points: the configured max-story-points is 5",
    ]


def test_check_live_issue_runs_only_dod_rules() -> None:
    from rules.live import LiveIssue

    issue = LiveIssue(key="BSS-9", done=True)
    found = check_live_issue(issue)
    assert [(f.rule, f.item, f.file, f.line) for f in found] == [
        ("dod.reviewed", "BSS-9", "BSS-9", 0)
    ]


def test_percentile_is_nearest_rank() -> None:
    assert [percentile([1, 2, 3, 4], p) for p in (1, 50, 75, 100)] == [1, 2, 3, 4]


def test_monte_carlo_is_seeded_and_ordered() -> None:
    from rules.config import ForecastConfig

    config = ForecastConfig(iterations=2000, seed=3, start_date=date(2026, 1, 5))
    first = monte_carlo(100, [10, 20, 30], config)
    assert first is not None and first == monte_carlo(100, [10, 20, 30], config)
    sprints = [first.at(p).sprints for p in (50, 85, 95)]
    assert sprints == sorted(sprints)
    assert 4 <= sprints[0] <= 10  # 100 points at 10-30 a sprint: between 4 and 10 sprints
    assert first.at(50).end_date == date(2026, 1, 5) + timedelta(days=14 * sprints[0] - 1)
    assert monte_carlo(100, [], config) is None
    # a constant velocity has no spread
    steady = monte_carlo(100, [25], config)
    assert steady is not None and {p.sprints for p in steady.points} == {4}


def test_docs_reference_is_generated_from_the_registry() -> None:
    from rules.docs import render

    committed = (Path(__file__).resolve().parents[1] / "docs" / "rules.md").read_text("utf-8")
    assert committed == render(), "run: python -m rules.docs > docs/rules.md"
    for rule_id in load_rules():
        assert f"### {rule_id}\n" in committed
