"""Errors users can act on. Every error names the file and line, the item, or the setting.

Exception tree::

    BacklogBotError
    ├── BadInputError            bad backlog input (file, line); CLI exit code 2
    │   └── DuplicateIdError     the same story id twice (both lines)
    ├── ConfigurationError       a setting or config file value is unusable; exit code 2
    └── RemoteError              a remote service (Jira, GitHub, Slack) refused or failed
        ├── AuthenticationError  401: bad credentials
        ├── PermissionDeniedError 403: the credentials lack a permission
        ├── NotFoundError        404: unknown project, repository, issue ...
        ├── RateLimitedError     429 / secondary rate limit, with the wait asked for
        └── TransientError       5xx, timeouts, dropped connections: safe to retry reads
"""

from __future__ import annotations


class BacklogBotError(Exception):
    """Base of every error backlog-bot raises on purpose."""


class BadInputError(BacklogBotError):
    """The input cannot be used. ``str()`` is one line: ``FILE:LINE: message``."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        super().__init__(self.location_message())

    def location_message(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.message}"


class DuplicateIdError(BadInputError):
    """A story (or epic) id appears twice."""


class ConfigurationError(BacklogBotError):
    """A setting is missing or wrong; the message names the setting and what to do."""


class RemoteError(BacklogBotError):
    """A remote service failed. ``service`` is jira, github or slack."""

    def __init__(self, message: str, *, service: str, status: int | None = None) -> None:
        self.service = service
        self.status = status
        super().__init__(f"{service}: {message}")


class AuthenticationError(RemoteError):
    pass


class PermissionDeniedError(RemoteError):
    pass


class NotFoundError(RemoteError):
    pass


class RateLimitedError(RemoteError):
    def __init__(self, message: str, *, service: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, service=service, status=429)


class TransientError(RemoteError):
    pass
