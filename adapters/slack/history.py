"""Reading a Slack thread or channel for a question (summaries, the channel the assistant view is next to).

`conversations.replies` and `conversations.history` are Tier 3 (about 50 a minute) for an app installed in
its own workspace, and serve up to `HISTORY_MESSAGES` messages in one page, so one question costs one call.
(Slack limits apps distributed outside the Marketplace to 15 messages a call and 1 call a minute; the
bridge is installed by its own team.) A page Slack refuses is an empty transcript, which the question says.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.events import plain_text
from bridge import transcripts

log = logging.getLogger(__name__)

HISTORY_MESSAGES = 200
"""Messages read for one question: Slack's recommended page size, the newest ones."""


def line(message: dict[str, Any], bot_user_id: str) -> transcripts.Line:
    """A Slack message as a transcript line: the author's id as a mention would show, files by name."""
    files = " ".join(f"[file: {f.get('name') or 'file'}]" for f in message.get("files") or [])
    text = plain_text(str(message.get("text") or ""), bot_user_id)
    author = str(message.get("user") or message.get("username") or message.get("bot_id") or "someone")
    return transcripts.Line(f"@{author}", " ".join(p for p in (text, files) if p))


async def read(
    client: AsyncWebClient, channel: str, bot_user_id: str, *, thread_ts: str | None = None
) -> list[transcripts.Line]:
    """The thread `thread_ts` of `channel`, or the channel's latest messages, oldest first."""
    try:
        if thread_ts:
            page = await client.conversations_replies(channel=channel, ts=thread_ts, limit=HISTORY_MESSAGES)
            messages = list(page.get("messages") or [])
        else:
            page = await client.conversations_history(channel=channel, limit=HISTORY_MESSAGES)
            messages = list(page.get("messages") or [])[::-1]
    except SlackApiError as error:
        log.info("Slack: could not read %s %s (%s)", channel, thread_ts or "", error.response.get("error"))
        return []
    readable = [m for m in messages if m.get("subtype") in (None, "file_share", "thread_broadcast", "bot_message")]
    return [line(m, bot_user_id) for m in readable if m.get("text") or m.get("files")]
