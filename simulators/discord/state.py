"""The simulator's in-memory world and the operations that change it (no I/O, no gateway here).

The REST handlers and the test-driver API both change the world through this class, so a message the bot
posts and a message a simulated user types are stored, versioned and queried the same way.
"""

from __future__ import annotations

import mimetypes
import secrets
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from simulators.discord.clock import SimClock, Snowflakes
from simulators.discord.models import (
    EVERYONE_PERMISSIONS,
    ChannelType,
    MessageVersion,
    Permission,
    Ping,
    SimAttachment,
    SimChannel,
    SimFile,
    SimGuild,
    SimInteraction,
    SimMember,
    SimMessage,
    SimRole,
    SimUser,
)


class SimState:
    """Every object of the simulated Discord, indexed by id."""

    def __init__(self, clock: SimClock, *, bot_name: str = "bridge-bot", token: str = "sim-bot-token") -> None:
        self.clock = clock
        self.ids = Snowflakes(clock)
        self.base_url = ""
        self.token = token
        self.users: dict[int, SimUser] = {}
        self.guilds: dict[int, SimGuild] = {}
        self.channels: dict[int, SimChannel] = {}
        self.messages: dict[int, SimMessage] = {}
        self.attachments: dict[int, SimAttachment] = {}
        self.interactions: dict[int, SimInteraction] = {}
        self.interactions_by_token: dict[str, SimInteraction] = {}
        self.commands: dict[int | None, dict[str, dict[str, Any]]] = {}
        self.pings: list[Ping] = []
        """Every notification a bot message (a new one or an edit) sent, oldest first."""
        self.bot = self.add_user(bot_name, bot=True)
        self.application_id = self.bot.id
        self.owner = self.add_user("app-owner")

    # -- people and places -------------------------------------------------------------------------

    def add_user(self, username: str, *, bot: bool = False, global_name: str | None = None) -> SimUser:
        user = SimUser(self.ids.next(), username, bot=bot, global_name=global_name)
        self.users[user.id] = user
        return user

    def add_guild(self, name: str, owner_id: int) -> SimGuild:
        guild = SimGuild(self.ids.next(), name, owner_id)
        guild.roles[guild.id] = SimRole(guild.id, guild.id, "@everyone", int(EVERYONE_PERMISSIONS))
        self.guilds[guild.id] = guild
        bot_role = self.add_role(guild.id, self.bot.username, permissions=int(EVERYONE_PERMISSIONS), managed=True)
        self.add_member(guild.id, owner_id)
        self.add_member(guild.id, self.bot.id, [bot_role.id])
        return guild

    def add_role(self, guild_id: int, name: str, *, permissions: int = 0, managed: bool = False) -> SimRole:
        guild = self.guilds[guild_id]
        role = SimRole(self.ids.next(), guild_id, name, permissions, position=len(guild.roles), managed=managed)
        guild.roles[role.id] = role
        return role

    def add_member(self, guild_id: int, user_id: int, role_ids: Iterable[int] = ()) -> SimMember:
        guild = self.guilds[guild_id]
        member = guild.members.get(user_id)
        if member is None:
            member = SimMember(guild_id, user_id, [], self.clock.iso())
            guild.members[user_id] = member
        for role_id in role_ids:
            if role_id not in guild.roles:
                raise KeyError(f"role {role_id} is not in guild {guild_id}")
            if role_id not in member.role_ids:
                member.role_ids.append(role_id)
        return member

    def add_channel(
        self,
        guild_id: int,
        name: str,
        *,
        type: ChannelType = ChannelType.TEXT,
        parent_id: int | None = None,
        topic: str | None = None,
    ) -> SimChannel:
        if parent_id is not None and self.channels[parent_id].type != ChannelType.CATEGORY:
            raise ValueError(f"channel {parent_id} is not a category")
        position = sum(1 for c in self.channels.values() if c.guild_id == guild_id)
        channel = SimChannel(
            self.ids.next(),
            type,
            name,
            guild_id=guild_id,
            parent_id=parent_id,
            position=position,
            topic=topic,
            created_at=self.clock.iso(),
        )
        self.channels[channel.id] = channel
        return channel

    def dm_channel(self, user_id: int) -> SimChannel:
        """The one DM channel between ``user_id`` and the bot (created on first use, as Discord does)."""
        for channel in self.channels.values():
            if channel.type == ChannelType.DM and channel.recipient_ids == [user_id]:
                return channel
        channel = SimChannel(self.ids.next(), ChannelType.DM, None, recipient_ids=[user_id])
        self.channels[channel.id] = channel
        return channel

    def add_thread(
        self,
        parent: SimChannel,
        name: str,
        owner_id: int,
        *,
        thread_id: int | None = None,
        type: ChannelType = ChannelType.PUBLIC_THREAD,
        auto_archive_duration: int = 1440,
    ) -> SimChannel:
        """A thread under ``parent``; a thread started from a message takes that message's id."""
        thread = SimChannel(
            thread_id or self.ids.next(),
            type,
            name,
            guild_id=parent.guild_id,
            parent_id=parent.id,
            owner_id=owner_id,
            auto_archive_duration=auto_archive_duration,
            archive_timestamp=self.clock.iso(),
            created_at=self.clock.iso(),
        )
        self.channels[thread.id] = thread
        return thread

    # -- messages and files ------------------------------------------------------------------------

    def host_attachment(self, channel_id: int, file: SimFile) -> SimAttachment:
        """Store a file's bytes and give it a loopback download URL."""
        attachment_id = self.ids.next()
        content_type = file.content_type or mimetypes.guess_type(file.filename)[0] or "application/octet-stream"
        url = file.url or f"{self.base_url}/attachments/{channel_id}/{attachment_id}/{quote(file.filename)}"
        attachment = SimAttachment(attachment_id, file.filename, content_type, file.data, url)
        self.attachments[attachment_id] = attachment
        return attachment

    def add_message(
        self,
        channel: SimChannel,
        author_id: int,
        content: str,
        *,
        embeds: Iterable[dict[str, Any]] = (),
        attachment_ids: Iterable[int] = (),
        components: Iterable[dict[str, Any]] = (),
        **extra: Any,
    ) -> SimMessage:
        now_wall, now_mono = self.clock.wall(), self.clock.monotonic()
        version = MessageVersion(
            content, tuple(embeds), tuple(attachment_ids), now_mono, now_wall, components=tuple(components)
        )
        message = SimMessage(
            self.ids.next(),
            channel.id,
            channel.guild_id,
            author_id,
            now_wall,
            now_mono,
            [version],
            **extra,
        )
        self.messages[message.id] = message
        channel.last_message_id = message.id
        if channel.is_thread:
            channel.message_count += 1
        return message

    def edit_message(
        self,
        message: SimMessage,
        *,
        content: str | None = None,
        embeds: Iterable[dict[str, Any]] | None = None,
        attachment_ids: Iterable[int] | None = None,
        flags: int | None = None,
        components: Iterable[dict[str, Any]] | None = None,
    ) -> MessageVersion:
        """Append a version; fields left as None keep their current value."""
        current = message.versions[-1]
        version = MessageVersion(
            current.content if content is None else content,
            current.embeds if embeds is None else tuple(embeds),
            current.attachment_ids if attachment_ids is None else tuple(attachment_ids),
            self.clock.monotonic(),
            self.clock.wall(),
            components=current.components if components is None else tuple(components),
        )
        message.versions.append(version)
        if flags is not None:
            message.flags = flags
        return version

    def channel_messages(self, channel_id: int, *, include_deleted: bool = False) -> list[SimMessage]:
        """Messages of a channel in creation order."""
        found = [m for m in self.messages.values() if m.channel_id == channel_id]
        if not include_deleted:
            found = [m for m in found if not m.deleted]
        return sorted(found, key=lambda m: m.id)

    # -- permissions and interactions ----------------------------------------------------------------

    def permissions(self, guild_id: int, user_id: int) -> int:
        """Guild-level permissions: the owner and administrators get everything."""
        guild = self.guilds[guild_id]
        member = guild.members.get(user_id)
        if member is None:
            return 0
        value = guild.roles[guild.id].permissions
        for role_id in member.role_ids:
            value |= guild.roles[role_id].permissions
        if user_id == guild.owner_id or value & Permission.ADMINISTRATOR:
            return (1 << 50) - 1
        return value

    def new_interaction_token(self) -> str:
        return "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
