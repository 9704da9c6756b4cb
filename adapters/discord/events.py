"""What a Discord message means for the bridge: whether it is for the bot, which conversation it belongs to,
and the normalized `IncomingMessage` the core sees.

Conversation keys (platform "discord", workspace = guild id, "" in DMs):
* a thread: channel = the thread's parent channel, thread = the thread id. A thread the bot opened on a
  mention has the id of that message, as Discord gives it.
* channel mode's reply chains: channel = the channel, thread = the id of the message that started the
  chain (the first mention). Replies to any of the bot's answers find that id by following Discord's
  reply references, so a chain survives restarts without any state of the bridge's own.
* a DM: channel = the DM channel, no thread; a DM is one conversation (until `/new`).
"""

from __future__ import annotations

import enum
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass

import discord

from adapters.discord.settings import PLATFORM
from bridge.messages import ConversationKey

log = logging.getLogger(__name__)

THREAD_NAME_CHARS = 100  # Discord's limit for a thread name
MAX_CHAIN_HOPS = 50
_ANSWERABLE = (discord.MessageType.default, discord.MessageType.reply)
_SPACES = re.compile(r"\s+")


class Action(enum.Enum):
    """What to do with a message addressed to the bot."""

    OPEN_THREAD = "open_thread"  # thread mode: open a thread on the message and answer in it
    REPLY = "reply"  # channel mode: answer as a reply to the message
    ANSWER = "answer"  # answer where the message is (a thread or a DM)


@dataclass(frozen=True, slots=True)
class Plan:
    """Where the answer to a message goes. `key` is None for OPEN_THREAD until the thread exists."""

    action: Action
    channel: discord.abc.Messageable
    key: ConversationKey | None


def thread_key(thread: discord.Thread) -> ConversationKey:
    return ConversationKey(PLATFORM, str(thread.guild.id), str(thread.parent_id), str(thread.id))


def dm_key(channel_id: int) -> ConversationKey:
    return ConversationKey(PLATFORM, "", str(channel_id))


def place_key(channel: object, guild: discord.Guild | None) -> ConversationKey:
    """The settings scope (and, for a thread or DM, the conversation) of the place a command runs in."""
    if isinstance(channel, discord.Thread):
        return thread_key(channel)
    channel_id = getattr(channel, "id", 0)
    if guild is None:
        return dm_key(channel_id)
    return ConversationKey(PLATFORM, str(guild.id), str(channel_id))


def mentions_bot(message: discord.Message, me: discord.ClientUser) -> bool:
    """A user mention of the bot, or of the role Discord gives the bot in this server."""
    if any(user.id == me.id for user in message.mentions):
        return True
    own_role = message.guild.self_role if message.guild else None
    return own_role is not None and own_role in message.role_mentions


def from_a_person(message: discord.Message) -> bool:
    """A person's ordinary message (not a bot's, the bot's own, a webhook's, or a system message)."""
    return not message.author.bot and message.webhook_id is None and message.type in _ANSWERABLE


def readable_text(message: discord.Message, me: discord.ClientUser) -> str:
    """The message as the model should read it: the bot's mention removed, other mentions as names."""
    text = re.sub(rf"<@!?{me.id}>", "", message.content)
    own_role = message.guild.self_role if message.guild else None
    if own_role is not None:
        text = text.replace(own_role.mention, "")
    for user in message.mentions:
        name = f"@{user.display_name}"
        text = text.replace(f"<@{user.id}>", name).replace(f"<@!{user.id}>", name)
    for role in message.role_mentions:
        text = text.replace(role.mention, f"@{role.name}")
    for channel in message.channel_mentions:
        text = text.replace(channel.mention, f"#{channel.name}")
    return text.strip()


def thread_name(text: str, fallback: str) -> str:
    """A thread name from the question's first line: what a person scanning the channel would read."""
    first = _SPACES.sub(" ", text.strip().split("\n", 1)[0]).strip() if text.strip() else ""
    name = first or fallback
    if len(name) > THREAD_NAME_CHARS:
        name = name[: THREAD_NAME_CHARS - 1].rstrip() + "…"
    return name


async def plan_for(
    message: discord.Message, me: discord.ClientUser, reply_mode: str, chains: ReplyChains
) -> Plan | None:
    """Where to answer `message`, or None when it is not for the bot."""
    if not from_a_person(message):
        return None
    guild = message.guild
    if guild is None:
        return Plan(Action.ANSWER, message.channel, dm_key(message.channel.id))
    channel: object = message.channel
    if isinstance(channel, discord.PartialMessageable):  # a thread archived before the bot started
        try:
            channel = await guild.fetch_channel(channel.id)
        except discord.HTTPException as exc:
            log.info("channel %s of message %s is not readable: %s", message.channel.id, message.id, exc)
            return None
    if isinstance(channel, discord.Thread):
        if channel.owner_id == me.id or mentions_bot(message, me):
            return Plan(Action.ANSWER, channel, thread_key(channel))
        return None
    if reply_mode == "channel" or not isinstance(channel, discord.TextChannel):
        root = await chains.root_of_reply(message)
        if root is None and not mentions_bot(message, me):
            return None
        root = root or message.id
        chains.remember(message.id, root)
        key = ConversationKey(PLATFORM, str(guild.id), str(message.channel.id), str(root))
        return Plan(Action.REPLY, message.channel, key)
    if mentions_bot(message, me):
        return Plan(Action.OPEN_THREAD, message.channel, None)
    return None


class ReplyChains:
    """Channel mode: which chain (its first message's id) a message belongs to.

    Known ids are remembered (the bot's own answers are added as they are posted); an unknown one is
    found by following reply references back, through discord.py's message cache or, after a restart,
    by fetching the messages.
    """

    def __init__(self, me_id: int, *, size: int = 20_000) -> None:
        self._me_id = me_id
        self._roots: OrderedDict[int, int] = OrderedDict()
        self._size = size

    def remember(self, message_id: int, root: int) -> None:
        self._roots[message_id] = root
        self._roots.move_to_end(message_id)
        while len(self._roots) > self._size:
            self._roots.popitem(last=False)

    async def root_of_reply(self, message: discord.Message) -> int | None:
        """The chain `message` continues: it replies to one of the bot's answers. None otherwise."""
        referenced = await _referenced(message)
        if referenced is None or referenced.author.id != self._me_id:
            return None
        return await self._root(referenced)

    async def _root(self, message: discord.Message) -> int:
        trail: list[int] = []
        current: discord.Message | None = message
        root = message.id
        for _ in range(MAX_CHAIN_HOPS):
            if current is None:
                break
            known = self._roots.get(current.id)
            if known is not None:
                root = known
                break
            trail.append(current.id)
            root = current.id
            current = await _referenced(current)
        for message_id in trail:
            self.remember(message_id, root)
        return root


async def _referenced(message: discord.Message) -> discord.Message | None:
    """The message `message` replies to, from the event, the cache, or Discord (None if it is gone)."""
    reference = message.reference
    if reference is None or reference.message_id is None:
        return None
    if isinstance(reference.resolved, discord.Message):
        return reference.resolved
    if reference.cached_message is not None:
        return reference.cached_message
    try:
        return await message.channel.fetch_message(reference.message_id)
    except discord.HTTPException as exc:
        log.info("message %s that %s replies to is not readable: %s", reference.message_id, message.id, exc)
        return None
