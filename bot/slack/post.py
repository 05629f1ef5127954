"""Posting to Slack with the real ``slack_sdk.WebClient`` (pointed at SLACK_API_URL).

Slack's errors are translated here, at the boundary, into ``backlog.errors`` values that say what
to fix; HTTP 429 answers are retried after ``Retry-After`` by slack_sdk's own retry handler, up
to a longest wait: the service passes a short one, so that a spent Slack limit sends the delivery
back to the inbox (``RateLimitedError``) instead of holding its worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

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


class CappedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack_sdk's 429 retry, only when Slack's ``Retry-After`` is at most ``longest_wait``
    seconds; a longer wait is left to the caller as the 429 itself."""

    def __init__(self, *, max_retry_count: int, longest_wait: float) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.longest_wait = longest_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = retry_after(response.headers)
        return (1.0 if wait is None else wait) <= self.longest_wait  # none named: about 1 s


def retry_after(headers: dict[str, list[str]] | Any) -> float | None:
    """Slack's ``Retry-After`` in seconds (values may come as lists), None when it names none."""
    for name, values in dict(headers).items():
        if name.lower() == "retry-after":
            value = values[0] if isinstance(values, list) else values
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None


def make_client(settings: Settings, *, longest_wait: float = 60.0) -> WebClient:
    """A WebClient for the bot token and API URL in ``settings``; a 429 is waited for when
    Slack asks for at most ``longest_wait`` seconds, else raised."""
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
            CappedRateLimitRetryHandler(max_retry_count=2, longest_wait=longest_wait),
        ],
    )


def translate(exc: SlackClientError, method: str) -> RemoteError:
    """A Slack client error as a backlog-bot error that names what to do."""
    if isinstance(exc, SlackApiError):
        error = str(exc.response.get("error", "unknown_error"))
        status = exc.response.status_code
        if status == 429:
            wait = retry_after(exc.response.headers) or 0.0
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
    def from_settings(cls, settings: Settings, *, longest_wait: float = 60.0) -> SlackPoster:
        """A poster for ``settings``; Slack's rate limit is waited for up to ``longest_wait``."""
        if not settings.slack_channel:
            raise ConfigurationError(
                "setting SLACK_CHANNEL is missing: set the channel id (C...) or #name to post to"
            )
        return cls(make_client(settings, longest_wait=longest_wait), settings.slack_channel)

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
