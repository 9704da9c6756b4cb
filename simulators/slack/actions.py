"""Block Kit buttons as Slack checks and delivers them: `actions` blocks on a message, and the
`block_actions` interactive payload a click sends the app.

What Slack enforces (and the simulator too): an `actions` block has 1 to 25 elements; a button has a
`plain_text` label of at most 75 characters, an `action_id` of at most 255, unique in the message, and a
`value` of at most 2,000; `style` is `primary` or `danger` if given. A click on a button the message does not
show cannot happen in Slack's client and is a usage error here.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from .state import Channel, Message, Workspace

MAX_ELEMENTS = 25
LABEL_LIMIT = 75
ACTION_ID_LIMIT = 255
VALUE_LIMIT = 2000


def actions_block_ok(block: dict[str, Any], seen: set[str]) -> bool:
    """Whether an `actions` block is valid; `seen` collects the message's action ids across its blocks."""
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= MAX_ELEMENTS:
        return False
    for element in elements:
        if not isinstance(element, dict) or element.get("type") != "button":
            return False
        label = element.get("text") or {}
        action_id = element.get("action_id")
        if label.get("type") != "plain_text" or not 0 < len(str(label.get("text", ""))) <= LABEL_LIMIT:
            return False
        if not isinstance(action_id, str) or not 0 < len(action_id) <= ACTION_ID_LIMIT or action_id in seen:
            return False
        if len(str(element.get("value", ""))) > VALUE_LIMIT or element.get("style") not in (None, "primary", "danger"):
            return False
        seen.add(action_id)
    return True


def button_of(blocks: list[dict[str, Any]] | None, action_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(block, button) of the button `action_id` a message shows; a usage error when a person could not
    click it."""
    for block in blocks or []:
        if block.get("type") != "actions":
            continue
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return block, element
    raise ValueError(f"the message shows no button {action_id!r}")


def block_actions_payload(
    ws: Workspace,
    channel: Channel,
    message: Message | dict[str, Any],
    user_id: str,
    action_id: str,
    response_url: str,
) -> dict[str, Any]:
    """The `block_actions` payload of one click on a message's button, as Slack sends it: `message` is a
    message of the channel, or an ephemeral one (as the simulator records it), which the payload does not
    include (Slack sends only its container)."""
    ephemeral = isinstance(message, dict)
    ts = message["ts"] if isinstance(message, dict) else message.ts
    thread_ts = message.get("thread_ts") if isinstance(message, dict) else message.thread_ts
    block, button = button_of(message["blocks"] if isinstance(message, dict) else message.blocks, action_id)
    user = ws.users[user_id]
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": ts,
        "channel_id": channel.id,
        "is_ephemeral": ephemeral,
    }
    if thread_ts:
        container["thread_ts"] = thread_ts
    action = {
        "type": "button",
        "action_id": action_id,
        "block_id": block.get("block_id") or uuid.uuid4().hex[:5],
        "text": button["text"],
        "action_ts": f"{time.time():.6f}",
    }
    for optional in ("value", "style"):
        if optional in button:
            action[optional] = button[optional]
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user.name, "name": user.name, "team_id": ws.team_id},
        "api_app_id": ws.app_id,
        "token": "sim-verification-token",
        "container": container,
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:32]}",
        "team": {"id": ws.team_id, "domain": ws.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel.id, "name": channel.name if channel.kind != "im" else "directmessage"},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
        **({} if isinstance(message, dict) else {"message": message.to_api()}),
    }
