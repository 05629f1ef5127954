"""Deployment files, checked without a cluster or a Docker daemon.

- The Helm chart is rendered and linted by Helm itself (its Go SDK through helm-python-sdk)
  and every object is validated against the Kubernetes schemas (kubernetes-validate, strict:
  unknown fields fail); the shape the issue asks for is asserted on the rendered objects.
- compose.yaml mounts the backlog and the config and passes every documented variable.
- The Dockerfile is multi-stage, pins its base by digest, installs from hashed lock files
  that cover every dependency, and copies neither tests, examples nor the sandbox.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from helm_python.chart import Chart, lint

from bot.config_schema import TABLES, check_document

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "deploy" / "helm" / "backlog-bot"
KUBERNETES = "1.30.0"
SETTINGS = {key.upper() for key in TABLES["settings"].keys}
BACKLOG = (ROOT / "tests" / "data" / "billing-backlog.md").read_text()
REQUIRED = {"backlog": BACKLOG, "secrets": {"DATABASE_URL": "postgresql://bot:pw@db:5432/bot"}}


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    manifests = Chart.load(CHART).render(values, name="team", namespace="backlog")
    objects = []
    for path, text in sorted(manifests.items()):
        if path.endswith(".txt"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


VARIANTS = {
    "defaults": REQUIRED,
    "github-app-monitoring": REQUIRED
    | {
        "githubApp": {"appId": "424242", "privateKey": "-----BEGIN RSA PRIVATE KEY-----\n"},
        "serviceMonitor": {"enabled": True},
        "image": {"digest": "sha256:" + "a" * 64},
        "env": {"JIRA_URL": "https://jira.example.com", "GITHUB_REPOSITORY": "acme/bss"},
    },
    "existing-secret": {"backlog": BACKLOG, "existingSecret": "backlog-bot-credentials"},
}


@pytest.mark.parametrize("variant", VARIANTS, ids=list(VARIANTS))
def test_chart_renders_lints_and_every_object_validates(variant: str) -> None:
    values = VARIANTS[variant]
    report = lint(CHART, values, strict=True, kube_version=f"v{KUBERNETES}")
    problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
    assert problems == []
    objects = render(values)
    assert objects
    for obj in objects:
        if obj["apiVersion"] == "monitoring.coreos.com/v1":
            continue  # a CRD: no schema in Kubernetes itself (checked below by hand)
        kubernetes_validate.validate(obj, KUBERNETES, strict=True)


def test_chart_has_the_production_shape() -> None:
    objects = render(VARIANTS["github-app-monitoring"])
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == ["ConfigMap", "Deployment", "Secret", "Secret", "Service", "ServiceMonitor"]
    (deployment,) = by_kind(objects, "Deployment")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    assert spec["replicas"] == 2
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    (migrate,) = pod["initContainers"]
    assert migrate["args"] == ["db", "upgrade"]
    (main,) = pod["containers"]
    assert main["args"][0] == "serve"
    assert main["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert main["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert main["resources"]["requests"] == {"cpu": "100m", "memory": "256Mi"}
    for container in (migrate, main):
        assert container["image"] == "ghcr.io/backlog-bot/backlog-bot@sha256:" + "a" * 64
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        env = {e["name"]: e for e in container["env"]}
        assert env["BACKLOG_FILE"]["value"] == "/etc/backlog-bot/backlog.md"
        assert env["BACKLOG_BOT_CONFIG"]["value"] == "/etc/backlog-bot/backlog-bot.toml"
        assert env["GITHUB_APP_ID"]["value"] == "424242"
        assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["optional"] is False
        # Every variable the chart sets is one backlog-bot reads.
        assert set(env) - SETTINGS <= {"BACKLOG_BOT_CONFIG", "MPLCONFIGDIR"}
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        wanted = {"/etc/backlog-bot/backlog.md", "/etc/backlog-bot/backlog-bot.toml", "/tmp"}
        assert wanted <= mounts
    (config,) = by_kind(objects, "ConfigMap")
    assert config["data"]["backlog.md"].strip() == BACKLOG.strip()
    check_document(tomllib.loads(config["data"]["backlog-bot.toml"]), "chart config")
    (monitor,) = by_kind(objects, "ServiceMonitor")
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}]
    assert monitor["spec"]["selector"]["matchLabels"] == spec["selector"]["matchLabels"]
    (service,) = by_kind(objects, "Service")
    assert service["spec"]["selector"] == spec["selector"]["matchLabels"]


def test_chart_refuses_to_render_without_the_backlog_or_the_database() -> None:
    with pytest.raises(Exception, match="set the backlog file"):
        render({"secrets": {"DATABASE_URL": "postgresql://x@db/x"}})
    with pytest.raises(Exception, match=r"set secrets\.DATABASE_URL"):
        render({"backlog": BACKLOG})


def test_compose_mounts_backlog_and_config_and_passes_every_documented_variable() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    for name in ("bot-1", "bot-2"):
        bot = compose["services"][name]
        env = bot["environment"]
        assert set(env) >= SETTINGS - {"BACKLOG_BOT_CONFIG"}
        assert set(env) - SETTINGS == set()
        mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in bot["volumes"]}
        assert mounts["/config/backlog.md"] == "./backlog.md"
        assert mounts["/config/backlog-bot.toml"] == "./backlog-bot.toml"
        assert env["BACKLOG_FILE"] == "/config/backlog.md"
        assert bot["read_only"] is True


def dockerfile() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text()
    joined = re.sub(r"\\\n", " ", text)
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in (raw.strip() for raw in joined.splitlines())
        if line and not line.startswith("#")
    ]


def test_dockerfile_is_multi_stage_pinned_locked_and_lean() -> None:
    instructions = dockerfile()
    args = dict(arg.split("=", 1) for op, arg in instructions if op == "ARG" and "=" in arg)
    stages = [arg for op, arg in instructions if op == "FROM"]
    assert len(stages) == 2
    assert re.fullmatch(r"python:3\.11-slim@sha256:[0-9a-f]{64}", args["PYTHON_IMAGE"])
    assert all(stage.startswith("${PYTHON_IMAGE}") for stage in stages)
    runs = " ".join(arg for op, arg in instructions if op == "RUN")
    assert "--require-hashes --no-deps -r requirements.lock" in runs
    assert "--no-deps --no-build-isolation ." in runs
    copied = [arg.split()[0] for op, arg in instructions if op == "COPY" and "--from" not in arg]
    sources = {part for arg in instructions if arg[0] == "COPY" for part in arg[1].split()[:-1]}
    assert not {"tests", "./tests", "sandbox", "./sandbox", "examples", "."} & sources, copied
    final = instructions[[op for op, _ in instructions].index("FROM", 1) :]
    assert ("COPY", "--from=build /opt/venv /opt/venv") in final
    assert any(op == "USER" and arg.startswith("10001") for op, arg in final)
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[1] == "*" and "!sandbox/" not in ignored and "!tests/" not in ignored


def test_lock_file_pins_every_runtime_dependency_with_hashes() -> None:
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = (ROOT / "deploy" / "requirements.lock").read_text()
    pinned = {
        match.group(1).lower().replace("_", "-"): match.group(2)
        for match in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", lock, re.MULTILINE)
    }
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = requirement.name.lower().replace("_", "-")
        assert name in pinned, f"{name} missing from deploy/requirements.lock: regenerate it"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (name, spec)
    blocks = re.split(r"\n(?=[A-Za-z0-9])", lock.strip())
    assert all("--hash=sha256:" in block for block in blocks if "==" in block)
