"""The dependency direction of STYLE.md, checked on the import statements of every module.

bot -> sync, rules; rules -> backlog.model and backlog.errors only; the domain model imports nothing
of ours nor any I/O library; only the adapters import the vendor client libraries.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "sync", "rules", "sandbox")
IO_LIBRARIES = (
    "httpx",
    "requests",
    "sqlmodel",
    "sqlalchemy",
    "jira",
    "github",
    "slack_sdk",
    "slack_bolt",
    "starlette",
    "uvicorn",
    "alembic",
    "psycopg",
)


def _modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_respects_layering(path: Path) -> None:
    relative = path.relative_to(ROOT).as_posix()
    imports = _imports(path)
    package = relative.split("/")[0]
    problems: list[str] = []
    for name in imports:
        top = _top(name)
        if package == "sync" and top in ("bot", "rules", "sandbox"):
            problems.append(f"sync must not import {name}")
        if package == "rules" and (
            top in ("bot", "sandbox")
            or (top == "sync" and name not in ("backlog.model", "backlog.errors"))
        ):
            problems.append(f"rules may import only backlog.model/backlog.errors, not {name}")
        if package == "rules" and top in IO_LIBRARIES:
            problems.append(f"rules must not do I/O through {name}")
        if package == "sandbox" and top in ("bot", "rules", "jira", "github"):
            problems.append(f"sandbox emulators must not import {name}")
        if top == "jira" and relative != "sync/jira/adapter.py":
            problems.append("only sync/jira/adapter.py imports the jira library")
        if top == "github" and relative != "sync/github/adapter.py":
            problems.append("only sync/github/adapter.py imports PyGithub")
    if relative == "backlog/model.py":
        problems.extend(
            f"the domain model must not import {name}"
            for name in imports
            if _top(name) in (*PACKAGES, *IO_LIBRARIES)
        )
    assert not problems, f"{relative}: " + "; ".join(sorted(set(problems)))
