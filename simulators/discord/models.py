"""The simulator's world: users, guilds, channels, messages, interactions, as plain dataclasses.

Objects are shared by reference: a :class:`SimMessage` handed to a test keeps gaining versions as the bot
edits it, so a test can hold on to it and read ``.content`` later.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class ChannelType(enum.IntEnum):
    """Discord channel types the simulator creates."""

    TEXT = 0
    DM = 1
    CATEGORY = 4
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    FORUM = 15


THREAD_TYPES = frozenset({ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD})


class Permission(enum.IntFlag):
    """The permission bits the simulator hands out (Discord's values)."""

    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MANAGE_GUILD = 1 << 5
    ADMINISTRATOR = 1 << 3
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    SEND_MESSAGES_IN_THREADS = 1 << 38


EVERYONE_PERMISSIONS = (
    Permission.ADD_REACTIONS
    | Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.USE_APPLICATION_COMMANDS
    | Permission.CREATE_PUBLIC_THREADS
    | Permission.SEND_MESSAGES_IN_THREADS
)


@dataclass
class SimUser:
    """A Discord account (a person or a bot)."""

    id: int
    username: str
    bot: bool = False
    global_name: str | None = None


@dataclass
class SimRole:
    """A guild role; the ``@everyone`` role has the guild's id."""

    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    managed: bool = False


@dataclass
class SimMember:
    """A user's membership of a guild."""

    guild_id: int
    user_id: int
    role_ids: list[int]
    joined_at: str
    nick: str | None = None


@dataclass
class SimGuild:
    """A server, with its roles and members (channels live in the simulator's channel table)."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, SimRole] = field(default_factory=dict)
    members: dict[int, SimMember] = field(default_factory=dict)


@dataclass
class SimChannel:
    """A text channel, category, DM, forum or thread (threads have ``parent_id`` and ``owner_id``)."""

    id: int
    type: ChannelType
    name: str | None
    guild_id: int | None = None
    parent_id: int | None = None
    position: int = 0
    topic: str | None = None
    recipient_ids: list[int] = field(default_factory=list)
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 1440
    archive_timestamp: str | None = None
    created_at: str | None = None
    message_count: int = 0
    last_message_id: int | None = None

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    @property
    def is_dm(self) -> bool:
        return self.type == ChannelType.DM


@dataclass
class SimAttachment:
    """A file the simulator hosts at ``url`` (a loopback URL that a plain GET downloads)."""

    id: int
    filename: str
    content_type: str
    data: bytes
    url: str
    description: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class SimFile:
    """A file a simulated user attaches to a message or passes as a slash-command option.

    `url` makes a hostile payload: the attachment's `url` is this instead of the simulator's download URL.
    """

    filename: str
    data: bytes
    content_type: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class MessageVersion:
    """What a message showed from ``at_monotonic`` until the next version (or its deletion)."""

    content: str
    embeds: tuple[dict[str, Any], ...]
    attachment_ids: tuple[int, ...]
    at_monotonic: float
    at_wall: float
    components: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Ping:
    """Whom one version of a bot's message notified (after its `allowed_mentions`)."""

    message_id: int
    user_ids: tuple[int, ...]
    role_ids: tuple[int, ...]
    everyone: bool


@dataclass
class SimMessage:
    """A message with its full edit history; ``versions[-1]`` is what Discord shows now."""

    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    created_wall: float
    created_monotonic: float
    versions: list[MessageVersion]
    type: int = 0
    flags: int = 0
    mention_ids: list[int] = field(default_factory=list)
    mention_role_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    reference_id: int | None = None
    thread_id: int | None = None
    interaction_id: int | None = None
    webhook_id: int | None = None
    nonce: str | int | None = None
    deleted_monotonic: float | None = None

    @property
    def content(self) -> str:
        return self.versions[-1].content

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return list(self.versions[-1].embeds)

    @property
    def attachment_ids(self) -> list[int]:
        return list(self.versions[-1].attachment_ids)

    @property
    def components(self) -> list[dict[str, Any]]:
        """The action rows the message shows now."""
        return list(self.versions[-1].components)

    @property
    def edited(self) -> bool:
        return len(self.versions) > 1

    @property
    def deleted(self) -> bool:
        return self.deleted_monotonic is not None

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & 64)

    def version_at(self, monotonic: float) -> MessageVersion | None:
        """The version visible at ``monotonic`` (None before creation or after deletion)."""
        if monotonic < self.created_monotonic:
            return None
        if self.deleted_monotonic is not None and monotonic >= self.deleted_monotonic:
            return None
        visible = None
        for version in self.versions:
            if version.at_monotonic <= monotonic:
                visible = version
        return visible


@dataclass(frozen=True)
class InteractionCallback:
    """One ``POST /interactions/{id}/{token}/callback`` the bot made."""

    type: int
    data: dict[str, Any] | None
    at_monotonic: float


@dataclass
class SimInteraction:
    """A slash command or autocomplete a simulated user triggered, and everything the bot answered.

    ``original_message`` is the response message (created by callback type 4 or 5, then edited through
    ``PATCH /webhooks/{app}/{token}/messages/@original``); ``followups`` are later webhook messages.
    """

    id: int
    token: str
    type: int
    command_name: str
    channel_id: int
    guild_id: int | None
    user_id: int
    created_monotonic: float
    created_wall: float
    payload: dict[str, Any]
    callbacks: list[InteractionCallback] = field(default_factory=list)
    original_message: SimMessage | None = None
    followups: list[SimMessage] = field(default_factory=list)
    component_message: SimMessage | None = None
    """A button click's message: what a type 6/7 answer and `@original` concern."""

    @property
    def acknowledged(self) -> bool:
        return bool(self.callbacks)

    @property
    def deferred(self) -> bool:
        return any(callback.type in (5, 6) for callback in self.callbacks)

    @property
    def autocomplete_choices(self) -> list[dict[str, Any]] | None:
        """The choices of the type-8 answer, or None when the bot has not answered one."""
        for callback in self.callbacks:
            if callback.type == 8:
                return list((callback.data or {}).get("choices", []))
        return None
