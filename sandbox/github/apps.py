"""GitHub App authentication in the sandbox GitHub: the App, its installation, its tokens.

As on GitHub: ``GET /app`` and ``POST /app/installations/{id}/access_tokens`` and
``GET /repos/{owner}/{repo}/installation`` take the App's JWT (RS256, signed with the App's
private key, checked here with its public key; ``iss`` the App id; ``exp`` at most 10 minutes
ahead; ``iat`` not in the future beyond a minute of drift); every other endpoint takes a
personal token or an unexpired installation token. Shapes follow ``@octokit/openapi``
(``integration``, ``installation``, ``installation-token``); the contract test checks them.

The key pair is made here (``private_key_pem`` is what an organisation downloads from the App's
settings); ``token_lifetime`` (3600 s on GitHub) can be shortened to test refreshing.
"""

from __future__ import annotations

import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.github.state import RepoState, SandboxError

MAX_JWT_AHEAD = 600
DRIFT = 60
STAMP = "2026-01-05T09:00:00Z"


def new_private_key_pem() -> str:
    """A fresh RSA key in PEM (PKCS#1, as GitHub's download)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


class AppAuth:
    """One installed GitHub App on the sandbox repository."""

    def __init__(
        self,
        repo: RepoState,
        *,
        app_id: int = 424242,
        slug: str = "backlog-bot",
        installation_id: int = 5150,
        token_lifetime: float = 3600.0,
        clock: Any = time.time,
    ) -> None:
        self.repo = repo
        self.app_id = app_id
        self.slug = slug
        self.installation_id = installation_id
        self.token_lifetime = token_lifetime
        self.clock = clock
        self._key_pem: str | None = None  # made on first use: most sandboxes never need it
        self.installed = True
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()
        self.minted: list[str] = []  # every token issued, in order

    @property
    def private_key_pem(self) -> str:
        """The App's private key, as downloaded from its settings page."""
        with self._lock:
            if self._key_pem is None:
                self._key_pem = new_private_key_pem()
            return self._key_pem

    def _public_key(self) -> Any:
        private = serialization.load_pem_private_key(self.private_key_pem.encode(), None)
        return private.public_key()

    # --- credentials --------------------------------------------------------------------------

    def jwt_problem(self, header: str | None) -> str | None:
        """Why ``header`` is not a valid App JWT (GitHub's message), ``None`` if it is."""
        scheme, _, credential = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            return "A JSON web token could not be decoded"
        try:
            claims = jwt.decode(
                credential.strip(),
                self._public_key(),
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"], "verify_iat": False},
                leeway=0,
            )
        except jwt.ExpiredSignatureError:
            return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"  # noqa: E501 - GitHub's text
        except jwt.PyJWTError:
            return "A JSON web token could not be decoded"
        now = self.clock()
        if str(claims["iss"]) != str(self.app_id):
            return "'Issuer' claim ('iss') must be an Integer"
        if float(claims["exp"]) > now + MAX_JWT_AHEAD + DRIFT:
            return "'Expiration time' claim ('exp') is too far in the future"
        if float(claims["iat"]) > now + DRIFT:
            return "'Issued at' claim ('iat') must be an Integer representing a time in the past"
        return None

    def token_valid(self, token: str) -> bool:
        with self._lock:
            expires = self._tokens.get(token)
        return expires is not None and self.clock() < expires

    def expire_tokens(self) -> None:
        """Make every issued token stale now (as if an hour had passed)."""
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    # --- endpoints ----------------------------------------------------------------------------

    @staticmethod
    def is_app_endpoint(method: str, path: str) -> bool:
        parts = path.strip("/").split("/")
        if parts[:1] == ["app"]:
            return True
        return (
            method == "GET"
            and len(parts) == 4
            and parts[0] == "repos"
            and parts[3] == ("installation")
        )

    def handle(self, method: str, path: str) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if method == "GET" and parts == ["app"]:
            return 200, self.app_shape()
        if method == "GET" and parts[0] == "repos" and parts[3:] == ["installation"]:
            if [parts[1], parts[2]] != [self.repo.owner, self.repo.name] or not self.installed:
                raise SandboxError(404, "Not Found")
            return 200, self.installation_shape()
        if (
            method == "POST"
            and parts[:2] == ["app", "installations"]
            and parts[3:] == ["access_tokens"]
        ):
            if parts[2] != str(self.installation_id) or not self.installed:
                raise SandboxError(404, "Not Found")
            return 201, self.mint()
        raise SandboxError(404, "Not Found")

    def mint(self) -> dict[str, Any]:
        token = "ghs_" + secrets.token_hex(18)
        expires = self.clock() + self.token_lifetime
        with self._lock:
            self._tokens[token] = expires
            self.minted.append(token)
        stamp = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "token": token,
            "expires_at": stamp,
            "permissions": self._permissions(),
            "repository_selection": "selected",
        }

    # --- shapes (components "integration" and "installation") ---------------------------------

    def _permissions(self) -> dict[str, str]:
        return {"issues": "write", "metadata": "read", "pull_requests": "read", "checks": "read"}

    def _owner(self) -> dict[str, Any]:
        return self.repo.user_shape(self.repo.owner)

    def app_shape(self) -> dict[str, Any]:
        return {
            "id": self.app_id,
            "slug": self.slug,
            "node_id": f"A_{self.app_id}",
            "client_id": f"Iv1.{self.app_id:016x}",
            "owner": self._owner(),
            "name": "backlog-bot",
            "description": "Keeps an agile backlog honest.",
            "external_url": "https://example.com/backlog-bot",
            "html_url": f"{self.repo.base_url}/apps/{self.slug}",
            "created_at": STAMP,
            "updated_at": STAMP,
            "permissions": self._permissions(),
            "events": ["issues", "pull_request", "push"],
            "installations_count": 1,
        }

    def installation_shape(self) -> dict[str, Any]:
        api = self.repo.base_url.rstrip("/")
        owner = self._owner()
        return {
            "id": self.installation_id,
            "account": owner,
            "repository_selection": "selected",
            "access_tokens_url": f"{api}/app/installations/{self.installation_id}/access_tokens",
            "repositories_url": f"{api}/installation/repositories",
            "html_url": f"https://github.com/settings/installations/{self.installation_id}",
            "app_id": self.app_id,
            "client_id": f"Iv1.{self.app_id:016x}",
            "target_id": owner["id"],
            "target_type": "Organization",
            "permissions": self._permissions(),
            "events": ["issues", "pull_request", "push"],
            "created_at": STAMP,
            "updated_at": STAMP,
            "single_file_name": None,
            "has_multiple_single_files": False,
            "single_file_paths": [],
            "app_slug": self.slug,
            "suspended_by": None,
            "suspended_at": None,
            "contact_email": None,
        }
