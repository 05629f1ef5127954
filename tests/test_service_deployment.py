"""Deployment shape: the image runs ``serve`` as non-root with a health check; compose runs two
replicas on PostgreSQL that migrate on start without racing each other."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import yaml

from bot.cli.service import migrate_with_lock
from bot.settings import load_settings
from sync.state import db

ROOT = Path(__file__).resolve().parent.parent


def test_dockerfile_runs_serve_as_non_root_with_healthcheck() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    user = [line for line in lines if line.startswith("USER ")]
    assert user and user[-1] not in ("USER root", "USER 0")
    health = " ".join(
        lines[lines.index(next(x for x in lines if x.startswith("HEALTHCHECK"))) :][:2]
    )
    assert "/healthz" in health
    assert any(line.startswith("CMD") and '"serve"' in line for line in lines)


def test_compose_has_two_replicas_on_postgresql() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    bots = {name: s for name, s in services.items() if s.get("command", [None])[0] == "serve"}
    assert len(bots) == 2
    assert "postgres" in services and "healthcheck" in services["postgres"]
    for service in bots.values():
        assert service["environment"]["DATABASE_URL"].startswith("postgresql://")
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert load_settings(migrate_on_start=service["environment"]["MIGRATE_ON_START"])
        assert "/healthz" in " ".join(service["healthcheck"]["test"])
    ports = [port for s in bots.values() for port in s["ports"]]
    assert len(set(ports)) == 2


def test_migrate_on_start_setting_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGRATE_ON_START", "1")
    assert load_settings().migrate_on_start is True


@pytest.mark.postgres
def test_replicas_migrating_at_once_do_not_race(postgres_url: str) -> None:
    errors: list[BaseException] = []

    def migrate() -> None:
        try:
            migrate_with_lock(postgres_url)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=migrate) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert db.current_revision(postgres_url) is not None
