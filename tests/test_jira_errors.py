"""Errors users can act on: bad credentials, missing permission, unknown project, missing
issue type, and bulk-create item errors naming the backlog item, the field and Jira's words."""

from __future__ import annotations

from pathlib import Path

import pytest

from backlog.errors import (
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
)
from bot.cli.app import main
from sandbox.jira import JiraSandbox, ProjectSpec
from tests.jira_support import (  # noqa: F401 (_dispose_engines is a fixture)
    REFERENCE,
    SOURCE,
    _dispose_engines,
    make_sync,
    reference_backlog,
)

pytestmark = pytest.mark.usefixtures("jira_deployment")  # Cloud and Data Center


def test_bad_credentials_name_the_settings(sqlite_url: str) -> None:
    with JiraSandbox() as site:
        engine = make_sync(site, sqlite_url, token="wrong-token")
        with pytest.raises(AuthenticationError) as caught:
            engine.port.discover()
        message = str(caught.value)
        if site.deployment == "cloud":
            assert message.startswith("jira: 401 Unauthorized while reading server info")
            assert "JIRA_EMAIL and JIRA_API_TOKEN" in message
            assert [r.status for r in site.requests] == [401]  # no retries of a refused login
        else:  # Data Center answers serverInfo anonymously; the token fails on /myself
            assert message.startswith("jira: 401 Unauthorized while checking the credentials")
            assert "personal access token" in message and "leave JIRA_EMAIL unset" in message
            assert [r.status for r in site.requests] == [200, 401]


def test_project_without_permission_is_403(sqlite_url: str) -> None:
    with JiraSandbox([ProjectSpec("SEC", permitted=False)]) as site:
        engine = make_sync(site, sqlite_url, project="SEC")
        with pytest.raises(PermissionDeniedError) as caught:
            engine.port.discover()
        assert str(caught.value) == (
            f"jira: 403 Forbidden while reading project SEC at {site.url}: the account "
            "JIRA_EMAIL lacks "
            "permission in project SEC (Jira said: You do not have permission to view project "
            "'SEC'.). Ask a Jira admin for Browse and Create permissions"
        )


def test_unknown_project_names_the_setting(sqlite_url: str) -> None:
    with JiraSandbox() as site:
        engine = make_sync(site, sqlite_url, project="NOPE")
        with pytest.raises(NotFoundError) as caught:
            engine.port.discover()
        assert str(caught.value) == (
            f"jira: unknown project 'NOPE' (JIRA_PROJECT): no project with this key is visible "
            f"at {site.url}. Check the key, or that JIRA_EMAIL may browse it"
        )


def test_missing_issue_type_lists_what_the_project_has(sqlite_url: str) -> None:
    with JiraSandbox([ProjectSpec("BSS", missing_types=("Story",))]) as site:
        with pytest.raises(ConfigurationError) as caught:
            make_sync(site, sqlite_url).port.discover()
        assert str(caught.value) == (
            "jira: project BSS has no 'Story' issue type (it has: Epic, Subtask, Task); "
            "enable it in the project's issue type settings"
        )


def test_bulk_item_errors_name_item_field_and_jira_message(sqlite_url: str) -> None:
    spec = ProjectSpec("BSS", required_fields={"Subtask": ("components",)})
    with JiraSandbox([spec]) as site:
        engine = make_sync(site, sqlite_url)
        report = engine.apply(reference_backlog(), SOURCE)
        assert report.outcome == "partial"
        assert (report.counts["create epic"], report.counts["create story"]) == (4, 29)
        assert "create task" not in report.counts  # every sub-task refused
        assert len(report.failures) == 112
        assert report.failures[0] == (
            "examples/bss-modernization.md:63: US-001/task-1: task not created; Jira said: "
            "field 'components' (components): Component/s is required."
        )
        assert engine.store.runs()[-1].outcome == "partial"


def test_cli_prints_one_line_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with JiraSandbox() as site:
        for key, value in site.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("JIRA_API_TOKEN", "expired")
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
        monkeypatch.chdir(tmp_path)
        assert main(["plan", str(REFERENCE), "--target", "jira"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        what = "reading server info" if site.deployment == "cloud" else "checking the credentials"
        assert err.startswith(f"error: jira: 401 Unauthorized while {what} at http")


def test_cli_without_jira_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["plan", str(REFERENCE), "--target", "jira"]) == 2
    assert capsys.readouterr().err == (
        "error: the Jira target needs JIRA_URL, JIRA_EMAIL, JIRA_API_TOKEN (environment or "
        "[settings] in backlog-bot.toml); `backlog-bot sandbox` prints values for a local sandbox\n"
    )


def test_cli_unknown_target(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["plan", str(REFERENCE), "--target", "trello"]) == 2
    assert "unknown --target 'trello' (choose from: jira" in capsys.readouterr().err


def test_missing_fields_are_warned_about_and_left_out(sqlite_url: str) -> None:
    spec = ProjectSpec("BSS", hidden_fields=("customfield_10016", "timetracking"))
    with JiraSandbox([spec]) as site:
        engine = make_sync(site, sqlite_url)
        report = engine.apply(reference_backlog(), SOURCE)
        assert report.failures == []
        assert report.warnings[-2:] == [
            "project BSS: no 'Story Points' or 'Story point estimate' field on the Story create "
            "screen; story points are not synced (add the field to the screen)",
            "project BSS: time tracking is off on the Subtask screen; task hours are not synced "
            "as original estimates (enable time tracking)",
        ]
        assert site.state.summary()["issues"] == 145
