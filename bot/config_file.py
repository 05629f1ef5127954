"""Locating and reading the optional TOML config file (``backlog-bot.toml``).

Kept apart from :mod:`bot.settings` so that commands which only need the file's tables
(``validate``, ``capacity``) do not import pydantic-settings: ``backlog-bot validate`` must
start fast. :mod:`bot.settings` re-exports these names.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from backlog.errors import ConfigurationError

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
        data = read_toml(path)
        return dict(data.get(table, {}))
    pyproject = Path("pyproject.toml")
    if pyproject.is_file():
        data = read_toml(pyproject).get("tool", {}).get("backlog-bot", {})
        return dict(data.get(table, {}))
    return {}


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigurationError(
            f"{path}: config file not found (set {CONFIG_ENV} or create it)"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: invalid TOML: {exc}") from exc
