"""Structured JSON logs with a correlation id, and redaction of secrets.

Every record is one JSON object per line: ``ts``, ``level``, ``logger``, ``msg``,
``correlation_id`` (the request, webhook delivery or job being handled; set with
``correlation_scope``) and any ``extra={...}`` fields. Before a line is written, the
``Redactor`` replaces every configured secret value (tokens, webhook and signing secrets,
database password) and anything shaped like a credential (``Bearer ...``, ``ghp_...``,
``xoxb-...``, ``sha256=<hex>``, ``password=...``) with ``[REDACTED]`` — so a secret that
reaches a log call by accident (an exception message, a header dump) is still never written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from bot.settings import Settings

REDACTED = "[REDACTED]"
_correlation_id: ContextVar[str | None] = ContextVar("backlog_bot_correlation_id", default=None)

# Credential shapes redacted even when they are not a configured value.
_PATTERNS = (
    re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,})\b"),
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{8,}\b"),
    re.compile(r"\b(sha1|sha256)=[0-9a-fA-F]{20,}\b"),
    re.compile(r"(?i)\b(password|passwd|secret|api[_-]?token|access[_-]?token)=[^\s&\"',;]+"),
    re.compile(r"(?i)(://[^:/@\s]+:)[^@\s]+@"),
)
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "color_message"}  # uvicorn's ANSI-coloured duplicate
)


def correlation_id() -> str | None:
    """The id of the request, delivery or job this code is running for."""
    return _correlation_id.get()


def new_correlation_id(prefix: str = "req") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


@contextmanager
def correlation_scope(value: str | None = None, *, prefix: str = "job") -> Iterator[str]:
    """Run a block under a correlation id (``with correlation_scope(prefix="job"):``)."""
    value = value or new_correlation_id(prefix)
    token = _correlation_id.set(value)
    try:
        yield value
    finally:
        _correlation_id.reset(token)


def set_correlation_id(value: str | None) -> Token[str | None]:
    """Set the id for the current context; returns the token for ``reset_correlation_id``."""
    return _correlation_id.set(value)


def reset_correlation_id(token: Token[str | None]) -> None:
    _correlation_id.reset(token)


class Redactor:
    """Replaces known secret values and credential-shaped strings with ``[REDACTED]``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        values = {s for s in secrets if s and len(s) >= 4} | set(self._secrets)
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = sorted(values, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(_replacement, text)
        return text


def _replacement(match: re.Match[str]) -> str:
    whole = match.group(0)
    if whole.startswith("://"):
        return f"{match.group(1)}{REDACTED}@"
    if "=" in whole and not whole.lower().startswith(("bearer", "basic", "token")):
        return whole.split("=", 1)[0] + "=" + REDACTED
    if " " in whole:
        return whole.split(None, 1)[0] + " " + REDACTED
    return REDACTED


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value in a ``Settings`` object (``SecretStr`` fields, the DB password)."""
    from pydantic import SecretStr
    from sqlalchemy.engine import make_url

    values: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name, None)
        if isinstance(value, SecretStr):
            values.append(value.get_secret_value())
    try:
        password = make_url(settings.database_url).password
    except Exception:  # an unparseable URL has no password to hide
        password = None
    if password:
        values.append(str(password))
    return values


class JsonFormatter(logging.Formatter):
    """One JSON object per record, redacted."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        cid = getattr(record, "correlation_id", None) or correlation_id()
        if cid:
            entry["correlation_id"] = cid
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in entry and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return self.redactor(json.dumps(entry, default=str, ensure_ascii=False))


def configure_logging(
    settings: Settings | None = None, *, level: str | None = None, stream: TextIO | None = None
) -> logging.Handler:
    """Send the root logger (and uvicorn's) to one JSON handler on ``stream`` (stderr)."""
    redactor = Redactor(secrets_of(settings) if settings is not None else ())
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(redactor))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_backlog_bot", False):
            root.removeHandler(existing)
    handler._backlog_bot = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(
        (level or (settings.log_level if settings is not None else None) or "INFO").upper()
    )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # start-up noise
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return handler
