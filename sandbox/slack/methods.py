"""The Slack Web API methods the emulator implements, over a ``SlackState``.

Each method takes the workspace state, the call's arguments (merged from query, form and JSON
body) and the emulator's base URL, and returns the JSON answer or raises ``SlackError`` with
the error name Slack's OpenAPI description lists. Block Kit limits (50 blocks, 3,000
characters per section text, 10 fields of 2,000, header 150) give ``invalid_blocks`` as on
Slack, so a message too big for Slack fails in tests too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sandbox.slack.state import (
    BOT_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
    Message,
    SlackError,
    SlackState,
    StoredFile,
)

MAX_TEXT = 40_000
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10

Handler = Callable[[SlackState, dict[str, Any], str], dict[str, Any]]


# --- argument helpers -----------------------------------------------------------------------


def _require(args: dict[str, Any], name: str, error: str = "invalid_arguments") -> str:
    value = args.get(name)
    if value is None or value == "":
        raise SlackError(error)
    return str(value)


def _json_arg(args: dict[str, Any], name: str) -> Any:
    """Blocks and file lists arrive as JSON strings (form) or as JSON values (JSON body)."""
    value = args.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise SlackError("invalid_json") from exc
    return value


def _channel(state: SlackState, ref: str) -> str:
    channel = state.resolve_channel(ref)
    if channel is None:
        raise SlackError("channel_not_found")
    if channel.is_archived:
        raise SlackError("is_archived")
    return channel.id


def _text_length(obj: Any) -> int:
    return len(obj.get("text", "")) if isinstance(obj, dict) else 0


def validate_blocks(blocks: Any) -> list[dict[str, Any]]:
    """Slack's documented Block Kit limits; a breach is ``invalid_blocks`` as on Slack."""
    if blocks is None:
        return []
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        raise SlackError("invalid_blocks")
    for block in blocks:
        if not isinstance(block, dict) or "type" not in block:
            raise SlackError("invalid_blocks")
        kind = block["type"]
        if kind == "section":
            fields = block.get("fields") or []
            if "text" not in block and not fields:
                raise SlackError("invalid_blocks")
            if _text_length(block.get("text")) > MAX_SECTION_TEXT or len(fields) > MAX_FIELDS:
                raise SlackError("invalid_blocks")
            if any(_text_length(item) > MAX_FIELD_TEXT for item in fields):
                raise SlackError("invalid_blocks")
        elif kind == "header":
            text = block.get("text") or {}
            if text.get("type") != "plain_text" or _text_length(text) > MAX_HEADER_TEXT:
                raise SlackError("invalid_blocks")
        elif kind == "context":
            elements = block.get("elements") or []
            if not elements or len(elements) > MAX_CONTEXT_ELEMENTS:
                raise SlackError("invalid_blocks")
    return blocks


def _message_body(args: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    text = str(args.get("text") or "")
    blocks = validate_blocks(_json_arg(args, "blocks"))
    attachments = _json_arg(args, "attachments")
    if not text and not blocks and not attachments:
        raise SlackError("no_text")
    if len(text) > MAX_TEXT:
        raise SlackError("msg_too_long")
    return text, blocks


def _message_json(message: Message) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "message",
        "text": message.text,
        "ts": message.ts,
        "user": BOT_USER_ID,
        "team": TEAM_ID,
        "bot_id": BOT_ID,
    }
    if message.blocks:
        data["blocks"] = message.blocks
    if message.thread_ts:
        data["thread_ts"] = message.thread_ts
    return data


# --- methods --------------------------------------------------------------------------------


def auth_test(state: SlackState, args: dict[str, Any], base_url: str) -> dict[str, Any]:
    return {
        "ok": True,
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": TEAM_NAME,
        "user": "backlog-bot",
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


def chat_post_message(state: SlackState, args: dict[str, Any], base_url: str) -> dict[str, Any]:
    channel = _channel(state, _require(args, "channel", "channel_not_found"))
    text, blocks = _message_body(args)
    thread_ts = args.get("thread_ts") or None
    message = state.post(Message(channel, state.next_ts(), text, blocks, thread_ts=thread_ts))
    return {"ok": True, "channel": channel, "ts": message.ts, "message": _message_json(message)}


def chat_update(state: SlackState, args: dict[str, Any], base_url: str) -> dict[str, Any]:
    channel = _channel(state, _require(args, "channel", "channel_not_found"))
    ts = _require(args, "ts", "message_not_found")
    message = state.find_message(channel, ts)
    if message is None:
        raise SlackError("message_not_found")
    text, blocks = _message_body(args)
    message.text, message.blocks, message.edited = text, blocks, message.edited + 1
    # Slack's schema types ``message.blocks`` of chat.update as an object; we echo the text only.
    return {"ok": True, "channel": channel, "ts": ts, "text": text, "message": {"text": text}}


def chat_post_ephemeral(state: SlackState, args: dict[str, Any], base_url: str) -> dict[str, Any]:
    channel = _channel(state, _require(args, "channel", "channel_not_found"))
    user = _require(args, "user", "user_not_in_channel")
    if user not in state.users:
        raise SlackError("user_not_in_channel")
    text, blocks = _message_body(args)
    message = state.post(Message(channel, state.next_ts(), text, blocks, ephemeral_user=user))
    return {"ok": True, "message_ts": message.ts}


def files_get_upload_url_external(
    state: SlackState, args: dict[str, Any], base_url: str
) -> dict[str, Any]:
    filename = _require(args, "filename")
    length_raw = _require(args, "length")
    try:
        length = int(length_raw)
    except ValueError as exc:
        raise SlackError("invalid_arguments") from exc
    if length < 1:
        raise SlackError("invalid_arguments")
    file_id = state.next_id("F")
    state.add_file(StoredFile(file_id, filename, length, alt_txt=args.get("alt_txt")))
    return {"ok": True, "upload_url": f"{base_url}upload/{file_id}", "file_id": file_id}


def files_complete_upload_external(
    state: SlackState, args: dict[str, Any], base_url: str
) -> dict[str, Any]:
    entries = _json_arg(args, "files")
    if not isinstance(entries, list) or not entries:
        raise SlackError("invalid_arguments")
    channel_ref = args.get("channel_id") or (str(args.get("channels") or "").split(",")[0])
    channel = _channel(state, channel_ref) if channel_ref else None
    completed: list[StoredFile] = []
    for entry in entries:
        stored = state.files.get(str(entry.get("id"))) if isinstance(entry, dict) else None
        if stored is None or not stored.is_uploaded:
            raise SlackError("file_not_found")
        stored.title = entry.get("title") or stored.filename
        stored.channel = channel
        completed.append(stored)
    if channel is not None:
        comment = str(args.get("initial_comment") or "")
        state.post(
            Message(
                channel,
                state.next_ts(),
                comment,
                thread_ts=args.get("thread_ts") or None,
                files=[stored.id for stored in completed],
            )
        )
    return {"ok": True, "files": [_file_json(stored, base_url) for stored in completed]}


def _file_json(stored: StoredFile, base_url: str) -> dict[str, Any]:
    return {
        "id": stored.id,
        "name": stored.filename,
        "title": stored.title,
        "mimetype": "image/png" if stored.filename.endswith(".png") else "application/octet-stream",
        "size": len(stored.data or b""),
        "user": BOT_USER_ID,
        "channels": [stored.channel] if stored.channel else [],
        "url_private": f"{base_url}files/{stored.id}/{stored.filename}",
        "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{BOT_USER_ID}/{stored.id}",
    }


def conversations_info(state: SlackState, args: dict[str, Any], base_url: str) -> dict[str, Any]:
    channel = state.resolve_channel(_require(args, "channel", "channel_not_found"))
    if channel is None:
        raise SlackError("channel_not_found")
    return {
        "ok": True,
        "channel": {
            "id": channel.id,
            "name": channel.name,
            "name_normalized": channel.name,
            "created": channel.created,
            "creator": BOT_USER_ID,
            "is_archived": channel.is_archived,
            "is_channel": not channel.is_private,
            "is_general": False,
            "is_group": channel.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": channel.is_private,
            "is_shared": False,
            "is_org_shared": False,
            "is_member": True,
            "topic": {"value": channel.topic, "creator": "", "last_set": 0},
            "purpose": {"value": channel.purpose, "creator": "", "last_set": 0},
        },
    }


def users_info(state: SlackState, args: dict[str, Any], base_url: str) -> dict[str, Any]:
    user = state.users.get(_require(args, "user", "user_not_found"))
    if user is None:
        raise SlackError("user_not_found")
    profile_name = user.real_name
    return {
        "ok": True,
        "user": {
            "id": user.id,
            "team_id": TEAM_ID,
            "name": user.name,
            "real_name": user.real_name,
            "deleted": False,
            "is_admin": user.is_admin,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "updated": 1_700_000_000,
            "tz": user.tz,
            "profile": {
                "real_name": profile_name,
                "real_name_normalized": profile_name,
                "display_name": user.name,
                "display_name_normalized": user.name,
                "avatar_hash": "0000000000ab",
                "title": "",
                "phone": "",
                "skype": "",
                "status_text": "",
                "status_emoji": "",
                "fields": None,
                "team": TEAM_ID,
            },
        },
    }


METHODS: dict[str, Handler] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.postEphemeral": chat_post_ephemeral,
    "files.getUploadURLExternal": files_get_upload_url_external,
    "files.completeUploadExternal": files_complete_upload_external,
    "conversations.info": conversations_info,
    "users.info": users_info,
}
