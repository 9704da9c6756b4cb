"""Who may use the bridge where, and who may change its settings.

Deny lists win over allow lists; an empty allow list allows everyone. A thread counts as its parent
channel and a channel as its category, so listing a category covers every channel in it. The user and
role allow lists are one list of people: a user passes when named in either.

A DM has no roles, so when `DISCORD_ALLOWED_ROLES` is set only users named in `DISCORD_ALLOWED_USERS` may
use DMs (a role list would otherwise be bypassed by writing to the bot directly).

Admins are `DISCORD_ADMIN_USERS` and members of `DISCORD_ADMIN_ROLES`; when both are empty, members who
may manage the server, which is who a Discord user expects to be in charge of a server's bots. In a DM,
the person writing may change the settings of that DM: they concern nobody else.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord

from adapters.discord.settings import DiscordSettings
from bridge import texts

NOT_ADMIN = texts.not_admin(
    "the users and roles in DISCORD_ADMIN_USERS / DISCORD_ADMIN_ROLES, or members who can manage this server "
    "when those are empty"
)


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asks and where, in the terms the lists use."""

    user_id: int
    role_ids: frozenset[int]
    guild_id: int | None
    places: frozenset[int]  # the channel, its parent channel (for a thread) and its category
    manages_guild: bool = False

    @property
    def in_dm(self) -> bool:
        return self.guild_id is None


def places_of(channel: object) -> frozenset[int]:
    """The ids that decide about `channel`: itself, its parent (a thread's channel) and their category."""
    ids: set[int] = set()
    current: object | None = channel
    for _ in range(3):  # thread -> channel -> category at most
        if current is None:
            break
        channel_id = getattr(current, "id", None)
        if isinstance(channel_id, int):
            ids.add(channel_id)
        parent_id = getattr(current, "parent_id", None) or getattr(current, "category_id", None)
        if isinstance(parent_id, int):
            ids.add(parent_id)
        current = getattr(current, "parent", None) or getattr(current, "category", None)
    return frozenset(ids)


def asker_of(user: discord.abc.User, channel: object, guild: discord.Guild | None) -> Asker:
    """An `Asker` from a message's or an interaction's author and place."""
    roles = frozenset(role.id for role in getattr(user, "roles", ()))
    permissions = getattr(user, "guild_permissions", None)
    manages = bool(permissions and (permissions.manage_guild or permissions.administrator))
    return Asker(user.id, roles, guild.id if guild else None, places_of(channel), manages)


def _ids(values: list[str]) -> frozenset[int]:
    return frozenset(int(v) for v in values if v.isdigit())


class Access:
    """Allow/deny decisions from `DiscordSettings`; `refusal` says why someone is refused, None if not."""

    def __init__(self, settings: DiscordSettings) -> None:
        s = settings
        self.allow_dms = s.allow_dms
        self.guilds = (_ids(s.allowed_guilds), _ids(s.denied_guilds))
        self.channels = (_ids(s.allowed_channels), _ids(s.denied_channels))
        self.roles = (_ids(s.allowed_roles), _ids(s.denied_roles))
        self.users = (_ids(s.allowed_users), _ids(s.denied_users))
        self.admin_users = _ids(s.admin_users)
        self.admin_roles = _ids(s.admin_roles)

    def refusal(self, who: Asker) -> str | None:
        """The sentence to show a refused user, or None when they may use the bridge here."""
        if who.in_dm:
            if not self.allow_dms:
                return texts.dms_refused("a server channel")
        else:
            allowed, denied = self.guilds
            if who.guild_id in denied or (allowed and who.guild_id not in allowed):
                return texts.workspace_refused("server")
            allowed, denied = self.channels
            if who.places & denied or (allowed and not who.places & allowed):
                return texts.CHANNEL_REFUSED
        allowed_users, denied_users = self.users
        allowed_roles, denied_roles = self.roles
        if who.user_id in denied_users or who.role_ids & denied_roles:
            return texts.USER_REFUSED
        if (allowed_users or allowed_roles) and not (who.user_id in allowed_users or who.role_ids & allowed_roles):
            return texts.USER_REFUSED
        return None

    def is_admin(self, who: Asker) -> bool:
        """Whether `who` is one of the bridge's admins (knowledge bases concern everyone)."""
        if who.user_id in self.admin_users or who.role_ids & self.admin_roles:
            return True
        return not self.admin_users and not self.admin_roles and who.manages_guild

    def may_configure(self, who: Asker) -> bool:
        """Whether `who` may change the model or system prompt of the place they ask from."""
        return who.in_dm or self.is_admin(who)
