"""The payloads Slack sends to an app: event callbacks, slash commands, and the request signature.

Kept apart from delivery so the same payload can go out over Socket Mode or signed HTTP, and apart from the
driver so tests can build an odd payload by hand when they need one.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from typing import Any

from .state import Channel, Message, Workspace


def new_event_id() -> str:
    """A fresh Slack-looking event id (Ev…)."""
    return "Ev" + uuid.uuid4().hex[:10].upper()


def event_callback(ws: Workspace, event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    """Wrap one event as Slack's `event_callback` body, with the app's authorization."""
    return {
        "token": "sim-verification-token",
        "team_id": ws.team_id,
        "context_team_id": ws.team_id,
        "context_enterprise_id": None,
        "api_app_id": ws.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": ws.team_id,
                "user_id": ws.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + uuid.uuid4().hex,
    }


def message_event(ws: Workspace, channel: Channel, message: Message) -> dict[str, Any]:
    """The `message` event Slack sends for a new message (user text, file_share or the bot's own post)."""
    event: dict[str, Any] = {
        "type": "message",
        "channel": channel.id,
        "user": message.user,
        "text": message.text,
        "ts": message.ts,
        "event_ts": message.ts,
        "channel_type": channel.channel_type,
        "team": ws.team_id,
    }
    if message.bot_id:
        event["bot_id"] = message.bot_id
        event["app_id"] = ws.app_id if message.bot_id == ws.bot_id else "A0OTHERAPP"
    else:
        event["client_msg_id"] = str(uuid.uuid4())
        event["blocks"] = _rich_text_blocks(message.text)
    if message.blocks is not None:
        event["blocks"] = message.blocks
    if message.thread_ts:
        event["thread_ts"] = message.thread_ts
        parent = ws.find_message(channel.id, message.thread_ts)
        if parent is not None and parent.ts != message.ts:
            event["parent_user_id"] = parent.user
    if message.subtype:
        event["subtype"] = message.subtype
    if message.files:
        event["files"] = message.files
        event["upload"] = False
        event["display_as_bot"] = False
    return event


def app_mention_event(ws: Workspace, channel: Channel, message: Message) -> dict[str, Any]:
    """The `app_mention` event Slack sends alongside the message event when the bot is mentioned."""
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": message.user,
        "text": message.text,
        "ts": message.ts,
        "channel": channel.id,
        "event_ts": message.ts,
        "team": ws.team_id,
        "client_msg_id": str(uuid.uuid4()),
        "blocks": _rich_text_blocks(message.text),
    }
    if message.thread_ts:
        event["thread_ts"] = message.thread_ts
    if message.files:
        event["files"] = message.files
    return event


def slash_command_payload(
    ws: Workspace, channel: Channel, user_id: str, command: str, text: str, response_url: str
) -> dict[str, str]:
    """The form fields of a slash command invocation (all strings, as Slack sends them)."""
    user = ws.users[user_id]
    return {
        "token": "sim-verification-token",
        "team_id": ws.team_id,
        "team_domain": ws.team_domain,
        "channel_id": channel.id,
        "channel_name": channel.name if channel.kind != "im" else "directmessage",
        "user_id": user_id,
        "user_name": user.name,
        "command": command,
        "text": text,
        "api_app_id": ws.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:32]}",
    }


def sign(signing_secret: str, timestamp: str, body: bytes) -> str:
    """Slack's request signature: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def _rich_text_blocks(text: str) -> list[dict[str, Any]]:
    """A minimal rich_text block like the one Slack clients attach to typed messages."""
    return [
        {
            "type": "rich_text",
            "block_id": uuid.uuid4().hex[:5],
            "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
        }
    ]
