"""GitOps mode put together: the runner from the settings (the GitHub REST adapter for the
repository's files, the configured sync targets) and its webhook handler in the registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.gitops.handler import GITHUB_EVENTS, JIRA_EVENTS, GitOpsHandler
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


def register_gitops(
    registry: HandlerRegistry,
    settings: Settings,
    engine: Engine,
    *,
    bot_logins: tuple[str, ...] = (),
) -> GitOps | None:
    """Add the GitOps handler for tracker changes and pushes (when the mode is on)."""
    from bot.service.issue_locks import issue_guard

    gitops = build_gitops(settings, engine)
    if gitops is None:
        return None
    handler = GitOpsHandler(
        gitops,
        repository=str(settings.github_repository),
        hold=issue_guard(engine, settings),
        bot_logins=bot_logins,
    )
    for event in (*GITHUB_EVENTS, "push"):
        registry.add("github", event, handler)
    if settings.jira_url and settings.jira_api_token is not None:
        for event in JIRA_EVENTS:
            registry.add("jira", event, handler)
    return gitops
