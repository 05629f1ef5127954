"""Which GitHub credential the settings name: a GitHub App installation, else a token.

``GITHUB_APP_ID`` with ``GITHUB_APP_PRIVATE_KEY`` (PEM text) or ``GITHUB_APP_PRIVATE_KEY_FILE``
selects App authentication (``sync.github.auth.InstallationTokens``); ``GITHUB_TOKEN`` keeps
working when no App is configured. Every part of backlog-bot that talks to GitHub (the sync
target, webhook validation, readiness) asks here, so they all authenticate the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from backlog.errors import ConfigurationError

if TYPE_CHECKING:
    from bot.settings import Settings


def has_github_credentials(settings: Settings) -> bool:
    """True when a token or an App id is configured (the rest is checked when used)."""
    return settings.github_token is not None or settings.github_app_id is not None


def github_credential(settings: Settings, *, counter: Any = None) -> Any:
    """A token string, or an ``InstallationTokens`` source for the configured App."""
    if settings.github_app_id is None:
        if settings.github_token is None:
            raise ConfigurationError(
                "GitHub needs GITHUB_TOKEN, or a GitHub App: GITHUB_APP_ID and "
                "GITHUB_APP_PRIVATE_KEY (or GITHUB_APP_PRIVATE_KEY_FILE)"
            )
        return settings.github_token.get_secret_value()
    from sync.github.auth import InstallationTokens

    if not settings.github_repository:
        raise ConfigurationError("GITHUB_APP_ID is set: GITHUB_REPOSITORY (OWNER/NAME) is needed")
    return InstallationTokens(
        api_url=settings.github_api_url,
        app_id=int(settings.github_app_id),
        private_key=_private_key(settings),
        repository=str(settings.github_repository),
        installation_id=settings.github_app_installation_id,
        counter=counter,
    )


def readiness_probe(settings: Settings) -> tuple[str, dict[str, str]]:
    """What ``/readyz`` asks GitHub: ``/rate_limit`` with the token, or ``/app`` with the App's
    JWT (proves the key is accepted without minting an installation token every 15 s)."""
    headers = {"Accept": "application/vnd.github+json"}
    base = settings.github_api_url.rstrip("/")
    if settings.github_app_id is not None:
        from sync.github.auth import app_jwt

        headers["Authorization"] = (
            f"Bearer {app_jwt(int(settings.github_app_id), _private_key(settings))}"
        )
        return base + "/app", headers
    if settings.github_token is not None:
        headers["Authorization"] = f"Bearer {settings.github_token.get_secret_value()}"
    return base + "/rate_limit", headers


def _private_key(settings: Settings) -> str:
    if settings.github_app_private_key is not None:
        return str(settings.github_app_private_key.get_secret_value())
    if settings.github_app_private_key_file:
        path = Path(settings.github_app_private_key_file)
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(
                f"GITHUB_APP_PRIVATE_KEY_FILE {path}: cannot read it ({exc.strerror})"
            ) from exc
    raise ConfigurationError(
        "GITHUB_APP_ID is set but no private key: set GITHUB_APP_PRIVATE_KEY (PEM text) or "
        "GITHUB_APP_PRIVATE_KEY_FILE (its path)"
    )
