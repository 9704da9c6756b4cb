"""Normalized messages for core tests without a platform: a fresh conversation each, one person asking."""

from __future__ import annotations

import uuid
from typing import Any

from bridge.messages import ConversationKey, IncomingMessage


def key(thread: str = "") -> ConversationKey:
    """A conversation of the "test" platform; a new one (a random thread) unless `thread` is given."""
    return ConversationKey("test", "guild", "channel", thread or uuid.uuid4().hex)


def message(conversation: ConversationKey, text: str, **fields: Any) -> IncomingMessage:
    """`text` from Ada in `conversation`, with a new event id; `fields` set the rest (attachments, event_id…)."""
    values: dict[str, Any] = {"event_id": uuid.uuid4().hex, "author_id": "u1", "author_name": "Ada", **fields}
    return IncomingMessage(key=conversation, text=text, **values)
