"""How bad a finding is, and how rule ids are selected by prefix (``dor``, ``invest.small``).

The bottom of the rules package: ``rules.config`` reads severities and prefixes from the config
file, ``rules.base`` builds rules and findings on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Severity(StrEnum):
    """How bad a finding is. Only ``error`` makes ``validate`` exit 1."""

    error = "error"
    warning = "warning"
    info = "info"

    @property
    def rank(self) -> int:
        """0 for error, 1 for warning, 2 for info (sort order: worst first)."""
        return ("error", "warning", "info").index(self.value)


def matches_prefix(rule_id: str, prefixes: Iterable[str]) -> bool:
    """True when ``rule_id`` equals a prefix or starts with ``prefix.`` (``"dor"``, ``"all"``)."""
    for prefix in prefixes:
        prefix = prefix.strip()
        if prefix in ("all", "ALL", "*") or rule_id == prefix:
            return True
        if prefix and (rule_id.startswith(prefix + ".") or rule_id.startswith(prefix + "-")):
            return True
        if prefix.endswith(".") and rule_id.startswith(prefix):
            return True
    return False
