"""GitHub App authentication end to end against the sandbox GitHub over loopback HTTP.

The App's JWT (PyJWT, RS256) buys an installation token, which PyGithub (REST) and httpx
(GraphQL) both send; the token is refreshed before it expires, a wrong key is refused with a
message naming the settings, and the sandbox's App endpoints answer in GitHub's shapes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from backlog.errors import AuthenticationError, NotFoundError
from bot.cli.app import main
from sandbox.github import GitHubSandbox
from sandbox.github.apps import new_private_key_pem
from sync.calls import CallCounter
from sync.github.adapter import GitHubRestAdapter
from sync.github.auth import AUTH_SERVICE, InstallationTokens
from sync.github.graphql import GitHubProjectsClient
from sync.github.limits import PacingPolicy, RateGovernor
from tests.test_github_contract import OPENAPI, SERVER, _templates, pruned, template_for

BACKLOG = (Path(__file__).parent / "data" / "billing-backlog.md").read_text()


class Clock:
    """One clock for the sandbox and the client, so an hour passes in a test."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sandbox() -> Any:
    with GitHubSandbox() as running:
        yield running


def tokens(sandbox: GitHubSandbox, **kwargs: Any) -> InstallationTokens:
    options: dict[str, Any] = {
        "api_url": sandbox.url,
        "app_id": sandbox.apps.app_id,
        "private_key": sandbox.apps.private_key_pem,
        "repository": "acme/bss",
    }
    return InstallationTokens(**(options | kwargs))


def app_calls(sandbox: GitHubSandbox) -> list[tuple[str, str, int]]:
    return [
        (r["method"], r["path"], r["status"])
        for r in sandbox.requests()
        if r["path"].startswith("/app") or r["path"].endswith("/installation")
    ]


def test_apply_through_the_cli_with_app_credentials_only(
    sandbox: GitHubSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in sandbox.app_env(str(tmp_path / "app.pem")).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.chdir(tmp_path)
    backlog = tmp_path / "backlog.md"
    backlog.write_text(BACKLOG)
    assert main(["apply", str(backlog), "--target", "github"]) == 0
    assert sorted(sandbox.issues_by_marker()) == ["EPIC-001", "US-001", "US-002"]
    # One installation lookup and one token for the whole run, REST and GraphQL alike.
    assert app_calls(sandbox) == [
        ("GET", "/repos/acme/bss/installation", 200),
        ("POST", "/app/installations/5150/access_tokens", 201),
    ]
    assert len(sandbox.apps.minted) == 1
    others = [r for r in sandbox.requests() if not r["path"].startswith("/app")]
    assert {r["status"] for r in others} <= {200, 201, 204}
    assert any(r["path"] == "/graphql" for r in others)


def test_token_is_refreshed_before_it_expires_and_rest_and_graphql_keep_working(
    sandbox: GitHubSandbox,
) -> None:
    clock = Clock()
    sandbox.apps.clock = clock
    source = tokens(sandbox, clock=clock, refresh_margin=300)
    first = source.token()
    assert source.token() == first and source.minted == 1  # cached while fresh
    counter = CallCounter()
    governor = RateGovernor(PacingPolicy.off())
    rest = GitHubRestAdapter(
        api_url=sandbox.url, token=source, repository="acme/bss", counter=counter, governor=governor
    )
    projects = GitHubProjectsClient(
        api_url=sandbox.url, token=source, repository="acme/bss", counter=counter, governor=governor
    )
    try:
        assert rest.list_labels() == {}
        clock.now += 3600 - 299  # within the refresh margin: the next request gets a new token
        project = projects.find_or_create_project(sandbox.project_title)  # GraphQL
        assert source.minted == 2
        second = source.token()
        assert second != first
        clock.now += 299 + 1  # the first token has now expired on the sandbox
        with httpx.Client(base_url=sandbox.url) as raw:
            refused = raw.get("/repos/acme/bss/labels", headers={"Authorization": f"token {first}"})
        assert refused.status_code == 401
        rest.create_label("epic", "3e4b9e", "epics")  # REST with the second token
        assert source.minted == 2
        clock.now += 3600  # the second token is stale too: the next request mints a third
        assert set(rest.list_labels()) == {"epic"}
        assert projects.fields(project)  # GraphQL with the third token
        assert source.minted == 3
        assert len(sandbox.apps.minted) == 3
    finally:
        rest.close()
        projects.close()
        source.close()
    assert counter.snapshot().get(f"{AUTH_SERVICE} POST") is None  # counted by the source


def test_a_wrong_private_key_is_refused_with_a_message_naming_the_settings(
    sandbox: GitHubSandbox,
) -> None:
    source = tokens(sandbox, private_key=new_private_key_pem())
    with pytest.raises(AuthenticationError) as caught:
        source.token()
    message = str(caught.value)
    assert "GitHub App 424242" in message and "GITHUB_APP_ID" in message
    assert "GITHUB_APP_PRIVATE_KEY" in message
    assert app_calls(sandbox) == [("GET", "/repos/acme/bss/installation", 401)]
    assert sandbox.apps.minted == []


def test_wrong_key_through_the_cli_is_one_line_exit_2(
    sandbox: GitHubSandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in sandbox.app_env(str(tmp_path / "app.pem")).items():
        monkeypatch.setenv(key, value)
    (tmp_path / "app.pem").write_text(new_private_key_pem())
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "backlog.md").write_text(BACKLOG)
    assert main(["apply", str(tmp_path / "backlog.md"), "--target", "github", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: github: GitHub App 424242: GitHub refused")


def test_not_installed_and_unreadable_key(sandbox: GitHubSandbox) -> None:
    sandbox.apps.installed = False
    with pytest.raises(NotFoundError, match="is not installed on acme/bss"):
        tokens(sandbox).token()
    from backlog.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="GITHUB_APP_PRIVATE_KEY is not a PEM"):
        tokens(sandbox, private_key="not a key")


def test_sandbox_accepts_only_a_valid_jwt_on_app_endpoints(sandbox: GitHubSandbox) -> None:
    now = int(time.time())
    key = sandbox.apps.private_key_pem

    def signed(**claims: Any) -> str:
        base = {"iat": now - 60, "exp": now + 540, "iss": str(sandbox.apps.app_id)}
        return jwt.encode(base | claims, key, algorithm="RS256")

    with httpx.Client(base_url=sandbox.url) as client:

        def status(token: str, path: str = "/app") -> int:
            return client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code

        assert status(signed()) == 200
        assert status(sandbox.token) == 401  # a personal token is not an App JWT
        assert status(signed(iss="1")) == 401
        assert status(signed(exp=now - 1)) == 401
        assert status(signed(exp=now + 3600)) == 401  # GitHub allows 10 minutes at most
        other = new_private_key_pem()
        forged = jwt.encode({"iat": now, "exp": now + 60, "iss": "424242"}, other, "RS256")
        assert status(forged) == 401
        assert status(signed(), "/repos/acme/bss/issues") == 401  # a JWT is not a token


def test_sandbox_app_endpoints_answer_in_githubs_shapes(sandbox: GitHubSandbox) -> None:
    import json

    official = json.loads(OPENAPI.read_text(encoding="utf-8"))
    exchanges = [
        ("get", "/app"),
        ("get", "/repos/acme/bss/installation"),
        ("post", "/app/installations/5150/access_tokens"),
    ]
    templates = _templates(official)
    keep = {template_for(templates, path) for _, path in exchanges}
    api = OpenAPI.from_dict(pruned(official, {t for t in keep if t}))
    source = tokens(sandbox)
    with httpx.Client(base_url=sandbox.url) as client:
        for method, path in exchanges:
            headers = {"Authorization": f"Bearer {source.app_jwt()}"}
            answer = client.request(method, path, headers=headers)
            assert answer.status_code in (200, 201), answer.text
            request = MockRequest(SERVER, method, path)
            response = MockResponse(
                answer.content, status_code=answer.status_code, content_type="application/json"
            )
            api.validate_response(request, response)
    source.close()
