"""Cross-linking after ``apply --target all``: each Jira issue gets a remote link to its
GitHub issue (once; a repeat is an update). The GitHub side names its Jira issue in the body
(``sync.github.engine.GitHubSync``, ``jira=``); this is the other direction, sent through the
Jira adapter when Jira is configured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.settings import Settings

if TYPE_CHECKING:
    from sync.calls import CallCounter
    from sync.github.engine import GitHubSync


def link_jira_to_github(settings: Settings, github: GitHubSync, calls: CallCounter) -> list[str]:
    """Add the missing remote links; returns one failure message per link Jira refused."""
    from backlog.errors import RemoteError
    from sync.jira.adapter import JiraAdapter

    jira = github.jira
    pending = [
        (link, jira[backlog_id][0])
        for (kind, backlog_id), link in github.links.items()
        if kind in ("epic", "story")
        and backlog_id in jira
        and link.remote_url
        and link.extra.get("jira_linked") != jira[backlog_id][0]
    ]
    if not pending or not (settings.jira_url and settings.jira_email and settings.jira_api_token):
        return []
    adapter = JiraAdapter(
        settings.jira_url,
        settings.jira_email,
        settings.jira_api_token.get_secret_value(),
        settings.jira_project,
        counter=calls,
    )
    failures = []
    try:
        for link, key in pending:
            title = f"GitHub {link.remote_key}: {(link.extra.get('pushed') or {}).get('title', '')}"
            try:
                adapter.upsert_remote_link(key, str(link.remote_url), title)
            except RemoteError as exc:
                failures.append(f"jira remote link {key} -> {link.remote_key}: {exc}")
                continue
            link.extra["jira_linked"] = key
            github.store.record([link])
    finally:
        adapter.close()
    return failures
