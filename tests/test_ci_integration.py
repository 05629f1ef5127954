"""The pre-commit hooks and the GitHub Action run the real CLI on a real backlog.

The action's shell steps are run with bash exactly as written (inputs passed through the
environment, as the action does), with this environment's ``backlog-bot`` on the PATH.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
KDU = ROOT / "tests" / "data" / "realworld" / "kdu-lost-found.md"
BIN = str(Path(sys.executable).parent)


def load(name: str) -> Any:
    return yaml.safe_load((ROOT / name).read_text("utf-8"))


def environment(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GITHUB_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def test_pre_commit_hooks_run_the_cli(tmp_path: Path) -> None:
    hooks = {hook["id"]: hook for hook in load(".pre-commit-hooks.yaml")}
    assert set(hooks) == {"backlog-bot-validate", "backlog-bot-fix"}
    pattern = re.compile(hooks["backlog-bot-validate"]["files"])
    for name in ("docs/product-backlog.md", "BackLog.md", "docs/user-stories.md"):
        assert pattern.search(name), name
    assert not pattern.search("README.md")
    target = tmp_path / "product-backlog.md"
    shutil.copy(KDU, target)
    for hook in hooks.values():
        done = subprocess.run(
            [*shlex.split(hook["entry"]), str(target)],
            capture_output=True,
            text=True,
            env=environment(),
            check=False,
        )
        assert done.returncode == 0, done.stderr
    assert target.read_bytes() == KDU.read_bytes()  # nothing certain to fix in this file


def action_steps() -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = load("action.yml")["runs"]["steps"]
    return [step for step in steps if "run" in step and "FILES" in step.get("env", {})]


def run_step(step: dict[str, Any], cwd: Path, **inputs: str) -> subprocess.CompletedProcess[str]:
    # Inputs reach the scripts only through the environment, never spliced into the script.
    assert "${{" not in step["run"]
    env = environment(**{key: inputs[key] for key in step["env"]})
    return subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_action_writes_sarif_and_annotations(tmp_path: Path) -> None:
    shutil.copy(KDU, tmp_path / "backlog.md")
    sarif_step, annotate_step = action_steps()
    inputs = {"FILES": "backlog.md", "ARGS": "--select document.unparsed", "SARIF": "out.sarif"}
    done = run_step(sarif_step, tmp_path, **inputs)
    assert done.returncode == 0, done.stderr
    sarif = json.loads((tmp_path / "out.sarif").read_text("utf-8"))
    [result] = sarif["runs"][0]["results"]
    assert result["ruleId"] == "document.unparsed"
    done = run_step(annotate_step, tmp_path, **inputs)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("::warning file=backlog.md,line=54")


@pytest.mark.parametrize(("content", "code"), [(None, 1), ("# Notes\n\nNothing here.\n", 2)])
def test_action_fails_the_job_on_errors(tmp_path: Path, content: str | None, code: int) -> None:
    target = tmp_path / "backlog.md"
    if content is None:
        shutil.copy(ROOT / "tests" / "data" / "billing-backlog.md", target)
    else:
        target.write_text(content, encoding="utf-8")
    sarif_step, annotate_step = action_steps()
    inputs = {"FILES": "backlog.md", "ARGS": "", "SARIF": "out.sarif"}
    first = run_step(sarif_step, tmp_path, **inputs)
    # Error findings (exit 1) still give a SARIF report; bad input (exit 2) stops here.
    assert first.returncode == (0 if code == 1 else 2)
    if code == 1:
        assert run_step(annotate_step, tmp_path, **inputs).returncode == 1
