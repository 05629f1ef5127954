"""In-memory state of the Slack sandbox: workspace, channels, users, messages, files, replies.

Every public method is thread-safe: the emulator serves requests on uvicorn's thread while
tests and the demo read the state from theirs.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

TEAM_ID = "T0SANDBOX1"
TEAM_NAME = "Sandbox Workspace"
TEAM_DOMAIN = "sandbox"
BOT_USER_ID = "U0BOTUSER1"
BOT_ID = "B0BACKLOG1"
DEFAULT_TOKEN = "xoxb-sandbox-backlog-bot"
DEFAULT_SIGNING_SECRET = "sandbox-signing-secret"
DEFAULT_CHANNEL_ID = "C0BACKLOG1"
DEFAULT_CHANNEL_NAME = "backlog"


class SlackError(Exception):
    """An ``ok: false`` answer of the Web API (HTTP 200 with ``error``)."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


class RateLimited(Exception):
    """A 429 answer with ``Retry-After``."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited for {retry_after}s")
        self.retry_after = retry_after


@dataclass
class Channel:
    id: str
    name: str
    created: int
    is_private: bool = False
    is_archived: bool = False
    topic: str = ""
    purpose: str = ""


@dataclass
class User:
    id: str
    name: str
    real_name: str
    is_admin: bool = False
    is_bot: bool = False
    tz: str = "Europe/Berlin"


@dataclass
class Message:
    """A message the bot posted (or a file share), as the workspace would show it."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    files: list[str] = field(default_factory=list)
    edited: int = 0
    ephemeral_user: str | None = None


@dataclass
class StoredFile:
    id: str
    filename: str
    length: int
    alt_txt: str | None = None
    data: bytes | None = None
    title: str | None = None
    channel: str | None = None
    created: int = 0

    @property
    def is_uploaded(self) -> bool:
        return self.data is not None


@dataclass
class ResponseUrlReply:
    """A JSON body the bot POSTed to a slash command's ``response_url``."""

    token: str
    body: dict[str, Any]
    received_at: float


@dataclass
class ApiCall:
    method: str
    args: dict[str, Any]
    ok: bool
    error: str | None = None


class SlackState:
    """The workspace the emulator serves. Create one per test; inspect it afterwards."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        signing_secret: str = DEFAULT_SIGNING_SECRET,
    ) -> None:
        self.token = token
        self.signing_secret = signing_secret
        self._lock = threading.RLock()
        self._created = int(time.time())
        self._ts_counter = itertools.count(1)
        self._ids = itertools.count(1)
        self.channels: dict[str, Channel] = {}
        self.users: dict[str, User] = {}
        self.messages: list[Message] = []
        self.ephemerals: list[Message] = []
        self.files: dict[str, StoredFile] = {}
        self.replies: list[ResponseUrlReply] = []
        self.calls: list[ApiCall] = []
        self._planned: dict[str, list[Exception]] = {}
        self.add_channel(DEFAULT_CHANNEL_ID, DEFAULT_CHANNEL_NAME)
        self.add_user(BOT_USER_ID, "backlog-bot", "Backlog Bot", is_bot=True)

    # --- set-up -----------------------------------------------------------------------------

    def add_channel(self, channel_id: str, name: str, *, is_private: bool = False) -> Channel:
        with self._lock:
            channel = Channel(channel_id, name, self._created, is_private=is_private)
            self.channels[channel_id] = channel
            return channel

    def add_user(
        self,
        user_id: str,
        name: str,
        real_name: str,
        *,
        is_admin: bool = False,
        is_bot: bool = False,
    ) -> User:
        with self._lock:
            user = User(user_id, name, real_name, is_admin=is_admin, is_bot=is_bot)
            self.users[user_id] = user
            return user

    def fail_next(self, method: str, error: str) -> None:
        """Make the next call of ``method`` answer ``{"ok": false, "error": error}``."""
        with self._lock:
            self._planned.setdefault(method, []).append(SlackError(error))

    def rate_limit_next(self, method: str, retry_after: int = 1) -> None:
        """Make the next call of ``method`` answer HTTP 429 with ``Retry-After``."""
        with self._lock:
            self._planned.setdefault(method, []).append(RateLimited(retry_after))

    def take_planned(self, method: str) -> Exception | None:
        with self._lock:
            queue = self._planned.get(method)
            return queue.pop(0) if queue else None

    # --- queries ----------------------------------------------------------------------------

    def resolve_channel(self, ref: str) -> Channel | None:
        """A channel by id, ``#name`` or name (chat.postMessage accepts all three)."""
        with self._lock:
            if ref in self.channels:
                return self.channels[ref]
            name = ref.removeprefix("#")
            return next((c for c in self.channels.values() if c.name == name), None)

    def messages_in(self, channel: str | None = None) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if channel is None or m.channel == channel]

    def record_call(self, method: str, args: dict[str, Any], error: str | None) -> None:
        with self._lock:
            self.calls.append(ApiCall(method, dict(args), error is None, error))

    def calls_to(self, method: str) -> list[ApiCall]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    # --- mutations used by the API handlers ---------------------------------------------------

    def next_ts(self) -> str:
        """A message timestamp in Slack's ``1234567890.123456`` form, strictly increasing."""
        return f"{self._created}.{next(self._ts_counter):06d}"

    def next_id(self, prefix: str) -> str:
        return f"{prefix}0SBX{next(self._ids):06d}"

    def post(self, message: Message) -> Message:
        with self._lock:
            (self.ephemerals if message.ephemeral_user else self.messages).append(message)
            return message

    def find_message(self, channel: str, ts: str) -> Message | None:
        with self._lock:
            return next((m for m in self.messages if m.channel == channel and m.ts == ts), None)

    def add_file(self, stored: StoredFile) -> StoredFile:
        with self._lock:
            self.files[stored.id] = stored
            return stored

    def add_reply(self, token: str, body: dict[str, Any]) -> ResponseUrlReply:
        with self._lock:
            reply = ResponseUrlReply(token, body, time.time())
            self.replies.append(reply)
            return reply

    def replies_for(self, token: str) -> list[ResponseUrlReply]:
        with self._lock:
            return [reply for reply in self.replies if reply.token == token]
