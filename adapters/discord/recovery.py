"""After a crash: tell the people whose answer was cut off, where they were waiting for it.

The core finds the turns a crash left open and asks the adapter to mark each one (`mark_interrupted`).
A turn whose messages are known gets the note added to its last message; otherwise the note is posted
where the conversation lives (its thread, its DM, or as a reply to the chain's first message).
"""

from __future__ import annotations

import logging

import discord

from adapters.discord.surface import NO_PINGS
from bridge.messages import InterruptedTurn

log = logging.getLogger(__name__)

MAX_CHARS = 2000


async def mark_interrupted(client: discord.Client, turn: InterruptedTurn, note: str) -> list[str]:
    """Show `note` on Discord; return the texts of the answer's messages that are still there."""
    key = turn.key
    if key.thread.startswith("ask-"):
        return []  # a slash command's response can only be edited with its token, which is gone after a restart
    channel, root = await _conversation_channel(client, key.channel, key.thread)
    messages = []
    for message_id in turn.message_ids:
        try:
            messages.append(await channel.fetch_message(int(message_id)))
        except (discord.HTTPException, ValueError) as exc:
            log.info("message %s of an interrupted answer in %s is gone: %s", message_id, key.describe(), exc)
    if messages:
        last = messages[-1]
        if len(last.content) + len(note) + 2 <= MAX_CHARS:
            await last.edit(content=f"{last.content}\n\n{note}", allowed_mentions=NO_PINGS)
        else:
            await channel.send(note, reference=last.to_reference(fail_if_not_exists=False), allowed_mentions=NO_PINGS)
        return [m.content for m in messages]
    reference = discord.MessageReference(message_id=root, channel_id=channel.id, fail_if_not_exists=False)
    await channel.send(note, reference=reference if root else None, allowed_mentions=NO_PINGS)  # type: ignore[arg-type]
    return []


async def _conversation_channel(
    client: discord.Client, channel_id: str, thread: str
) -> tuple[discord.abc.Messageable, int]:
    """Where a conversation's messages are: its thread, or the channel (and the chain's first message)."""
    if thread:
        try:
            found = client.get_channel(int(thread)) or await client.fetch_channel(int(thread))
            if isinstance(found, discord.Thread):
                return found, 0
        except discord.NotFound:
            pass  # not a channel: the id of a reply chain's first message
        channel = client.get_channel(int(channel_id)) or await client.fetch_channel(int(channel_id))
        return channel, int(thread)  # type: ignore[return-value]
    return client.get_partial_messageable(int(channel_id)), 0
