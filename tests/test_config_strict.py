"""Strict configuration: every table of backlog-bot.toml is checked, through the real CLI.

A typo or a wrong type in any table stops every command with exit 2 and one line naming the
key, the table and the keys it knows (or the type expected); ``config check`` prints the
effective values, secrets hidden, with their sources; the committed example documents every
key and is itself valid. Also: ``--version`` and one-line database failures.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.cli.app import main
from bot.config_example import example_toml
from bot.config_schema import TABLES

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "examples" / "bss-modernization.md"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "backlog-bot.toml"
    monkeypatch.setenv("BACKLOG_BOT_CONFIG", str(path))
    monkeypatch.chdir(tmp_path)
    return path


# One typo per table, each caught by a command that does not even read that table.
TYPOS = [
    ("settings", "jira_urll", "jira_url"),
    ("jira", "subtask", "subtasks"),
    ("github", "task_as", "tasks_as"),
    ("validation", "enforced", "enforce"),
    ("schedule", "standup_time", "standup"),
    ("slack", "admin", "admins"),
    ("calendar", "sprint_start", "sprint1_start"),
    ("rules", "selct", "select"),
]


@pytest.mark.parametrize(("table", "typo", "known"), TYPOS, ids=[t[0] for t in TYPOS])
def test_unknown_key_in_any_table_exits_2_naming_key_table_and_known_keys(
    capsys: pytest.CaptureFixture[str], config: Path, table: str, typo: str, known: str
) -> None:
    config.write_text(f'[{table}]\n{typo} = "x"\n')
    for args in (["config", "check"], ["capacity", str(REFERENCE)], ["inbox", "list"]):
        code, out, err = run(capsys, *args)
        assert code == 2, (args, out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert f"unknown key '{typo}' in [{table}]" in lines[0]
        assert "known keys:" in lines[0] and known.replace("_", "-") in lines[0].replace("_", "-")
        assert str(config) in lines[0]


WRONG_TYPES = [
    ("settings", "webhook_max_attempts", '"five"', "a whole number"),
    ("jira", "requests_per_second", '"fast"', "a number"),
    ("github", "project_fields", '"yes"', "true or false"),
    ("validation", "apply-on-push", "1", "true or false"),
    ("schedule", "sync_minutes", "1.5", "a whole number"),
    ("slack", "admins", '"U1"', 'a list of text, e.g. ["a", "b"]'),
    ("calendar", "sprint_length_days", '"two weeks"', "a whole number"),
    ("rules", "preview", '"no"', "true or false"),
]


@pytest.mark.parametrize(
    ("table", "key", "value", "expected"), WRONG_TYPES, ids=[t[0] for t in WRONG_TYPES]
)
def test_wrong_type_names_the_expected_type(
    capsys: pytest.CaptureFixture[str],
    config: Path,
    table: str,
    key: str,
    value: str,
    expected: str,
) -> None:
    config.write_text(f"[{table}]\n{key} = {value}\n")
    code, _, err = run(capsys, "config", "check")
    assert code == 2
    assert err.strip().splitlines() == [
        f"error: {config}: [{table}] {key} = {tomllib.loads(f'v = {value}')['v']!r}: "
        f"expected {expected}"
    ]


def test_unknown_table_and_nested_rules_key(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    config.write_text("[jirra]\nsubtasks = 'issues'\n")
    code, _, err = run(capsys, "config", "check")
    assert code == 2 and "unknown table [jirra] (known tables: settings, jira" in err
    config.write_text("[rules.thresholds]\nmax-story-point = 8\n")
    code, _, err = run(capsys, "validate", str(REFERENCE))
    assert code == 2 and "unknown key 'max-story-point' in [rules.thresholds]" in err


def test_value_errors_found_by_the_readers_surface_in_config_check(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    config.write_text('[schedule]\nstandup = "half past nine"\n')
    code, _, err = run(capsys, "config", "check")
    assert (code, err.strip()) == (
        2,
        "error: [schedule] standup = 'half past nine': use HH:MM, e.g. 09:30",
    )
    config.write_text('[jira]\ndeployment = "onprem"\n')
    code, _, err = run(capsys, "config", "check")
    assert code == 2 and '"auto", "cloud" or "datacenter"' in err


def test_config_check_prints_effective_values_sources_and_hides_secrets(
    capsys: pytest.CaptureFixture[str], config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config.write_text(
        '[settings]\njira_project = "ACME"\nslack_signing_secret = "file-secret-123"\n'
        '[jira]\nsubtasks = "issues"\n[validation]\nfail-on = "error"\n'
    )
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_envsecret456")
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:hunter2@db.internal:5432/backlog")
    code, out, err = run(capsys, "config", "check")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"config file: {config}"
    assert f'  JIRA_PROJECT = "ACME"  # {config} [settings]' in lines
    assert '  GITHUB_TOKEN = "***"  # environment GITHUB_TOKEN' in lines
    assert f'  SLACK_SIGNING_SECRET = "***"  # {config} [settings]' in lines
    assert (
        '  DATABASE_URL = "postgresql://bot:***@db.internal:5432/backlog"'
        "  # environment DATABASE_URL"
    ) in lines
    assert f'  subtasks = "issues"  # {config} [jira]' in lines
    assert f'  fail_on = "error"  # {config} [validation]' in lines
    assert '  standup = "09:30"  # default' in lines
    assert "ghp_envsecret456" not in out and "file-secret-123" not in out
    assert "hunter2" not in out
    assert lines[-1] == "ok: the configuration is valid"


def test_example_file_is_generated_documents_every_key_and_is_valid(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    committed = (ROOT / "backlog-bot.example.toml").read_text()
    assert committed == example_toml(), "regenerate: backlog-bot config example > ..."
    for name, table in TABLES.items():
        assert f"[{name}]" in committed
        for key in table.keys:
            spelled = key.replace("_", "-") if table.dashes else key
            if key in table.subtables:
                assert f"[{name}.{spelled}]" in committed
                for sub in table.subtables[key]:
                    assert f"{sub.replace('_', '-')} = " in committed, (name, key, sub)
            else:
                assert f"{spelled} = " in committed, (name, key)
    monkeypatch.setenv("BACKLOG_BOT_CONFIG", str(ROOT / "backlog-bot.example.toml"))
    monkeypatch.chdir(ROOT)
    code, _out, err = run(capsys, "config", "check")
    assert code == 0, err


def test_schema_matches_the_readers_and_their_defaults() -> None:
    from bot.settings import Settings
    from bot.targets.github import PACING_KEYS
    from bot.validation.validator import ValidationConfig
    from bot.wiring.scheduler import DEFAULTS
    from rules.config import ForecastConfig, RulesConfig, Thresholds
    from sync.github.mapping import GitHubOptions

    settings = TABLES["settings"].keys
    assert set(settings) == set(Settings.model_fields)
    for key, spec in settings.items():
        default = Settings.model_fields[key].default
        assert spec.default == default, key
    github = {f.name: f.default for f in dataclasses.fields(GitHubOptions)}
    assert set(TABLES["github"].keys) == set(github) | set(PACING_KEYS)
    for key, value in github.items():
        assert TABLES["github"].keys[key].default == value, key
    assert {k: TABLES["schedule"].keys[k].default for k in DEFAULTS} == DEFAULTS
    assert set(TABLES["validation"].keys) == {f.name for f in dataclasses.fields(ValidationConfig)}
    assert set(TABLES["rules"].keys) == {
        f.name for f in dataclasses.fields(RulesConfig) if f.name != "source"
    }
    assert set(TABLES["rules"].subtables["thresholds"]) == {
        f.name for f in dataclasses.fields(Thresholds)
    }
    assert set(TABLES["rules"].subtables["forecast"]) == {
        f.name for f in dataclasses.fields(ForecastConfig)
    }


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    code, out, _ = run(capsys, "--version")
    assert (code, out) == (0, f"backlog-bot {version('backlog-bot')}\n")


BAD_DATABASES = [
    ("postgresql://nobody@127.0.0.1:1/db", "database unreachable: connection failed"),
    ("postgresql://u:pw@127.0.0.1:x/db", "setting DATABASE_URL: Value error, DATABASE_URL has"),
    ("sqlite:////nonexistent-dir/sub/x.db", "database unreachable: unable to open database file"),
    ("mysql://u@h/db", "setting DATABASE_URL"),
]
COMMANDS = [
    ["db", "upgrade"],
    ["inbox", "list"],
    ["sync", "--target", "jira"],
    ["apply", str(REFERENCE), "--target", "jira"],
    ["digest", "standup"],
    ["serve", "--migrate", "--port", "1"],
]


CASES = [(c, *BAD_DATABASES[0]) for c in COMMANDS] + [(COMMANDS[0], *b) for b in BAD_DATABASES[1:]]


@pytest.mark.parametrize(
    ("args", "url", "said"),
    CASES,
    ids=[c[0] for c in COMMANDS] + ["bad-port", "sqlite-dir", "unsupported"],
)
def test_database_failure_is_one_line_exit_2_on_every_command(
    tmp_path: Path, url: str, said: str, args: list[str]
) -> None:
    # A fresh interpreter per case: exactly what a user's shell gets, no state shared.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JIRA_", "GITHUB_", "SLACK_", "BACKLOG_BOT_CONFIG"))
    }
    env |= {
        "DATABASE_URL": url,
        "JIRA_URL": "http://127.0.0.1:1",
        "JIRA_EMAIL": "a@b.c",
        "JIRA_API_TOKEN": "t",
        "BACKLOG_FILE": str(REFERENCE),
    }
    done = subprocess.run(
        [str(Path(sys.executable).with_name("backlog-bot")), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    # apply and sync may have said "jira: planning" first (progress); then one line, no trace
    lines = [line for line in done.stderr.strip().splitlines() if not line.startswith("jira: ")]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and said in lines[0]
    assert "pw" not in lines[0].split("DATABASE_URL has")[0]
