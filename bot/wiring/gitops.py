"""GitOps mode put together: the runner from the settings (the GitHub REST adapter for the
repository's files, the configured sync targets), its webhook handler in the registry and,
with ``[sync] gitops-debounce-seconds`` above zero, the poller that runs a quiet burst once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.gitops.debounce import Debouncer
from bot.gitops.handler import GITHUB_EVENTS, JIRA_EVENTS, GitOpsHandler, gitops_key
from bot.gitops.run import GitOps, GitOpsConfig

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.service.worker import HandlerRegistry
    from bot.settings import Settings
    from sync.github.port import RepoFilesPort


def build_gitops(settings: Settings, engine: Engine | None = None) -> GitOps | None:
    """The GitOps runner from the settings (None when the mode is off)."""
    config = GitOpsConfig.from_settings(settings)
    if config is None:
        return None
    from bot.github_credentials import github_credential
    from bot.settings import load_config_table
    from bot.targets.github import pacing_policy
    from bot.validation.backlog_check import configured_targets
    from sync.github.adapter import GitHubRestAdapter

    token = github_credential(settings)  # one App token source for every run
    pacing = pacing_policy(load_config_table("github"), settings.github_api_url)

    def repository() -> RepoFilesPort:
        return GitHubRestAdapter(
            api_url=settings.github_api_url,
            token=token,
            repository=str(settings.github_repository),
            pacing=pacing,
        )

    return GitOps(config, repository, lambda: configured_targets(settings, engine))


@dataclass(frozen=True)
class GitOpsParts:
    """The runner (for the scheduled pull) and, when deliveries are debounced, the poller
    to start and stop with the service."""

    gitops: GitOps
    debouncer: Debouncer | None = None


def register_gitops(
    registry: HandlerRegistry,
    settings: Settings,
    engine: Engine,
    *,
    bot_logins: tuple[str, ...] = (),
) -> GitOpsParts | None:
    """Add the GitOps handler for tracker changes and pushes (when the mode is on)."""
    from bot.service.issue_locks import issue_guard
    from sync.state.due import DueRuns

    gitops = build_gitops(settings, engine)
    if gitops is None:
        return None
    repository = str(settings.github_repository)
    hold = issue_guard(engine, settings)
    debouncer = None
    if gitops.config.debounce_seconds > 0:
        debouncer = Debouncer(
            gitops,
            DueRuns(engine),
            key=gitops_key(repository),
            hold=hold,
            quiet_seconds=gitops.config.debounce_seconds,
            max_wait_seconds=gitops.config.max_wait_seconds,
            lease_seconds=2 * float(settings.webhook_lease_seconds),  # the lock's (issue_guard)
        )
    handler = GitOpsHandler(
        gitops, repository=repository, hold=hold, bot_logins=bot_logins, debounce=debouncer
    )
    for event in (*GITHUB_EVENTS, "push"):
        registry.add("github", event, handler)
    if settings.jira_url and settings.jira_api_token is not None:
        for event in JIRA_EVENTS:
            registry.add("jira", event, handler)
    return GitOpsParts(gitops, debouncer)
