"""Turning a test's ``/kb ask kb=docs question=hi`` into the INTERACTION_CREATE payload Discord would send.

Option types are read from the command the bot registered (bulk overwrite), so a test passes plain Python
values and the simulator types them exactly as Discord does; a command or option the bot did not register,
or a required option left out, is a :class:`SimUsageError` because no Discord user could produce it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulators.discord import payloads
from simulators.discord.errors import SimUsageError
from simulators.discord.models import SimAttachment, SimChannel, SimFile, SimRole, SimUser
from simulators.discord.rest_interactions import command_key
from simulators.discord.state import SimState

SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = 3, 4, 5, 6, 7, 8, 9, 10, 11
CONTEXT_GUILD = 0
CONTEXT_BOT_DM = 1


@dataclass
class BuiltOptions:
    """The ``data.options`` tree and the ``data.resolved`` objects it refers to."""

    options: list[dict[str, Any]]
    resolved: dict[str, dict[str, Any]] = field(default_factory=dict)


def find_command(state: SimState, guild_id: int | None, name: str, *, type: int = 1) -> dict[str, Any]:
    """The registered command of ``type`` (1 chat input, 3 message) a user in ``guild_id`` (None for a DM) sees."""
    key = command_key(name, type)
    if guild_id is not None and key in state.commands.get(guild_id, {}):
        return state.commands[guild_id][key]
    if key in state.commands.get(None, {}):
        return state.commands[None][key]
    raise SimUsageError(f"/{name} is not registered here (did the bot sync its command tree?)")


def check_visible(state: SimState, command: dict[str, Any], channel: SimChannel, user_id: int) -> None:
    """Refuse what Discord's client would not offer: DM-disabled commands in DMs, missing permissions."""
    contexts = command.get("contexts")
    if channel.guild_id is None:
        if command.get("dm_permission") is False or (contexts is not None and CONTEXT_BOT_DM not in contexts):
            raise SimUsageError(f"/{command['name']} is not available in DMs")
        return
    if contexts is not None and CONTEXT_GUILD not in contexts:
        raise SimUsageError(f"/{command['name']} is not available in servers")
    required = command.get("default_member_permissions")
    if required is not None:
        needed = int(required)
        if state.permissions(channel.guild_id, user_id) & needed != needed:
            raise SimUsageError(f"/{command['name']} needs permissions {needed}; Discord hides it from this user")


def build_options(
    state: SimState,
    schema: list[dict[str, Any]],
    path: list[str],
    values: dict[str, Any],
    *,
    channel: SimChannel,
    focused: str | None = None,
) -> BuiltOptions:
    """Walk ``path`` (subcommand group / subcommand names) and type ``values`` by the schema."""
    built = BuiltOptions([])
    built.options = _walk(state, schema, path, values, channel, focused, built.resolved)
    return built


def _walk(
    state: SimState,
    schema: list[dict[str, Any]],
    path: list[str],
    values: dict[str, Any],
    channel: SimChannel,
    focused: str | None,
    resolved: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    nested = [o for o in schema if o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP)]
    if path:
        match = next((o for o in nested if o["name"] == path[0]), None)
        if match is None:
            raise SimUsageError(f"no subcommand {path[0]!r}; registered: {[o['name'] for o in nested]}")
        inner = _walk(state, match.get("options") or [], path[1:], values, channel, focused, resolved)
        return [{"type": match["type"], "name": match["name"], "options": inner}]
    if nested:
        raise SimUsageError(f"this command needs a subcommand: {[o['name'] for o in nested]}")
    by_name = {o["name"]: o for o in schema}
    unknown = set(values) - set(by_name)
    if unknown:
        raise SimUsageError(f"unknown options {sorted(unknown)}; registered: {sorted(by_name)}")
    if focused is None:
        missing = [o["name"] for o in schema if o.get("required") and o["name"] not in values]
        if missing:
            raise SimUsageError(f"required options missing: {missing}")
    out = []
    for name, value in values.items():
        option = by_name[name]
        if name == focused:
            out.append({"type": option["type"], "name": name, "value": str(value), "focused": True})
            continue
        typed = _typed_value(state, option, value, channel, resolved)
        choices = option.get("choices")
        if choices and typed not in [c["value"] for c in choices]:
            raise SimUsageError(f"{name}={value!r} is not one of the choices {choices}")
        out.append({"type": option["type"], "name": name, "value": typed})
    return out


def _typed_value(
    state: SimState,
    option: dict[str, Any],
    value: Any,
    channel: SimChannel,
    resolved: dict[str, dict[str, Any]],
) -> Any:
    kind = option["type"]
    if kind == STRING:
        return str(value)
    if kind == INTEGER:
        return int(value)
    if kind == NUMBER:
        return float(value)
    if kind == BOOLEAN:
        return bool(value)
    if kind == ATTACHMENT:
        attachment = value if isinstance(value, SimAttachment) else None
        if isinstance(value, SimFile):
            attachment = state.host_attachment(channel.id, value)
        if attachment is None:
            raise SimUsageError("attachment options take a SimFile (or a hosted SimAttachment)")
        resolved.setdefault("attachments", {})[str(attachment.id)] = payloads.attachment(attachment)
        return str(attachment.id)
    target = value.id if isinstance(value, SimUser | SimRole | SimChannel) else int(value)
    if kind in (USER, MENTIONABLE) and target in state.users:
        resolved.setdefault("users", {})[str(target)] = payloads.user(state.users[target])
        if channel.guild_id is not None and target in state.guilds[channel.guild_id].members:
            member = payloads.member(state, state.guilds[channel.guild_id].members[target], with_user=False)
            member["permissions"] = str(state.permissions(channel.guild_id, target))
            resolved.setdefault("members", {})[str(target)] = member
        return str(target)
    if kind in (ROLE, MENTIONABLE) and channel.guild_id is not None:
        role = state.guilds[channel.guild_id].roles.get(target)
        if role is not None:
            resolved.setdefault("roles", {})[str(target)] = payloads.role(role)
            return str(target)
    if kind == CHANNEL and target in state.channels:
        resolved.setdefault("channels", {})[str(target)] = {
            **payloads.channel(state, state.channels[target]),
            "permissions": str(state.permissions(channel.guild_id, state.bot.id) if channel.guild_id else 0),
        }
        return str(target)
    raise SimUsageError(f"option {option['name']!r} (type {kind}) cannot take {value!r}")


def interaction_payload(
    state: SimState,
    *,
    interaction_id: int,
    token: str,
    type: int,
    data: dict[str, Any],
    channel: SimChannel,
    user_id: int,
    attachment_size_limit: int,
) -> dict[str, Any]:
    """INTERACTION_CREATE's ``d`` for a guild channel (with ``member``) or a DM (with ``user``)."""
    body: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(state.application_id),
        "type": type,
        "data": data,
        "channel_id": str(channel.id),
        "channel": payloads.channel(state, channel),
        "token": token,
        "version": 1,
        "locale": "en-US",
        "entitlements": [],
        "attachment_size_limit": attachment_size_limit,
    }
    if channel.guild_id is not None:
        guild = state.guilds[channel.guild_id]
        member = payloads.member(state, guild.members[user_id])
        member["permissions"] = str(state.permissions(guild.id, user_id))
        body.update(
            guild_id=str(guild.id),
            guild={"id": str(guild.id), "locale": "en-US", "features": []},
            guild_locale="en-US",
            member=member,
            app_permissions=str(state.permissions(guild.id, state.bot.id)),
            authorizing_integration_owners={"0": str(guild.id)},
            context=CONTEXT_GUILD,
        )
    else:
        body.update(
            user=payloads.user(state.users[user_id]),
            app_permissions="0",
            authorizing_integration_owners={"0": str(user_id)},
            context=CONTEXT_BOT_DM,
        )
    return body
