"""Service configuration: one typed ``Settings`` object read from the environment.

Values come from environment variables first, then from an optional TOML config file
(``backlog-bot.toml`` in the working directory, or the file named by ``BACKLOG_BOT_CONFIG``;
its ``[settings]`` table uses the same names in lower case). Secrets are ``SecretStr`` and never
print. Validation errors name the setting to fix.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from sync.errors import ConfigurationError as ConfigError

DEFAULT_DATABASE_URL = "sqlite:///backlog-bot.db"
CONFIG_ENV = "BACKLOG_BOT_CONFIG"
DEFAULT_CONFIG_FILE = "backlog-bot.toml"


def config_file_path() -> Path | None:
    """The config file in force: ``$BACKLOG_BOT_CONFIG`` or ``./backlog-bot.toml`` if present."""
    named = os.environ.get(CONFIG_ENV)
    if named:
        return Path(named)
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def load_config_table(table: str) -> dict[str, Any]:
    """Read one top-level table of the config file (``{}`` when there is no file or table).

    Also looks in ``pyproject.toml`` under ``[tool.backlog-bot]`` when no config file exists.
    """
    path = config_file_path()
    if path is not None:
        data = _read_toml(path)
        return dict(data.get(table, {}))
    pyproject = Path("pyproject.toml")
    if pyproject.is_file():
        data = _read_toml(pyproject).get("tool", {}).get("backlog-bot", {})
        return dict(data.get(table, {}))
    return {}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found (set {CONFIG_ENV} or create it)") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc


class _ConfigFileSource(PydanticBaseSettingsSource):
    """Settings from the ``[settings]`` table of the config file."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        table = load_config_table("settings")
        return {key.lower(): value for key, value in table.items()}


class Settings(BaseSettings):
    """Every setting backlog-bot reads, with its environment variable name."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL

    jira_url: str | None = None
    jira_email: str | None = None
    jira_api_token: SecretStr | None = None
    jira_project: str = "BSS"
    jira_webhook_secret: SecretStr | None = None
    jira_board: int | None = None  # the scrum board for sprints; discovered when unset

    github_token: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    github_repository: str | None = None
    github_project: str | None = None
    github_webhook_secret: SecretStr | None = None

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_channel: str | None = None
    slack_admins: str = ""  # Slack user ids allowed to run /backlog plan and sync, comma separated

    backlog_file: str = "examples/bss-modernization.md"
    timezone: str = "UTC"

    # The long-running service (``backlog-bot serve``): see bot/app.py and bot/inbox.py.
    migrate_on_start: bool = False
    webhook_max_body_bytes: int = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
    webhook_max_attempts: int = 5
    webhook_lease_seconds: float = 60.0
    webhook_backoff_seconds: float = 2.0
    webhook_poll_seconds: float = 1.0
    webhook_handler_modules: str = ""  # extra "module:function" registrars, comma separated
    readiness_timeout_seconds: float = 2.0
    log_level: str = "INFO"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _ConfigFileSource(settings_cls))

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")):
            raise ValueError(
                "DATABASE_URL must be sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
            )
        return value

    @field_validator("jira_url", "github_api_url", "slack_api_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value


def load_settings(**overrides: Any) -> Settings:
    """Build and validate the settings; raise ``ConfigError`` naming the bad setting."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise ConfigError(f"setting {name}: {first['msg']}") from exc
