"""Database failures as one line a user can act on (``backlog-bot`` exits 2 with it).

An unreachable server, a refused login, a missing database or a malformed ``DATABASE_URL``
surfaces from SQLAlchemy as a long chained traceback; the first line of the driver's own
message says what is wrong, and the advice says which setting to fix.
"""

from __future__ import annotations

import re

_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")


def redact_url(url: str) -> str:
    """``postgresql://user:secret@host/db`` -> ``postgresql://user:***@host/db``."""
    return _PASSWORD.sub(r"\1***@", url)


def describe(exc: BaseException) -> str:
    """``database unreachable: <driver's first line> (check DATABASE_URL ...)``."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)
    first = redact_url(first)
    if isinstance(exc, ArgumentError | NoSuchModuleError):
        return (
            f"DATABASE_URL is not usable: {first} "
            "(use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DB)"
        )
    return (
        f"database unreachable: {first} "
        "(check DATABASE_URL, that the server is running and accepts this user)"
    )
