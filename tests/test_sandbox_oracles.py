from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox import oracles
from sandbox.errors import SandboxSetupError


def _fake_package(prefix: Path, name: str) -> Path:
    folder = prefix / "node_modules" / "@octokit" / name
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(json.dumps({"name": f"@octokit/{name}"}))
    return folder


def test_the_configured_folder_is_searched_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _fake_package(tmp_path, "graphql-schema")
    monkeypatch.setenv(oracles.DIR_ENV, str(tmp_path))
    assert oracles.candidate_dirs()[0] == tmp_path
    assert oracles.find("graphql-schema") == folder
    assert oracles.ensure("graphql-schema") == folder


def test_without_npm_a_missing_package_is_a_clear_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oracles, "candidate_dirs", lambda: [tmp_path / "nothing-here"])
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm on it
    with pytest.raises(SandboxSetupError, match=r"npm is not installed.*BACKLOG_BOT_ORACLES_DIR"):
        oracles.ensure("graphql-schema")


def test_the_installed_checkout_copy_is_found() -> None:
    # scripts/test.sh installs them into .cache/oracles of the checkout
    folder = oracles.find("graphql-schema")
    assert folder is not None
    assert (folder / "schema.graphql").is_file()
