"""Safety checks before ``plan``/``apply`` touch a tracker with a backlog file.

One wrong path in a CI job (``apply README.md --prune``) used to read as an empty backlog and
close the team's whole board. Two checks stop that:

- ``require_stories``: a file with no user stories is not a backlog: exit 2, nothing planned;
- ``check_prune``: ``--prune`` that would close more than ``max_share`` of the issues linked to
  the backlog (``PRUNE_MAX_SHARE``, default 20%) is refused unless ``--prune-all`` says so; the
  refusal lists what would have been closed.
"""

from __future__ import annotations

from dataclasses import dataclass

from backlog.errors import BadInputError
from backlog.model import Backlog
from sync.plan import ISSUE_KINDS, Change, Plan

LISTED = 50  # closes listed in a refusal; the rest are counted


def require_stories(backlog: Backlog, source: str) -> None:
    if not backlog.stories:
        raise BadInputError(
            "no user stories found: this does not look like a backlog, so nothing was planned "
            "(check the path; with --prune every linked issue would have been closed)",
            file=source,
        )


@dataclass(frozen=True)
class PruneCheck:
    target: str
    closes: tuple[Change, ...]
    linked: int  # issues of the target linked to backlog items (open or about to close)
    max_share: float

    @property
    def share(self) -> float:
        return len(self.closes) / self.linked if self.linked else 0.0

    @property
    def allowed(self) -> bool:
        return self.share <= self.max_share

    def refusal(self, source: str) -> str:
        """The lines explaining the refusal: the count, the share, then what would close."""
        lines = [
            f"{self.target}: --prune would close {len(self.closes)} of {self.linked} linked "
            f"issues ({self.share:.0%}), more than the {self.max_share:.0%} allowed "
            f"(PRUNE_MAX_SHARE) for {source}; nothing was changed. If this is intended, "
            "run again with --prune-all."
        ]
        for change in self.closes[:LISTED]:
            lines.append(
                f"  x close  {change.kind:<7} {change.backlog_id} {change.remote_key or ''}"
            )
        if len(self.closes) > LISTED:
            lines.append(f"  ... and {len(self.closes) - LISTED} more")
        return "\n".join(line.rstrip() for line in lines)


def check_prune(plan: Plan, max_share: float) -> PruneCheck:
    """How much of the target a pruning ``plan`` would close."""
    closes = tuple(c for c in plan.changes if c.action == "close" and c.kind in ISSUE_KINDS)
    linked = {
        (c.kind, c.backlog_id)
        for c in plan.changes
        if c.kind in ISSUE_KINDS and c.remote_key and c.action != "orphan"
    }
    return PruneCheck(plan.target, closes, len(linked), max_share)
