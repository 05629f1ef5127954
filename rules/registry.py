"""The rule registry: rules register themselves with the ``@rule`` decorator.

Rule modules are imported by ``load_rules()``; importing ``rules.registry`` alone registers
nothing, so that tests can build private registries.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable

from rules.base import RULE_ID, CheckFunction, Lifecycle, Rule, Scope, Severity, matches_prefix

RULE_MODULES = (
    "rules.ready",
    "rules.invest",
    "rules.estimate",
    "rules.capacity",
    "rules.consistency",
    "rules.dependency",
    "rules.plan",
    "rules.done",
    "rules.document",
)

_REGISTRY: dict[str, Rule] = {}


def rule(
    rule_id: str,
    severity: Severity | str,
    summary: str,
    *,
    lifecycle: Lifecycle | str = Lifecycle.stable,
    scope: Scope = "backlog",
) -> Callable[[CheckFunction], CheckFunction]:
    """Register the decorated check function as rule ``rule_id``."""

    def register(check: CheckFunction) -> CheckFunction:
        if not RULE_ID.match(rule_id):
            raise ValueError(f"rule id {rule_id!r} is not of the form family.name")
        if rule_id in _REGISTRY and _REGISTRY[rule_id].check is not check:
            raise ValueError(f"rule id {rule_id!r} registered twice")
        _REGISTRY[rule_id] = Rule(
            id=rule_id,
            severity=Severity(severity),
            summary=summary,
            check=check,
            lifecycle=Lifecycle(lifecycle),
            scope=scope,
        )
        return check

    return register


def load_rules() -> dict[str, Rule]:
    """Import every rule module (idempotent) and return the registry, keyed by id."""
    for module in RULE_MODULES:
        importlib.import_module(module)
    return dict(sorted(_REGISTRY.items()))


def all_rules() -> list[Rule]:
    return list(load_rules().values())


def get_rule(rule_id: str) -> Rule | None:
    return load_rules().get(rule_id)


def select_rules(
    rules: Iterable[Rule],
    *,
    select: Iterable[str] = ("all",),
    ignore: Iterable[str] = (),
    preview: bool = False,
    scope: Scope | None = None,
) -> list[Rule]:
    """The rules enabled by select/ignore prefixes (a linter's semantics).

    A rule runs when some ``select`` prefix matches it and no ``ignore`` prefix does, unless an
    ignore prefix is less specific than the select prefix naming it (``ignore=["dor"]``,
    ``select=["dor.estimated"]`` keeps ``dor.estimated``). Preview rules run only when
    ``preview`` is true or a select prefix names them exactly.
    """
    select = tuple(select)
    ignore = tuple(ignore)
    chosen: list[Rule] = []
    for item in rules:
        if scope is not None and item.scope != scope:
            continue
        selecting = [p for p in select if matches_prefix(item.id, [p])]
        if not selecting:
            continue
        if item.lifecycle is Lifecycle.preview and not preview and item.id not in select:
            continue
        ignoring = [p for p in ignore if matches_prefix(item.id, [p])]
        if ignoring and max(map(_specificity, ignoring)) >= max(map(_specificity, selecting)):
            continue
        chosen.append(item)
    return chosen


def _specificity(prefix: str) -> int:
    return 0 if prefix in ("all", "ALL", "*") else len(prefix)


def unknown_selectors(prefixes: Iterable[str]) -> list[str]:
    """Selectors (select/ignore/severity keys) that match no registered rule."""
    registry = load_rules()
    return [
        prefix
        for prefix in prefixes
        if not any(matches_prefix(rule_id, [prefix]) for rule_id in registry)
    ]
