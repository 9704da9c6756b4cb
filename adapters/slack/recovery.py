"""After a crash: tell the people whose answer was cut off, in the thread (or DM) where they waited.

The core finds the turns a crash left open and asks the adapter to mark each one (`mark_interrupted`).
The answer's last message gets the note appended (after stopping the stream the crash left open, if
Slack still has it open); a turn that had shown nothing gets the note as a new message.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.pacing import Budgets, paced
from adapters.slack.text import defuse, fallback_text, markdown_blocks
from bridge.messages import InterruptedTurn

log = logging.getLogger(__name__)

MAX_CHARS = 12_000


async def mark_interrupted(client: AsyncWebClient, budgets: Budgets, turn: InterruptedTurn, note: str) -> list[str]:
    """Show `note` in Slack; return the texts of the answer's messages that are still there."""
    key = turn.key
    workspace = budgets.of(key.workspace)
    shown: list[tuple[str, str]] = []
    for ts in turn.message_ids:
        text = await _message_text(client, key.channel, key.thread or ts, ts)
        if text is not None:
            shown.append((ts, text))
    if shown:
        last_ts, last_text = shown[-1]
        await _stop_stream(client, budgets, key.workspace, key.channel, last_ts)
        marked = defuse(f"{last_text}\n\n{note}")
        if len(marked) <= MAX_CHARS:
            await paced(
                workspace.update,
                lambda: client.chat_update(
                    channel=key.channel, ts=last_ts, text=fallback_text(marked), blocks=markdown_blocks(marked)
                ),
                urgent=True,
            )
            return [text for _, text in shown]
    await paced(
        workspace.channel_post(key.channel),
        lambda: client.chat_postMessage(channel=key.channel, thread_ts=key.thread or None, text=note),
        urgent=True,
        also=(workspace.post,),
    )
    return [text for _, text in shown]


async def _message_text(client: AsyncWebClient, channel: str, thread_ts: str, ts: str) -> str | None:
    """The text a message shows (its markdown block, else its `text`); None when it is gone."""
    try:
        page = await client.conversations_replies(channel=channel, ts=thread_ts, oldest=ts, latest=ts, inclusive=True)
    except SlackApiError as error:
        log.info("message %s of an interrupted turn is unreadable: %s", ts, error.response.get("error"))
        return None
    message: dict[str, Any] | None = next((m for m in page.get("messages", []) if m.get("ts") == ts), None)
    if message is None:
        return None
    blocks = [b for b in message.get("blocks") or [] if b.get("type") == "markdown"]
    return "\n".join(str(b.get("text", "")) for b in blocks) if blocks else str(message.get("text", ""))


async def _stop_stream(client: AsyncWebClient, budgets: Budgets, team: str, channel: str, ts: str) -> None:
    """End a stream the crash left open; a message not streaming any more answers an error, which is fine."""
    try:
        await paced(budgets.of(team).stop, lambda: client.chat_stopStream(channel=channel, ts=ts), urgent=True)
    except SlackApiError as error:
        log.debug("stopStream of %s: %s", ts, error.response.get("error"))
