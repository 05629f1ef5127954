"""One GitOps run: read the backlog from the default branch and every configured tracker,
write the tracker-side changes into the text, and propose it as one pull request edited in
place (the mode as a whole: ``bot.gitops``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from backlog.errors import BadInputError, ConfigurationError, RemoteError
from bot.gitops.lines import merge_lines
from sync.github.port import BranchCommit, CommitIdentity, Comparison

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.targets.factory import SyncTarget
    from sync.github.port import OpenPull, RepoFilesPort
    from sync.twoway import Drift

log = logging.getLogger(__name__)
BRANCH = "backlog-bot/sync"
TITLE = "backlog-bot: changes from Jira/GitHub"
MARKER = "<!-- backlog-bot:gitops -->"
# Who the bot's commits name as author and committer: with the title as the message's first
# line, what tells the bot's commits on its branch from the ones people push to it (a commit
# amended, rebased or cherry-picked by hand names its committer instead).
IDENTITY = CommitIdentity("backlog-bot", "backlog-bot@users.noreply.invalid")
DEBOUNCE_SECONDS = 10.0  # [sync] gitops-debounce-seconds
MAX_WAIT_SECONDS = 60.0  # [sync] gitops-max-wait-seconds


@dataclass(frozen=True)
class GitOpsConfig:
    """Where the backlog lives in the repository and the branch of the pull request."""

    path: str
    branch: str = BRANCH
    debounce_seconds: float = DEBOUNCE_SECONDS  # a burst of deliveries -> one run
    max_wait_seconds: float = MAX_WAIT_SECONDS

    @classmethod
    def from_settings(cls, settings: Settings) -> GitOpsConfig | None:
        """The GitOps settings, or None when the mode is off: no GitHub repository, no
        ``[validation] backlog-path``, or ``[sync] pull-request = false``."""
        from bot.github_credentials import has_github_credentials
        from bot.settings import load_config_table

        sync = load_config_table("sync")
        enabled = sync.get("pull-request", sync.get("pull_request", True))
        if not isinstance(enabled, bool):
            raise ConfigurationError("[sync] pull-request must be true or false")
        branch = str(sync.get("branch") or BRANCH)
        debounce = _seconds(sync, "gitops-debounce-seconds", DEBOUNCE_SECONDS)
        longest = _seconds(sync, "gitops-max-wait-seconds", max(MAX_WAIT_SECONDS, debounce))
        if longest < debounce:
            raise ConfigurationError(
                f"[sync] gitops-max-wait-seconds = {longest:g} is shorter than "
                f"gitops-debounce-seconds = {debounce:g}: make it at least as long"
            )
        validation = load_config_table("validation")
        path = str(validation.get("backlog-path") or validation.get("backlog_path") or "")
        github = has_github_credentials(settings) and bool(settings.github_repository)
        if not (enabled and path and github):
            return None
        return cls(path.removeprefix("./").lstrip("/"), branch, debounce, longest)


def _seconds(table: Mapping[str, object], key: str, default: float) -> float:
    """A ``[sync]`` duration in seconds (either spelling), zero or more."""
    value = table.get(key, table.get(key.replace("-", "_"), default))
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigurationError(f"[sync] {key} = {value!r}: use a number of seconds, 0 or more")
    return float(value)


@dataclass
class Proposal:
    """The backlog text with the tracker-side changes, and what was found on the way."""

    text: str
    changes: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    blocked: str | None = None  # why nothing can be proposed (the file does not parse)


@dataclass
class Outcome:
    """What a run did: ``opened``, ``updated``, ``unchanged``, ``closed``, ``held`` (the
    branch carries commits the bot did not make and is left alone) or ``none``."""

    action: str
    number: int | None = None
    sha: str | None = None
    proposal: Proposal | None = None
    why: str = ""

    def line(self) -> str:
        changes = len(self.proposal.changes) if self.proposal else 0
        conflicts = len(self.proposal.conflicts) if self.proposal else 0
        what = f"{changes} change(s), {conflicts} conflict(s)"
        if self.action == "none":
            return f"gitops: nothing to propose ({self.why or what})"
        if self.action == "held":
            return f"gitops: {self.why} ({what})"
        return f"gitops: pull request #{self.number} {self.action} ({what})"


class GitOps:
    """One run proposes the tracker-side changes as the pull request (see the module doc)."""

    def __init__(
        self,
        config: GitOpsConfig,
        repository: Callable[[], RepoFilesPort],
        targets: Callable[[], Mapping[str, SyncTarget]],
        *,
        policy: Callable[[], str] | None = None,
    ) -> None:
        self.config = config
        self.repository = repository
        self.targets = targets
        self.policy = policy

    def run(self) -> Outcome:
        repo = self.repository()
        try:
            return self._run(repo)
        finally:
            repo.close()

    def _run(self, repo: RepoFilesPort) -> Outcome:
        path, branch = self.config.path, self.config.branch
        base = repo.default_branch()
        head = repo.branch_head(base)
        text = repo.contents_text(path, head) if head else None
        if head is None or text is None:
            return Outcome("none", why=f"{path} is not on the branch {base}")
        proposal = self.propose(text)
        if proposal.blocked:
            return Outcome("none", proposal=proposal, why=proposal.blocked)
        pull = repo.open_pull(branch, base)
        branch_head = repo.branch_head(branch)
        comparison = repo.compare(head, branch_head) if branch_head else None
        foreign = others_commits(comparison) if comparison else []
        if proposal.text == text and not foreign:
            if pull is None:
                return Outcome("none", proposal=proposal)
            note = "Closed by backlog-bot: nothing from the trackers is left to write."
            left = [f"- {line}" for line in proposal.conflicts]
            if left:
                note += "\n\nConflicts to resolve (left alone on both sides):\n" + "\n".join(left)
            repo.edit_pull(pull.number, body=f"{note}\n\n{MARKER}\n", state="closed")
            return Outcome("closed", pull.number, proposal=proposal)
        if proposal.text == text:  # kept open: the commits pushed to it are theirs to close
            why = "nothing from the trackers is left to write"
            return self._hold(repo, pull, branch_head, foreign, proposal, why, base)
        message = commit_message(proposal)
        sha = None
        if branch_head is None or comparison is None:
            sha = repo.commit_file(branch, path, proposal.text, parent=head, message=message,
                                   identity=IDENTITY)  # fmt: skip
        elif comparison.behind_by == 0:  # the branch holds the base: a commit on top of it
            current = repo.contents_text(path, branch_head)
            merged: str | None = proposal.text
            if foreign:  # their edits kept: only the lines the bot changes since are written
                last = self._last_written(repo, comparison, text)
                merged = None if current is None else merge_lines(last, current, proposal.text)
            if merged is None:
                why = f"the changes touch lines that the branch's other commits change in {path}"
                return self._hold(repo, pull, branch_head, foreign, proposal, why, base)
            if merged != current:
                sha = repo.commit_file(branch, path, merged, parent=branch_head, message=message,
                                       identity=IDENTITY)  # fmt: skip
        elif foreign:
            why = f"{base} moved on, and rebuilding the branch on it would drop those commits"
            return self._hold(repo, pull, branch_head, foreign, proposal, why, base)
        else:  # base moved on: rebuilt on it, replacing only the bot's own commits
            sha = repo.commit_file(branch, path, proposal.text, parent=head, message=message,
                                   identity=IDENTITY, replace=branch_head)  # fmt: skip
        body = pull_body(proposal, path)
        if pull is None:
            pull = self._open(repo, branch, base, body)
            return Outcome("opened", pull.number, sha, proposal)
        if pull.body != body or pull.title != TITLE:
            repo.edit_pull(pull.number, title=TITLE, body=body)
        elif sha is None:
            return Outcome("unchanged", pull.number, proposal=proposal)
        return Outcome("updated", pull.number, sha, proposal)

    def _last_written(self, repo: RepoFilesPort, comparison: Comparison, text: str) -> str:
        """The file as the bot's newest commit on the branch wrote it (the base's text when
        the branch has none): what the people's commits changed it from."""
        for commit in reversed(comparison.ahead):
            if is_bot_commit(commit):
                written = repo.contents_text(self.config.path, commit.sha)
                return text if written is None else written
        return text

    def _hold(
        self,
        repo: RepoFilesPort,
        pull: OpenPull | None,
        branch_head: str | None,
        foreign: list[BranchCommit],
        proposal: Proposal,
        why: str,
        base: str,
    ) -> Outcome:
        """The branch carries commits not made by the bot: left alone, and the pull request
        says so once per head of the branch."""
        commits = [f"- {c.sha[:12]} by {c.committer.name or c.committer.email}: "
                   f"{(c.message.splitlines() or [''])[0]}" for c in foreign]  # fmt: skip
        line = f"branch {self.config.branch} left alone: {why}"
        if pull is None:
            log.warning("gitops branch held", extra={"why": why, "head": branch_head})
            return Outcome("held", proposal=proposal, why=line)
        mark = f"<!-- backlog-bot:gitops-held {branch_head} -->"
        if not any(mark in comment for comment in repo.pull_comments(pull.number)):
            changes = [f"- {change}" for change in proposal.changes] or ["- (none)"]
            body = "\n".join([
                f"backlog-bot did not update `{self.config.branch}`: {why}. It carries commits "
                "that backlog-bot did not make, and it never overwrites them:",
                *commits,
                "",
                "The changes from the trackers it would have written:",
                *changes,
                "",
                f"Bring the branch up to date by hand (merge `{base}` into it, keeping both "
                "sides), or close this pull request and delete the branch: backlog-bot then "
                "writes them at the next change from a tracker.",
                mark,
            ])  # fmt: skip
            repo.comment_pull(pull.number, body)
        return Outcome("held", pull.number, proposal=proposal, why=line)

    def _open(self, repo: RepoFilesPort, branch: str, base: str, body: str) -> OpenPull:
        try:
            return repo.create_pull(branch, base, title=TITLE, body=body)
        except RemoteError as exc:
            existing = repo.open_pull(branch, base)  # opened meanwhile by another run
            if existing is None:
                raise
            log.info("gitops pull request found after a refused create", extra={"error": str(exc)})
            repo.edit_pull(existing.number, title=TITLE, body=body)
            return existing

    def propose(self, text: str) -> Proposal:
        """``text`` with every configured tracker's changes written in, target by target."""
        from backlog.parse import parse_text
        from bot.targets.newstories import append_new
        from bot.targets.twoway import measure, policy, pull_into, record_agreed

        conflicts = self.policy() if self.policy else policy()
        proposal = Proposal(text)
        for name, runner in self.targets().items():
            try:
                backlog = parse_text(proposal.text, self.config.path)
                drift = measure(runner, backlog, proposal.text, conflicts)
                unsure = [m for m in drift.merges if not m.has_base]
                drift.merges = [m for m in drift.merges if m.has_base]
                result = pull_into(runner, backlog, proposal.text, drift)
                record_agreed(runner, backlog, drift)
                edited = parse_text(result.edit.text, self.config.path)
                added = append_new(runner, edited, result.edit.text)
            except BadInputError as exc:
                proposal.blocked = f"{self.config.path} does not parse: {exc}"
                return proposal
            finally:  # a tracker that fails fails the run: the pull request is left as it is
                runner.close()
            proposal.text = added.result.text
            proposal.changes += _describe(name, drift, {(e.story_id, e.field)
                                                        for e in result.edit.applied})  # fmt: skip
            proposal.conflicts += [
                f"{name} {m.item} {drift.keys.get(m.item, '')}: {m.describe()}"
                for m in drift.conflicts
            ]
            proposal.notes += [
                f"{name} {edit.story_id}: {edit.field} not written: {why}"
                for edit, why in result.edit.skipped
            ]
            proposal.changes += [
                f"{name} {new_id} {story.source}: new story {story.title!r} in {story.epic_id} "
                "(tracker)"
                for story, new_id in added.result.added
            ]
            proposal.notes += [
                f"{name} {story.source}: new story {story.title!r} not written: {why}"
                for story, why in added.result.skipped
            ]
            proposal.notes += [
                f"{name} {m.item}: {m.field} differs ({m.describe()}) but has no merge base "
                "yet (linked before two-way sync): the next apply records one"
                for m in unsure
            ]
        return proposal


def is_bot_commit(commit: BranchCommit) -> bool:
    first = (commit.message.splitlines() or [""])[0]
    return commit.committer == IDENTITY and first == TITLE


def others_commits(comparison: Comparison) -> list[BranchCommit]:
    """The branch's commits (not on the base) that the bot did not make; when GitHub listed
    only some, the unlisted ones count as others' (nothing unseen is overwritten)."""
    others = [commit for commit in comparison.ahead if not is_bot_commit(commit)]
    if not comparison.complete:
        unlisted = CommitIdentity("", "")
        others.append(BranchCommit("?" * 12, "(more commits than GitHub listed)", unlisted))
    return others


def _describe(name: str, drift: Drift, written: set[tuple[str, str]]) -> list[str]:
    lines = []
    for merge in sorted(drift.to_pull, key=lambda m: (m.item, m.field)):
        field_name = "heading" if merge.field == "title" else merge.field
        if (merge.item, field_name) in written:
            lines.append(
                f"{name} {merge.item} {drift.keys.get(merge.item, '')}: {merge.describe()}"
            )
    return lines


def pull_body(proposal: Proposal, path: str) -> str:
    """The pull request's description: every change, every conflict, the marker."""
    lines = [
        f"Changes made in Jira/GitHub since the last apply, written into `{path}` by "
        "backlog-bot (only these lines change). Merging this pull request takes them into the "
        "backlog; the apply that follows the merge finds both sides equal and writes nothing.",
        "",
        "### Changes from the trackers",
        *[f"- {line}" for line in proposal.changes],
    ]
    if proposal.conflicts:
        lines += [
            "",
            "### Conflicts (changed in the file and on the tracker; left alone)",
            *[f"- {line}" for line in proposal.conflicts],
            "",
            "Resolve each in the file or on the tracker, or choose a side with "
            '`[sync] conflicts = "file-wins"` or `"tracker-wins"`.',
        ]
    if proposal.notes:
        lines += ["", "### Not written", *[f"- {line}" for line in proposal.notes]]
    lines += [
        "",
        "backlog-bot adds a commit to this branch on each change (rebuilt on the base branch "
        "when that moved on); commits pushed to it by hand are kept, never overwritten.",
        MARKER,
    ]
    return "\n".join(lines) + "\n"


def commit_message(proposal: Proposal) -> str:
    count = len(proposal.changes)
    return (
        f"{TITLE}\n\n"
        + "\n".join(f"- {line}" for line in proposal.changes[:50])
        + (f"\n- ... and {count - 50} more" if count > 50 else "")
    )
