"""Posting to Slack with the real ``slack_sdk.WebClient`` (pointed at SLACK_API_URL).

Slack's errors are translated here, at the boundary, into ``backlog.errors`` values that say what
to fix; HTTP 429 answers are retried after ``Retry-After`` by slack_sdk's own retry handler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from backlog.errors import (
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    RateLimitedError,
    RemoteError,
    TransientError,
)
from bot.slack.messages import SlackMessage

if TYPE_CHECKING:
    from bot.settings import Settings

AUTH_ERRORS = {"not_authed", "invalid_auth", "token_revoked", "account_inactive"}
NOT_FOUND_ERRORS = {"channel_not_found", "not_in_channel", "user_not_found", "file_not_found"}


def make_client(settings: Settings) -> WebClient:
    """A WebClient for the bot token and API URL in ``settings``."""
    if settings.slack_bot_token is None:
        raise ConfigurationError("setting SLACK_BOT_TOKEN is missing: set the bot's xoxb- token")
    base_url = (
        settings.slack_api_url
        if settings.slack_api_url.endswith("/")
        else (settings.slack_api_url + "/")
    )
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=base_url,
        timeout=15,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )


def translate(exc: SlackClientError, method: str) -> RemoteError:
    """A Slack client error as a backlog-bot error that names what to do."""
    if isinstance(exc, SlackApiError):
        error = str(exc.response.get("error", "unknown_error"))
        status = exc.response.status_code
        if status == 429:
            retry = exc.response.headers.get("Retry-After")
            wait = float(retry[0] if isinstance(retry, list) else retry or 0)
            return RateLimitedError(f"{method} rate limited", service="slack", retry_after=wait)
        if error in AUTH_ERRORS:
            return AuthenticationError(
                f"{method}: {error} — check SLACK_BOT_TOKEN", service="slack", status=status
            )
        if error in NOT_FOUND_ERRORS:
            return NotFoundError(
                f"{method}: {error} — check SLACK_CHANNEL and invite the bot to the channel",
                service="slack",
                status=status,
            )
        return RemoteError(f"{method}: {error}", service="slack", status=status)
    return TransientError(f"{method}: {exc}", service="slack")


class SlackPoster:
    """Posts messages and files to one channel."""

    def __init__(self, client: WebClient, channel: str) -> None:
        self.client = client
        self.channel = channel

    @classmethod
    def from_settings(cls, settings: Settings) -> SlackPoster:
        if not settings.slack_channel:
            raise ConfigurationError(
                "setting SLACK_CHANNEL is missing: set the channel id (C...) or #name to post to"
            )
        return cls(make_client(settings), settings.slack_channel)

    def post(self, message: SlackMessage, *, thread_ts: str | None = None) -> str:
        """Post ``message``; returns its ``ts``."""
        try:
            answer = self.client.chat_postMessage(
                channel=self.channel, text=message.text, blocks=message.blocks, thread_ts=thread_ts
            )
        except SlackClientError as exc:
            raise translate(exc, "chat.postMessage") from exc
        self.channel = str(answer["channel"])  # a #name resolves to the channel id
        return str(answer["ts"])

    def update(self, ts: str, message: SlackMessage) -> None:
        try:
            self.client.chat_update(
                channel=self.channel, ts=ts, text=message.text, blocks=message.blocks
            )
        except SlackClientError as exc:
            raise translate(exc, "chat.update") from exc

    def upload_png(
        self, data: bytes, *, filename: str, title: str, comment: str, thread_ts: str | None = None
    ) -> str:
        """Upload a PNG with the external upload flow (files_upload_v2); returns the file id."""
        try:
            answer = self.client.files_upload_v2(
                channel=self.channel,
                content=data,
                filename=filename,
                title=title,
                alt_txt=title,
                initial_comment=comment,
                thread_ts=thread_ts,
            )
        except SlackClientError as exc:
            raise translate(exc, "files.completeUploadExternal") from exc
        return str(answer["file"]["id"])
