"""The Slack app: slack-bolt listeners for ``/backlog``, served at ``POST /slack/events``.

- Request signatures are verified by bolt's ``RequestVerification`` middleware (kept on):
  HMAC-SHA256 over ``v0:timestamp:body`` with SLACK_SIGNING_SECRET, and a 300-second replay
  window (``slack_sdk.signature.SignatureVerifier``); failures answer 401.
- ``ack()`` runs first and fast: help, refusals and usage errors are answered in the ack
  itself; real work runs in a lazy listener (bolt's thread executor) after the response is
  sent (``process_before_response=True`` keeps that order explicit), and its reply goes to the
  command's ``response_url``.
- Slack retries a request it thinks timed out (``X-Slack-Retry-Num``) with the same body: a
  middleware claims each command's ``trigger_id`` (each event's ``event_id``) in the
  database, so a retry, or the same request reaching another replica, never runs twice.
- The Starlette endpoint is bolt's own adapter functions around a threadpool call, so that
  the event loop (which also receives webhooks) never waits for the database. Before bolt
  sees a request, the endpoint reads the body under a streaming size cap (413 beyond
  ``SLACK_MAX_BODY_BYTES``), refuses a timestamp header that is not a Unix time (401), and a
  body that is neither form fields nor a JSON object, or nests too deeply (400): bolt would
  answer those with a 500 and a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltResponse, Respond
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk import WebClient
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from backlog.errors import ConfigurationError
from backlog.nesting import MAX_DEPTH, too_deep
from bot.service.bodies import PayloadTooLarge, read_capped
from bot.slack import messages
from bot.slack.commands import Commands, parse_command
from sync.state.slack import claim_request

if TYPE_CHECKING:
    from bot.digests.context import SlackContext
    from bot.settings import Settings
    from bot.slack.commands import SyncActions

log = logging.getLogger(__name__)
COMMAND = "/backlog"
DEFAULT_MAX_BODY_BYTES = 512 * 1024
MAX_TIMESTAMP_DIGITS = 12  # Unix seconds until the year 33658


def dedupe_key(body: dict[str, Any]) -> str | None:
    """The identity of a Slack request across retries (None when it has none)."""
    if body.get("command") and body.get("trigger_id"):
        return f"command:{body['trigger_id']}"
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    return None


def build_bolt_app(
    commands: Commands,
    *,
    signing_secret: str,
    client: WebClient,
    executor_workers: int = 4,
) -> App:
    """The bolt App with the ``/backlog`` listeners and the retry guard."""
    engine = commands.ctx.engine
    bolt_log = logging.getLogger("backlog_bot.slack")
    level = bolt_log.level
    # bolt warns that SLACK_BOT_TOKEN from the environment is unused because a client (with
    # that token and SLACK_API_URL) is given: expected, so not worth a warning at start-up.
    bolt_log.setLevel(logging.ERROR)
    try:
        app = App(
            signing_secret=signing_secret,
            client=client,
            process_before_response=True,
            token_verification_enabled=False,  # auth.test on the first request, not at import
            listener_executor=ThreadPoolExecutor(
                max_workers=executor_workers, thread_name_prefix="slack-lazy"
            ),
            logger=bolt_log,
        )
    finally:
        bolt_log.setLevel(level)

    @app.middleware
    def run_each_request_once(body: dict[str, Any], next: Callable[[], BoltResponse]) -> Any:
        key = dedupe_key(body)
        if key is not None and not claim_request(engine, key):
            log.info("slack request already taken, not running it again", extra={"key": key})
            return BoltResponse(status=200, body="")
        return next()

    def acknowledge(ack: Ack, command: dict[str, Any]) -> None:
        parsed = parse_command(command.get("text", ""))
        reply = commands.quick_reply(parsed, command.get("user_id", ""))
        message = reply or commands.working(parsed)
        ack(text=message.text, blocks=message.blocks, response_type="ephemeral")

    def work(command: dict[str, Any], respond: Respond) -> None:
        parsed = parse_command(command.get("text", ""))
        user = command.get("user_id", "")
        if commands.quick_reply(parsed, user) is not None:
            return  # already answered in the ack
        try:
            message = commands.run(parsed, user)
        except Exception as exc:  # the user must hear back; the log keeps the details
            log.exception("slash command failed", extra={"command": parsed.name})
            message = messages.error_message(type(exc).__name__)
        respond(
            text=message.text,
            blocks=message.blocks,
            response_type="ephemeral",
            replace_original=True,
        )

    app.command(COMMAND)(ack=acknowledge, lazy=[work])
    return app


def slack_endpoint(
    app: App, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> Callable[[Request], Awaitable[Response]]:
    """An ``async (Request) -> Response`` for ``create_app(slack_handler=...)``."""

    async def handle(request: Request) -> Response:
        try:
            body = await read_capped(request, max_body_bytes)
        except PayloadTooLarge:
            return _refuse(413, f"body exceeds {max_body_bytes} bytes (SLACK_MAX_BODY_BYTES)")
        stamp = request.headers.get("x-slack-request-timestamp")
        if stamp is not None and not (stamp.isascii() and stamp.isdigit()
                                      and len(stamp) <= MAX_TIMESTAMP_DIGITS):  # fmt: skip
            return _refuse(401, "X-Slack-Request-Timestamp is not a Unix time")
        try:
            bolt_request = to_bolt_request(request, body)
        except (ValueError, RecursionError, AttributeError, TypeError):
            # bolt parses the body as it builds the request: invalid JSON, a ``payload=``
            # that is not a JSON object, nesting past the recursion limit
            return _refuse(400, "body is neither Slack form fields nor a JSON object")
        if too_deep(bolt_request.body):
            return _refuse(400, f"JSON nests more than {MAX_DEPTH} levels deep")
        bolt_response = await run_in_threadpool(app.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    return handle


def _refuse(status: int, reason: str) -> Response:
    log.warning("slack request refused", extra={"status": status, "reason": reason})
    return JSONResponse({"error": reason}, status_code=status)


def build_slack(
    settings: Settings, ctx: SlackContext, *, actions: SyncActions | None = None
) -> tuple[App, Callable[[Request], Awaitable[Response]]]:
    """App and endpoint from the settings (the composition root's entry point)."""
    from bot.slack.post import SlackPoster, make_client

    socket_mode = getattr(settings, "slack_app_token", None) is not None
    if settings.slack_signing_secret is None and not socket_mode:
        raise ConfigurationError(
            "setting SLACK_SIGNING_SECRET is missing: copy it from the Slack app's "
            "Basic Information page (or set SLACK_APP_TOKEN to use Socket Mode)"
        )
    client = make_client(settings)
    commands = Commands(ctx, poster=lambda: SlackPoster.from_settings(settings), actions=actions)
    # In Socket Mode without a signing secret the HTTP endpoint still verifies: with an empty
    # secret no signature matches, so /slack/events refuses everything.
    secret = settings.slack_signing_secret
    app = build_bolt_app(
        commands, signing_secret=secret.get_secret_value() if secret else "", client=client
    )
    return app, slack_endpoint(app, max_body_bytes=settings.slack_max_body_bytes)
