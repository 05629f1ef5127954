from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox import oracles
from sandbox.errors import SandboxSetupError

ROOT = Path(__file__).resolve().parent.parent


def _fake_package(prefix: Path, name: str) -> Path:
    folder = prefix / "node_modules" / "@octokit" / name
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(json.dumps({"name": f"@octokit/{name}"}))
    return folder


def test_the_configured_folder_is_searched_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _fake_package(tmp_path, "webhooks-examples")
    monkeypatch.setenv(oracles.DIR_ENV, str(tmp_path))
    assert oracles.candidate_dirs()[0] == tmp_path
    assert oracles.find("webhooks-examples") == folder
    assert oracles.ensure("webhooks-examples") == folder


def test_without_npm_a_missing_package_is_a_clear_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oracles, "candidate_dirs", lambda: [tmp_path / "nothing-here"])
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm on it
    with pytest.raises(SandboxSetupError, match=r"npm is not installed.*BACKLOG_BOT_ORACLES_DIR"):
        oracles.ensure("webhooks-examples")


def test_the_installed_checkout_copies_are_found() -> None:
    # scripts/test.sh installs them (into .cache/oracles of the checkout)
    rest = oracles.find("openapi")
    examples = oracles.find("webhooks-examples")
    assert rest is not None and (rest / "generated" / "api.github.com.json").is_file()
    assert examples is not None and (examples / "api.github.com" / "index.json").is_file()


GRAPHQL_WITHOUT_ORACLES = """
import sys
sys.modules["sandbox.oracles"] = None  # importing it now fails: the sandbox must not need it
import httpx
from sandbox.github import GitHubSandbox
with GitHubSandbox() as sandbox:
    answer = httpx.post(
        sandbox.url + "/graphql",
        headers={"Authorization": f"token {sandbox.token}"},
        json={"query": 'query { repository(owner: "acme", name: "bss") { id } }'},
    )
print(answer.json()["data"]["repository"]["id"][:2])
"""


def test_the_github_sandbox_needs_neither_npm_nor_the_descriptions(tmp_path: Path) -> None:
    env = {
        "PATH": str(Path(sys.executable).parent),  # no npm
        "HOME": str(tmp_path),
        oracles.DIR_ENV: str(tmp_path / "empty"),
        "PYTHONPATH": str(ROOT),
        **{k: v for k, v in os.environ.items() if k in ("LANG", "SYSTEMROOT")},
    }
    result = subprocess.run(
        [sys.executable, "-c", GRAPHQL_WITHOUT_ORACLES],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "R_"
