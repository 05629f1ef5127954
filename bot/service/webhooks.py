"""``POST /webhooks/github`` and ``POST /webhooks/jira``: verify, store, acknowledge.

Order of checks (nothing is parsed before the signature is verified)::

    secret configured?            no  -> 503 (names the setting to set)
    sha256= signature header?     no  -> 401 (missing, or sha1= which we refuse)
    body within the size cap?     no  -> 413 (checked while streaming, before buffering more)
    HMAC-SHA256(secret, raw body) matches (constant time)?  no -> 401
    JSON object, nested at most 64 levels?  no -> 400
    stored in the inbox (dedup by delivery id) -> 202 {"status": "queued"|"duplicate"|"ignored"}
                                   (a database error is retried once; then 503)

GitHub signs with ``X-Hub-Signature-256: sha256=<hex>`` and names the delivery in
``X-GitHub-Delivery``; Jira Cloud signs with ``X-Hub-Signature: sha256=<hex>`` and names it
in ``X-Atlassian-Webhook-Identifier`` (the same value on Jira's retries). Without a delivery
id, the SHA-256 of the body stands in, so an identical resend is still deduplicated.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.service.bodies import BadBody, PayloadTooLarge, json_object, read_capped
from bot.service.intake import Incoming, IntakeUnavailable
from sync.state.inbox import IGNORED, QUEUED

log = logging.getLogger(__name__)
MAX_ID_CHARS = 200


@dataclass(frozen=True)
class Source:
    """How one webhook sender signs and names its deliveries."""

    name: str
    signature_header: str
    delivery_header: str
    secret_setting: str

    def event_of(self, request: Request, payload: dict[str, Any]) -> tuple[str, str | None]:
        if self.name == "github":
            action = payload.get("action")
            return request.headers.get("x-github-event", "unknown"), _str_or_none(action)
        event = payload.get("webhookEvent")
        action = payload.get("issue_event_type_name")
        return (str(event) if event else "unknown"), _str_or_none(action)


GITHUB = Source("github", "x-hub-signature-256", "x-github-delivery", "GITHUB_WEBHOOK_SECRET")
JIRA = Source("jira", "x-hub-signature", "x-atlassian-webhook-identifier", "JIRA_WEBHOOK_SECRET")


def sign(secret: str | bytes, body: bytes) -> str:
    """The ``sha256=<hex>`` signature GitHub and Jira send for ``body``."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def is_valid_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time check of a ``sha256=<hex>`` header; anything else (``sha1=``) is False."""
    if not header or not header.startswith("sha256="):
        return False
    expected = sign(secret, body).encode()
    return hmac.compare_digest(expected, header.strip().encode("utf-8", "replace"))


def webhook_routes() -> list[Route]:
    """The two webhook routes; they use ``request.app.state.service`` (see ``bot.service.app``)."""

    async def github(request: Request) -> Response:
        return await receive(request, GITHUB)

    async def jira(request: Request) -> Response:
        return await receive(request, JIRA)

    return [
        Route("/webhooks/github", github, methods=["POST"], name="webhooks_github"),
        Route("/webhooks/jira", jira, methods=["POST"], name="webhooks_jira"),
    ]


async def receive(request: Request, source: Source) -> Response:
    service = request.app.state.service
    metrics = service.metrics

    def refuse(status: int, outcome: str, message: str) -> Response:
        # Unauthenticated headers never become label values (unbounded cardinality).
        metrics.webhook_deliveries.labels(source.name, "-", outcome).inc()
        log.warning(
            "webhook refused",
            extra={"source": source.name, "status": status, "outcome": outcome, "reason": message},
        )
        return JSONResponse({"error": message}, status_code=status)

    secret = service.webhook_secret(source.name)
    if not secret:
        return refuse(
            503, "unconfigured", f"{source.name} webhooks are off: set {source.secret_setting}"
        )
    header = request.headers.get(source.signature_header)
    if not header or not header.startswith("sha256="):
        return refuse(
            401,
            "unauthorized",
            f"missing or unsupported {source.signature_header} (sha256= required)",
        )
    try:
        body = await read_capped(request, service.settings.webhook_max_body_bytes)
    except PayloadTooLarge:
        return refuse(
            413, "too_large", f"body exceeds {service.settings.webhook_max_body_bytes} bytes"
        )
    if not is_valid_signature(secret, body, header):
        return refuse(401, "unauthorized", "signature does not match the body")
    try:
        payload = json_object(body)
    except BadBody as exc:
        return refuse(400, "malformed", str(exc))

    event, action = source.event_of(request, payload)
    delivery_id = (request.headers.get(source.delivery_header) or "").strip()[:MAX_ID_CHARS]
    if not delivery_id:
        delivery_id = "sha256:" + hashlib.sha256(body).hexdigest()
    wanted = service.registry.wants(source.name, event, action)
    status = QUEUED if wanted else IGNORED
    try:
        stored = await service.intake.store(
            Incoming(source.name, delivery_id, event, action, payload, status)
        )
    except IntakeUnavailable as exc:
        # Not stored (the database failed twice): say so, so a sender that redelivers does.
        return refuse(503, "unavailable", str(exc))
    outcome = ("accepted" if wanted else "ignored") if stored else "duplicate"
    metrics.webhook_deliveries.labels(source.name, event, outcome).inc()
    log.info(
        "webhook received",
        extra={
            "source": source.name,
            "event": event,
            "action": action,
            "delivery_id": delivery_id,
            "outcome": outcome,
        },
    )
    if stored and wanted and service.worker is not None:
        service.worker.notify()
    reply = "duplicate" if not stored else status
    return JSONResponse({"status": reply, "delivery_id": delivery_id}, status_code=202)


def _str_or_none(value: Any) -> str | None:
    return str(value) if value is not None else None
