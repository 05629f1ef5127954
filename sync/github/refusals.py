"""One wording for a refused GitHub credential, shared by the REST and GraphQL clients.

A 401 or a plain 403 (not a rate limit) ends the command with one line naming the service,
the URL that refused and what to check, so a wrong ``GITHUB_TOKEN`` can never pass for
"no changes".
"""

from __future__ import annotations

from backlog.errors import AuthenticationError, PermissionDeniedError, RemoteError

SERVICE = "github"
SCOPES = "the token needs the 'repo' and 'project' scopes"


def credential_refused(status: int, url: str, said: str) -> RemoteError:
    """The error for a 401 (token refused) or a 403 (token lacks a permission) at ``url``."""
    said = said.strip() or "no message"
    if status == 401:
        return AuthenticationError(
            f"401 Unauthorized at {url} ({said}): the token was refused. Check GITHUB_TOKEN "
            "(and GITHUB_API_URL for GitHub Enterprise)",
            service=SERVICE,
            status=401,
        )
    return PermissionDeniedError(
        f"403 Forbidden at {url} ({said}): GITHUB_TOKEN lacks a permission; {SCOPES}",
        service=SERVICE,
        status=403,
    )
