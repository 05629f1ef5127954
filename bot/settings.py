"""Service configuration: one typed ``Settings`` object read from the environment.

Values come from environment variables first, then from an optional TOML config file
(``backlog-bot.toml`` in the working directory, or the file named by ``BACKLOG_BOT_CONFIG``;
its ``[settings]`` table uses the same names in lower case). Secrets are ``SecretStr`` and never
print. Validation errors name the setting to fix.
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from backlog.errors import ConfigurationError as ConfigError

# The config file's location and tables live in bot.config_file (cheap to import).
from bot.config_file import CONFIG_ENV as CONFIG_ENV
from bot.config_file import DEFAULT_CONFIG_FILE as DEFAULT_CONFIG_FILE
from bot.config_file import config_file_path as config_file_path
from bot.config_file import load_config_table as load_config_table

DEFAULT_DATABASE_URL = "sqlite:///backlog-bot.db"


class _ConfigFileSource(PydanticBaseSettingsSource):
    """Settings from the ``[settings]`` table of the config file."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        table = load_config_table("settings")
        return {key.lower(): value for key, value in table.items()}


class Settings(BaseSettings):
    """Every setting backlog-bot reads, with its environment variable name."""

    # An empty variable counts as unset: compose.yaml passes every documented variable through
    # as ``${NAME:-}``, and ``GITHUB_APP_ID=`` must not fail as "not an integer".
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", env_ignore_empty=True)

    database_url: str = DEFAULT_DATABASE_URL

    jira_url: str | None = None
    jira_email: str | None = None
    jira_api_token: SecretStr | None = None
    jira_project: str = "BSS"
    jira_webhook_secret: SecretStr | None = None
    jira_board: int | None = None  # the scrum board for sprints; discovered when unset

    github_token: SecretStr | None = None
    # GitHub App authentication (what organisations install) instead of a personal token:
    # sync/github/auth.py mints installation tokens from the App's id and private key.
    github_app_id: int | None = None
    github_app_private_key: SecretStr | None = None
    github_app_private_key_file: str | None = None
    github_app_installation_id: int | None = None
    github_api_url: str = "https://api.github.com"
    github_repository: str | None = None
    github_project: str | None = None
    github_webhook_secret: SecretStr | None = None

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None  # xapp-...: Socket Mode instead of HTTP requests
    slack_api_url: str = "https://slack.com/api/"
    slack_channel: str | None = None
    slack_admins: str = ""  # Slack user ids allowed to run /backlog plan and sync, comma separated

    backlog_file: str = "examples/bss-modernization.md"
    timezone: str = "UTC"

    # The long-running service (``backlog-bot serve``): bot/service/app.py, bot/service/inbox.py.
    migrate_on_start: bool = False
    webhook_max_body_bytes: int = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
    webhook_max_attempts: int = 5
    webhook_lease_seconds: float = 60.0
    webhook_backoff_seconds: float = 2.0
    webhook_poll_seconds: float = 1.0
    webhook_handler_modules: str = ""  # extra "module:function" registrars, comma separated
    readiness_timeout_seconds: float = 2.0
    # A request's head, then its body, must each arrive within this; else 408 and closed.
    http_read_timeout_seconds: float = 15.0
    slack_max_body_bytes: int = 512 * 1024  # Slack's payloads are a few kB
    prune_max_share: float = 0.2  # apply --prune refuses to close more of the linked issues
    log_level: str = "INFO"

    # The sprint planning page at GET / (bot/views/routes.py): a token, or the proxy's auth.
    page_auth: str = "token"  # token | proxy
    page_token: SecretStr | None = None
    page_proxy_header: str = "X-Forwarded-User"
    backlog_web_url: str | None = None  # the backlog file on the web, for "backlog line" links

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
        from urllib.parse import urlsplit

        try:
            urlsplit(value).port  # noqa: B018 - parsing the port is the check
        except ValueError as exc:
            raise ValueError(f"DATABASE_URL has a bad port: {exc}") from None
        return value

    @field_validator("page_auth")
    @classmethod
    def _page_auth(cls, value: str) -> str:
        if value.lower() not in ("token", "proxy"):
            raise ValueError('must be "token" (PAGE_TOKEN) or "proxy" (an authenticating proxy)')
        return value.lower()

    @field_validator("jira_url", "github_api_url", "slack_api_url", "backlog_web_url")
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
