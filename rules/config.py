"""Rules configuration: which rules run, their severities, thresholds and suppressions.

Read from the ``[rules]`` table of ``backlog-bot.toml`` or ``[tool.backlog-bot.rules]`` of
``pyproject.toml`` (this module reads TOML itself; it does not depend on ``bot``)::

    [rules]
    select = ["all"]                 # id prefixes: "dor", "invest.small", "all"
    ignore = ["dependency.same-sprint"]
    preview = false                  # also run preview rules
    [rules.severity]                 # id or prefix -> error | warning | info
    "estimate" = "info"
    [rules.per-item-ignores]         # item -> id prefixes silenced for it
    "US-029" = ["dependency.same-sprint"]
    [rules.thresholds]
    max-story-points = 13            # default: the guide's largest non-epic band, else 13
    min-approvals = 1                # used when the DoD names no number of approvals
    min-coverage = 80                # used when the DoD asks for coverage without a number
    [rules.forecast]
    start-date = "2026-01-05"
    iterations = 10000
    seed = 1

Inline suppressions in the backlog (``Story.suppressions``, from an HTML comment on the story)
work like per-item ignores. The backlog's own definitions always win over these defaults.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any

from backlog.errors import ConfigurationError
from rules.severity import Severity, matches_prefix

DEFAULT_POINTS_SCALE = (1, 2, 3, 5, 8, 13, 21)
DEFAULT_VAGUE_TERMS = (
    "works well",
    "work well",
    "properly",
    "as expected",
    "correctly",
    "appropriate",
    "user-friendly",
    "user friendly",
    "fast enough",
    "robust",
    "seamless",
    "efficiently",
    "good performance",
)


@dataclass(frozen=True)
class Thresholds:
    """Numbers the rules use when the backlog document does not state its own."""

    points_scale: tuple[int, ...] = DEFAULT_POINTS_SCALE
    max_story_points: int | None = None
    default_max_story_points: int = 13
    max_dependencies: int = 3
    min_approvals: int = 1
    min_coverage: float = 80.0
    vague_terms: tuple[str, ...] = DEFAULT_VAGUE_TERMS
    implementation_terms: tuple[str, ...] = ()
    docs_paths: tuple[str, ...] = ("docs/", "README", "CHANGELOG", ".md", ".rst", "adr/")


@dataclass(frozen=True)
class ForecastConfig:
    """Monte Carlo forecast settings (seeded: the same input gives the same forecast)."""

    iterations: int = 10_000
    seed: int = 20_240_101
    start_date: date | None = None
    sprint_length_days: int = 14


@dataclass(frozen=True)
class RulesConfig:
    select: tuple[str, ...] = ("all",)
    ignore: tuple[str, ...] = ()
    preview: bool = False
    severity: Mapping[str, Severity] = field(default_factory=dict)
    per_item_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)
    forecast: ForecastConfig = field(default_factory=ForecastConfig)
    source: str = "<defaults>"

    def severity_for(self, rule_id: str) -> Severity | None:
        """The configured severity for a rule: the most specific matching key wins."""
        best: tuple[int, Severity] | None = None
        for key, level in self.severity.items():
            if matches_prefix(rule_id, [key]) and (best is None or len(key) > best[0]):
                best = (len(key), level)
        return best[1] if best else None

    def is_suppressed(self, rule_id: str, item: str) -> bool:
        return matches_prefix(rule_id, self.per_item_ignores.get(item, ()))

    def with_selection(
        self, select: tuple[str, ...] | None = None, ignore: tuple[str, ...] | None = None
    ) -> RulesConfig:
        """A copy with command-line ``--select`` replacing and ``--ignore`` extending."""
        from dataclasses import replace

        return replace(
            self,
            select=select if select else self.select,
            ignore=self.ignore + (ignore or ()),
        )

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any], source: str = "<mapping>") -> RulesConfig:
        """Build from a ``[rules]`` table; unknown keys and bad values raise ConfigurationError."""
        data = _normalise(table, source, "rules")
        known = {"select", "ignore", "preview", "severity", "per_item_ignores"}
        known |= {"thresholds", "forecast"}
        _reject_unknown(data, known, source, "rules")
        severity = {
            str(key): _severity(value, source, key)
            for key, value in dict(data.get("severity", {})).items()
        }
        per_item = {
            str(item): _strings(value, source, f"per-item-ignores.{item}")
            for item, value in dict(data.get("per_item_ignores", {})).items()
        }
        return cls(
            select=_strings(data.get("select", ["all"]), source, "select"),
            ignore=_strings(data.get("ignore", []), source, "ignore"),
            preview=bool(data.get("preview", False)),
            severity=severity,
            per_item_ignores=per_item,
            thresholds=_dataclass_from(Thresholds, data.get("thresholds", {}), source),
            forecast=_dataclass_from(ForecastConfig, data.get("forecast", {}), source),
            source=source,
        )


def load_rules_config(path: Path | None = None, *, cwd: Path | None = None) -> RulesConfig:
    """Read the rules configuration from ``path`` or discover it in ``cwd``.

    ``path`` may be a ``backlog-bot.toml`` (table ``[rules]``) or a ``pyproject.toml`` (table
    ``[tool.backlog-bot.rules]``). Without ``path``: ``./backlog-bot.toml``, else
    ``./pyproject.toml``, else the defaults.
    """
    if path is None:
        base = cwd or Path.cwd()
        for candidate in (base / "backlog-bot.toml", base / "pyproject.toml"):
            if candidate.is_file():
                path = candidate
                break
        else:
            return RulesConfig()
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigurationError(f"{path}: rules config file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: invalid TOML: {exc}") from exc
    if path.name == "pyproject.toml":
        table = document.get("tool", {}).get("backlog-bot", {}).get("rules", {})
    else:
        table = document.get("rules", {})
    return RulesConfig.from_mapping(table, source=str(path))


def _normalise(table: Mapping[str, Any], source: str, where: str) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise ConfigurationError(f"{source}: [{where}] must be a table")
    return {str(key).replace("-", "_"): value for key, value in table.items()}


def _reject_unknown(data: Mapping[str, Any], known: set[str], source: str, where: str) -> None:
    for key in data:
        if key not in known:
            options = ", ".join(sorted(name.replace("_", "-") for name in known))
            raise ConfigurationError(
                f"{source}: unknown key {key.replace('_', '-')!r} in [{where}] (known: {options})"
            )


def _strings(value: Any, source: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigurationError(f"{source}: rules {key} must be a list of rule id prefixes")
    return tuple(value)


def _severity(value: Any, source: str, key: str) -> Severity:
    try:
        return Severity(str(value).lower())
    except ValueError as exc:
        raise ConfigurationError(
            f"{source}: rules severity for {key!r} must be error, warning or info, not {value!r}"
        ) from exc


def _dataclass_from(kind: type[Any], table: Any, source: str) -> Any:
    name = kind.__name__.lower().replace("config", "")
    data = _normalise(table, source, f"rules.{name}")
    kinds = {f.name: f for f in fields(kind)}
    _reject_unknown(data, set(kinds), source, f"rules.{name}")
    values: dict[str, Any] = {}
    defaults = kind()
    for key, value in data.items():
        current = getattr(defaults, key)
        try:
            if isinstance(current, tuple):
                values[key] = tuple(value)
            elif key == "start_date":
                values[key] = value if isinstance(value, date) else date.fromisoformat(str(value))
            elif isinstance(current, bool):
                values[key] = bool(value)
            elif isinstance(current, float):
                values[key] = float(value)
            elif isinstance(current, int) or key == "max_story_points":
                values[key] = int(value)
            else:
                values[key] = value
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"{source}: rules.{name}.{key.replace('_', '-')} has an unusable value {value!r}"
            ) from exc
    return kind(**values)
