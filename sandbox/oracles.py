"""GitHub's official REST description and webhook examples, for the contract tests.

GitHub publishes them as npm packages (the REST description is about 385 MB installed), so
they are not in the repository: ``scripts/test.sh`` installs them before the tests. Nothing
at run time needs them; the GitHub sandbox's GraphQL schema ships inside the package
(``sandbox/github/schema.graphql.gz``). They are looked up, in order, under
``$BACKLOG_BOT_ORACLES_DIR``, ``<checkout>/.cache/oracles`` and
``~/.cache/backlog-bot/oracles``, and installed with npm (from the npm registry, scripts not
run) into the first of those that can be written when missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from sandbox.errors import SandboxSetupError

PACKAGES = {
    "openapi": "@octokit/openapi@23.0.2",
    "webhooks-examples": "@octokit/webhooks-examples@7.6.1",
}
DIR_ENV = "BACKLOG_BOT_ORACLES_DIR"
CHECKOUT = Path(__file__).resolve().parents[1]


def candidate_dirs() -> list[Path]:
    dirs: list[Path] = []
    if os.environ.get(DIR_ENV):
        dirs.append(Path(os.environ[DIR_ENV]))
    if (CHECKOUT / "pyproject.toml").is_file():
        dirs.append(CHECKOUT / ".cache" / "oracles")
    dirs.append(Path.home() / ".cache" / "backlog-bot" / "oracles")
    return dirs


def package_dir(name: str, prefix: Path) -> Path:
    return prefix / "node_modules" / "@octokit" / name


def find(name: str) -> Path | None:
    """The installed package folder for ``name`` (a key of ``PACKAGES``), or None."""
    for prefix in candidate_dirs():
        folder = package_dir(name, prefix)
        if (folder / "package.json").is_file():
            return folder
    return None


def ensure(name: str) -> Path:
    """The package folder for ``name``, installing all three packages with npm if needed."""
    found = find(name)
    if found is not None:
        return found
    npm = shutil.which("npm")
    if npm is None:
        raise SandboxSetupError(
            f"GitHub's API description {PACKAGES[name]} is needed by the contract tests and npm "
            f"is not installed: install Node.js/npm, or install the package yourself with "
            f"'npm install --prefix DIR {PACKAGES[name]}' and set {DIR_ENV}=DIR"
        )
    errors: list[str] = []
    for prefix in candidate_dirs():
        try:
            prefix.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            errors.append(f"{prefix}: {exc}")
            continue
        print(f"installing GitHub's API descriptions into {prefix} (npm) ...", file=sys.stderr)
        result = subprocess.run(
            [
                npm,
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--prefix",
                str(prefix),
                *PACKAGES.values(),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        folder = package_dir(name, prefix)
        if result.returncode == 0 and (folder / "package.json").is_file():
            return folder
        errors.append(f"{prefix}: npm exited {result.returncode}: {result.stderr.strip()[-300:]}")
    raise SandboxSetupError(
        f"could not install {PACKAGES[name]} for the contract tests ({'; '.join(errors)}); "
        f"install it with npm and set {DIR_ENV}"
    )


if __name__ == "__main__":  # python -m sandbox.oracles: install (or find) them all
    for key in PACKAGES:
        print(ensure(key))
