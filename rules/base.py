"""The vocabulary of the rules engine: severities, lifecycles, findings and rules.

A rule is a small registered unit (see ``rules.registry``): a stable id such as
``invest.small``, a default severity, a lifecycle, a one-line summary and a docstring written as
*What it does / Why it matters / Example / Instead*. A rule's check function reads a
``RuleContext`` and yields ``Hit`` records; the runner turns them into ``Finding`` records,
applying the configured severity and the backlog's file name. Findings are data, never
exceptions.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

# Severity and matches_prefix live in rules.severity, below rules.config (which the context
# reads and this module's check functions take); imported names stay available from here.
from rules.severity import Severity as Severity
from rules.severity import matches_prefix as matches_prefix

if TYPE_CHECKING:
    from rules.context import RuleContext

RULE_ID = re.compile(r"^[a-z]+(\.[a-z0-9]+(-[a-z0-9]+)*)+$")
DOC_SECTIONS = ("What it does", "Why it matters", "Example", "Instead")


class Lifecycle(StrEnum):
    """``stable`` rules run by default; ``preview`` rules only when preview is enabled."""

    stable = "stable"
    preview = "preview"


Scope = Literal["backlog", "live"]


@dataclass(frozen=True, slots=True)
class Hit:
    """What a rule reports: the runner adds the rule id, the severity and the file.

    ``severity`` lets a rule report one case at a lower level than its default (for example
    vague Then-items under ``invest.testable`` are info); a configured override wins over both.
    ``file`` replaces the backlog's file name (a live issue's URL for DoD findings).
    """

    item: str
    message: str
    line: int = 0
    suggestion: str = ""
    severity: Severity | None = None
    file: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in a backlog or live issue, as data."""

    rule: str
    severity: Severity
    item: str
    message: str
    file: str
    line: int
    suggestion: str = ""

    def to_dict(self) -> dict[str, Any]:
        # Spelled out rather than dataclasses.asdict, which deep-copies every field (reports
        # hold thousands of findings).
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "item": self.item,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "suggestion": self.suggestion,
        }

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line, self.severity.rank, self.rule, self.item)


CheckFunction = Callable[["RuleContext"], Iterable[Hit]]


@dataclass(frozen=True, slots=True)
class Rule:
    """A registered rule. ``doc`` is the check function's docstring."""

    id: str
    severity: Severity
    summary: str
    check: CheckFunction
    lifecycle: Lifecycle = Lifecycle.stable
    scope: Scope = "backlog"

    @property
    def doc(self) -> str:
        """The docstring, one paragraph per section (What it does, Why it matters, ...)."""
        text = inspect.cleandoc(self.check.__doc__ or "")
        for section in DOC_SECTIONS[1:]:
            text = text.replace(f"\n{section}:", f"\n\n{section}:")
        return text

    @property
    def family(self) -> str:
        return self.id.split(".", 1)[0]

    def missing_doc_sections(self) -> list[str]:
        """Doc sections absent from the docstring (empty for a well-documented rule)."""
        return [section for section in DOC_SECTIONS if f"{section}:" not in self.doc]


def fmt_number(value: float | None) -> str:
    """``64.0`` -> ``64``, ``7.5`` -> ``7.5``; used in every message with hours or points."""
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
