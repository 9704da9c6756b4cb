"""JSON shapes of Discord API objects, built from the simulator's world.

Field sets follow Discord's API reference closely enough that discord.py's parsers see what they see in
production (including fields it reads with ``data['...']`` and would crash without).
"""

from __future__ import annotations

from typing import Any

from simulators.discord.models import (
    ChannelType,
    SimAttachment,
    SimChannel,
    SimGuild,
    SimMember,
    SimMessage,
    SimRole,
    SimUser,
)
from simulators.discord.state import SimState

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


def user(value: SimUser) -> dict[str, Any]:
    return {
        "id": str(value.id),
        "username": value.username,
        "discriminator": "0",
        "global_name": value.global_name,
        "avatar": None,
        "bot": value.bot,
        "system": False,
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
    }


def role(value: SimRole) -> dict[str, Any]:
    return {
        "id": str(value.id),
        "name": value.name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": value.position,
        "permissions": str(value.permissions),
        "managed": value.managed,
        "mentionable": False,
        "flags": 0,
        "tags": {},
    }


def member(state: SimState, value: SimMember, *, with_user: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "nick": value.nick,
        "avatar": None,
        "banner": None,
        "roles": [str(role_id) for role_id in value.role_ids],
        "joined_at": value.joined_at,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
    }
    if with_user:
        body["user"] = user(state.users[value.user_id])
    return body


def channel(state: SimState, value: SimChannel) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(value.id),
        "type": int(value.type),
        "name": value.name,
        "last_message_id": None if value.last_message_id is None else str(value.last_message_id),
        "flags": 0,
    }
    if value.type == ChannelType.DM:
        body["recipients"] = [user(state.users[uid]) for uid in value.recipient_ids]
        return body
    body.update(
        guild_id=str(value.guild_id),
        parent_id=None if value.parent_id is None else str(value.parent_id),
        position=value.position,
        permission_overwrites=[],
        nsfw=False,
        rate_limit_per_user=0,
    )
    if value.is_thread:
        body.update(
            owner_id=str(value.owner_id),
            message_count=value.message_count,
            total_message_sent=value.message_count,
            member_count=2,
            thread_metadata={
                "archived": value.archived,
                "auto_archive_duration": value.auto_archive_duration,
                "archive_timestamp": value.archive_timestamp,
                "locked": value.locked,
                "create_timestamp": value.created_at,
            },
        )
    elif value.type in (ChannelType.TEXT, ChannelType.FORUM):
        body.update(topic=value.topic, default_auto_archive_duration=1440)
    return body


def guild(state: SimState, value: SimGuild) -> dict[str, Any]:
    """The guild object as GET /guilds/{id} answers it (no members, channels or threads)."""
    return {
        "id": str(value.id),
        "name": value.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "owner_id": str(value.owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": [role(r) for r in value.roles.values()],
        "emojis": [],
        "stickers": [],
        "features": [],
        "mfa_level": 0,
        "application_id": None,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "vanity_url_code": None,
        "description": None,
        "banner": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": None,
        "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
    }


def guild_create(state: SimState, value: SimGuild) -> dict[str, Any]:
    """GUILD_CREATE: the guild plus channels, active threads and every member (so no chunking is needed)."""
    channels = [c for c in state.channels.values() if c.guild_id == value.id]
    return {
        **guild(state, value),
        "unavailable": False,
        "large": False,
        "member_count": len(value.members),
        "joined_at": value.members[state.bot.id].joined_at,
        "members": [member(state, m) for m in value.members.values()],
        "channels": [channel(state, c) for c in channels if not c.is_thread],
        "threads": [channel(state, c) for c in channels if c.is_thread and not c.archived],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


def attachment(value: SimAttachment) -> dict[str, Any]:
    return {
        "id": str(value.id),
        "filename": value.filename,
        "title": value.filename,
        "description": value.description,
        "content_type": value.content_type,
        "size": value.size,
        "url": value.url,
        "proxy_url": value.url,
        "flags": 0,
    }


def message(state: SimState, value: SimMessage, *, hide_content: bool = False) -> dict[str, Any]:
    """A message as REST returns it and MESSAGE_CREATE/UPDATE carry it.

    ``hide_content`` blanks what the message-content intent guards (content, embeds, attachments).
    """
    author = state.users[value.author_id]
    version = value.versions[-1]
    body: dict[str, Any] = {
        "id": str(value.id),
        "channel_id": str(value.channel_id),
        "author": user(author),
        "content": "" if hide_content else version.content,
        "timestamp": state.clock.iso(value.created_wall),
        "edited_timestamp": state.clock.iso(version.at_wall) if value.edited else None,
        "tts": False,
        "mention_everyone": value.mention_everyone,
        "mentions": [user(state.users[uid]) for uid in value.mention_ids],
        "mention_roles": [str(rid) for rid in value.mention_role_ids],
        "attachments": [] if hide_content else [attachment(state.attachments[a]) for a in version.attachment_ids],
        "embeds": [] if hide_content else list(version.embeds),
        "components": [] if hide_content else list(version.components),
        "reactions": [],
        "pinned": False,
        "type": value.type,
        "flags": value.flags,
    }
    if value.nonce is not None:
        body["nonce"] = value.nonce
    if value.webhook_id is not None:
        body["webhook_id"] = str(value.webhook_id)
        body["application_id"] = str(state.application_id)
    if value.guild_id is not None:
        body["guild_id"] = str(value.guild_id)
        guild_member = state.guilds[value.guild_id].members.get(value.author_id)
        if guild_member is not None and value.webhook_id is None:
            body["member"] = member(state, guild_member, with_user=False)
    if value.reference_id is not None:
        referenced = state.messages.get(value.reference_id)
        body["message_reference"] = {
            "type": 0,
            "message_id": str(value.reference_id),
            "channel_id": str(value.channel_id),
            "guild_id": None if value.guild_id is None else str(value.guild_id),
        }
        body["referenced_message"] = None if referenced is None else message(state, referenced)
    if value.thread_id is not None and value.thread_id in state.channels:
        body["thread"] = channel(state, state.channels[value.thread_id])
    if value.interaction_id is not None:
        interaction = state.interactions[value.interaction_id]
        body["interaction_metadata"] = {
            "id": str(interaction.id),
            "type": interaction.type,
            "name": interaction.command_name,
            "user": user(state.users[interaction.user_id]),
            "authorizing_integration_owners": {},
        }
    return body


def application(state: SimState) -> dict[str, Any]:
    """GET /oauth2/applications/@me (discord.py calls it at login)."""
    return {
        "id": str(state.application_id),
        "name": state.bot.username,
        "icon": None,
        "description": "",
        "rpc_origins": [],
        "bot_public": True,
        "bot_require_code_grant": False,
        "bot": user(state.bot),
        "terms_of_service_url": None,
        "privacy_policy_url": None,
        "owner": user(state.users[state.owner.id]),
        "summary": "",
        "verify_key": "0" * 64,
        "team": None,
        "guild_id": None,
        "flags": (1 << 15) | (1 << 19),
        "tags": [],
        "install_params": {"scopes": ["bot", "applications.commands"], "permissions": "0"},
        "interactions_endpoint_url": None,
        "redirect_uris": [],
        "approximate_guild_count": len(state.guilds),
    }
