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
    The whole document is checked against :mod:`bot.config_schema` first, so a typo in any
    table stops every command, not only the one that reads that table.
    """
    return dict(load_config_document()[1].get(table, {}))


def load_config_document() -> tuple[str | None, dict[str, Any]]:
    """The config in force as (where it came from, its checked tables); ``(None, {})`` if none."""
    path = config_file_path()
    if path is not None:
        return str(path), _checked(path, None)
    pyproject = Path("pyproject.toml")
    if pyproject.is_file():
        return f"{pyproject} [tool.backlog-bot]", _checked(pyproject, ("tool", "backlog-bot"))
    return None, {}


_CHECKED: dict[tuple[str, int, tuple[str, ...] | None], dict[str, Any]] = {}


def _checked(path: Path, nested: tuple[str, ...] | None) -> dict[str, Any]:
    """The file's tables after the schema check; cached until the file changes."""
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = -1  # read_toml reports the missing file
    cache_key = (str(path.resolve()), stamp, nested)
    if cache_key not in _CHECKED:
        data = read_toml(path)
        for part in nested or ():
            data = data.get(part, {})
        source = f"{path} [tool.backlog-bot]" if nested else str(path)
        if data:  # an empty document (a pyproject.toml without our table) has nothing to check
            from bot.config_schema import check_document

            check_document(data, source)
        _CHECKED[cache_key] = data
    return _CHECKED[cache_key]


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
