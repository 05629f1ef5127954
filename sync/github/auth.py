"""GitHub credentials: a personal token, or a GitHub App installation (what organisations use).

An App authenticates in two steps (GitHub docs, "Authenticating as a GitHub App
installation"):

1. a JWT signed RS256 with the App's private key, ``iss`` = the App id, valid at most
   10 minutes (``iat`` is back-dated 60 s against clock drift), sent as ``Bearer``;
2. ``POST /app/installations/{id}/access_tokens`` with that JWT returns an installation token
   valid one hour; the installation of the repository is found with
   ``GET /repos/{owner}/{repo}/installation`` unless its id is configured.

``InstallationTokens`` does both, caches the token and mints a new one ``refresh_margin``
before it expires, so a long ``apply`` paced under GitHub's limits never sends a stale one.
The REST adapter (PyGithub, ``sync.github.adapter.pygithub_auth``) and the GraphQL client
(httpx, ``HttpxTokenAuth``) share one instance; a plain token string works in both places too.

Errors: the JWT refused (401) -> ``AuthenticationError`` naming GITHUB_APP_ID and the key;
the App not installed on the repository (404) -> ``NotFoundError`` saying so; an unreadable
key -> ``ConfigurationError`` naming the setting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from datetime import datetime
from typing import Any, Protocol

import httpx
import jwt

from backlog.errors import (
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    RemoteError,
    TransientError,
)
from sync.calls import CallCounter

SERVICE = "github"
AUTH_SERVICE = "github auth"  # counted apart: minting a token is not a write to the backlog
JWT_LIFETIME = 540  # seconds; GitHub refuses more than 600
CLOCK_DRIFT = 60


class TokenSource(Protocol):
    """Anything that hands out a currently valid token."""

    def token(self) -> str: ...


Credential = str | TokenSource


class InstallationTokens:
    """Installation tokens of one GitHub App on one repository, minted and refreshed on demand."""

    def __init__(
        self,
        *,
        api_url: str,
        app_id: int,
        private_key: str,
        repository: str,
        installation_id: int | None = None,
        refresh_margin: float = 300.0,
        clock: Callable[[], float] = time.time,
        counter: CallCounter | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.app_id = app_id
        self.repository = repository
        self.installation_id = installation_id
        self.refresh_margin = refresh_margin
        self.clock = clock
        self.counter = counter or CallCounter()
        self.minted = 0  # how many installation tokens this source has obtained
        self._key = _load_key(private_key)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    def close(self) -> None:
        """Nothing held open: each mint (once an hour) uses a connection of its own."""

    def token(self) -> str:
        """A token valid for at least ``refresh_margin`` more seconds (minted if needed)."""
        with self._lock:
            if self._token is None or self.clock() >= self._expires_at - self.refresh_margin:
                self._token, self._expires_at = self._mint()
            return self._token

    def app_jwt(self) -> str:
        """The App's own JWT (for the ``/app`` endpoints)."""
        return _sign(self.app_id, self._key, self.clock())

    def _mint(self) -> tuple[str, float]:
        installation = self.installation_id or self._find_installation()
        self.installation_id = installation
        data = self._send("POST", f"/app/installations/{installation}/access_tokens")
        expires = datetime.fromisoformat(str(data["expires_at"]).replace("Z", "+00:00"))
        self.minted += 1
        return str(data["token"]), expires.timestamp()

    def _find_installation(self) -> int:
        data = self._send("GET", f"/repos/{self.repository}/installation")
        return int(data["id"])

    def _send(self, verb: str, path: str) -> dict[str, Any]:
        self.counter.record(AUTH_SERVICE, verb)
        headers = {
            "Authorization": f"Bearer {self.app_jwt()}",
            "Accept": "application/vnd.github+json",
            "User-Agent": "backlog-bot",
        }
        try:
            with httpx.Client(timeout=self.timeout) as http:
                response = http.request(verb, self.api_url + path, headers=headers)
        except httpx.HTTPError as exc:
            raise TransientError(
                f"GitHub App token: no answer from {self.api_url} ({type(exc).__name__})",
                service=SERVICE,
            ) from exc
        said = _message(response)
        if response.status_code == 401:
            raise AuthenticationError(
                f"GitHub App {self.app_id}: GitHub refused the App's JWT ({said}); check "
                "GITHUB_APP_ID and that GITHUB_APP_PRIVATE_KEY is the App's current private key",
                service=SERVICE,
                status=401,
            )
        if response.status_code == 404:
            raise NotFoundError(
                f"GitHub App {self.app_id} is not installed on {self.repository} ({said}): "
                "install it on the repository (GitHub: Settings > GitHub Apps), or fix "
                "GITHUB_APP_INSTALLATION_ID / GITHUB_REPOSITORY",
                service=SERVICE,
                status=404,
            )
        if response.status_code >= 500:
            raise TransientError(
                f"GitHub App token: {response.status_code} {said}",
                service=SERVICE,
                status=response.status_code,
            )
        if response.status_code >= 400:
            raise RemoteError(
                f"GitHub App token: {response.status_code} {said}",
                service=SERVICE,
                status=response.status_code,
            )
        data = response.json()
        if not isinstance(data, dict):
            raise RemoteError("GitHub App token: unexpected answer", service=SERVICE)
        return data


def app_jwt(app_id: int, private_key: str, now: float | None = None) -> str:
    """A JWT for the App ``app_id`` (RS256, back-dated ``CLOCK_DRIFT``, 9 minutes)."""
    return _sign(app_id, _load_key(private_key), time.time() if now is None else now)


def _sign(app_id: int, key: Any, now: float) -> str:
    issued = int(now)
    claims = {"iat": issued - CLOCK_DRIFT, "exp": issued + JWT_LIFETIME, "iss": str(app_id)}
    return jwt.encode(claims, key, algorithm="RS256")


def _load_key(pem: str) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        return load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            "GITHUB_APP_PRIVATE_KEY is not a PEM private key (download one under the App's "
            "settings > Private keys; give its text, or its path in GITHUB_APP_PRIVATE_KEY_FILE)"
        ) from exc


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200] or f"HTTP {response.status_code}"
    return str(data.get("message", "")) if isinstance(data, dict) else str(data)[:200]


class HttpxTokenAuth(httpx.Auth):
    """httpx auth that sets ``Authorization: bearer <token>`` from a token source per request."""

    def __init__(self, credential: Credential) -> None:
        self.credential = credential

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.credential if isinstance(self.credential, str) else self.credential.token()
        request.headers["Authorization"] = f"bearer {token}"
        yield request
