"""Application commands, interaction callbacks, and the interaction webhooks (follow-ups, @original).

Discord's interaction rules are enforced because a bridge that breaks them fails in production: the first
callback must come within 3 seconds, only one callback per interaction, and the webhook token lives
15 minutes. A follow-up sent while the original is still "thinking" replaces the loading message.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from simulators.discord import payloads
from simulators.discord.errors import DiscordError, form_error, not_found
from simulators.discord.modals import check_modal
from simulators.discord.models import InteractionCallback, SimInteraction, SimMessage
from simulators.discord.rest_common import RequestBody, RestContext, RouteTable, body_of, json_response, no_content
from simulators.discord.rest_messages import FLAG_EPHEMERAL, FLAG_LOADING, SENDABLE_FLAGS, apply_edit, compose

COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")
MESSAGE_TYPE_CHAT_INPUT_COMMAND = 20
CALLBACK_PONG = 1
CALLBACK_MESSAGE = 4
CALLBACK_DEFERRED_MESSAGE = 5
CALLBACK_DEFERRED_UPDATE = 6
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_AUTOCOMPLETE = 8
CALLBACK_MODAL = 9
INTERACTION_AUTOCOMPLETE = 4
COMMANDS_PER_SCOPE = 100


def command_key(name: str, type: int = 1) -> str:
    """How the simulator indexes registered commands (names are unique per type)."""
    return f"{type}:{name}"


def _leaf(code: str, message: str) -> dict[str, Any]:
    return {"_errors": [{"code": code, "message": message}]}


def _validate_commands(items: Any) -> None:
    if not isinstance(items, list):
        raise form_error({"_errors": [{"code": "BASE_TYPE_ARRAY", "message": "Must be an array."}]})
    if len(items) > COMMANDS_PER_SCOPE:
        raise form_error(_leaf("BASE_TYPE_MAX_LENGTH", f"Must be {COMMANDS_PER_SCOPE} or fewer in length."))
    errors: dict[str, Any] = {}
    seen: set[str] = set()
    for index, item in enumerate(items):
        name = str(item.get("name", ""))
        kind = int(item.get("type") or 1)
        problems: dict[str, Any] = {}
        if kind == 1 and (not COMMAND_NAME.match(name) or name != name.lower()):
            problems["name"] = _leaf("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        if kind == 1 and not 1 <= len(item.get("description") or "") <= 100:
            problems["description"] = _leaf("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        if command_key(name, kind) in seen:
            problems["name"] = _leaf("APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
        seen.add(command_key(name, kind))
        if problems:
            errors[str(index)] = problems
    if errors:
        raise form_error(errors)


class InteractionRoutes:
    """Handlers for ``/applications/...``, ``/interactions/...`` and ``/webhooks/...``."""

    def __init__(self, ctx: RestContext) -> None:
        self.ctx = ctx

    def routes(self) -> RouteTable:
        webhook_message = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
        return [
            ("GET", "/applications/{application_id}/commands", self.get_commands),
            ("PUT", "/applications/{application_id}/commands", self.put_commands),
            ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", self.get_commands),
            ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", self.put_commands),
            ("POST", "/interactions/{webhook_id}/{webhook_token}/callback", self.callback),
            ("POST", "/webhooks/{webhook_id}/{webhook_token}", self.followup),
            ("GET", webhook_message, self.get_webhook_message),
            ("PATCH", webhook_message, self.edit_webhook_message),
            ("DELETE", webhook_message, self.delete_webhook_message),
        ]

    # -- application commands ----------------------------------------------------------------------

    def _scope(self, request: web.Request) -> int | None:
        if self.ctx.snowflake(request, "application_id") != self.ctx.state.application_id:
            raise DiscordError(403, 50001, "Missing Access")
        return self.ctx.guild(request).id if "guild_id" in request.match_info else None

    async def get_commands(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        return json_response(list(self.ctx.state.commands.get(scope, {}).values()))

    async def put_commands(self, request: web.Request) -> web.Response:
        """Bulk overwrite: ids survive for commands whose name and type stay the same, as on Discord."""
        ctx = self.ctx
        scope = self._scope(request)
        items = body_of(request).json
        _validate_commands(items)
        previous = ctx.state.commands.get(scope, {})
        stored: dict[str, dict[str, Any]] = {}
        for item in items:
            kind = int(item.get("type") or 1)
            key = command_key(item["name"], kind)
            old = previous.get(key)
            permissions = item.get("default_member_permissions")
            stored[key] = {
                **item,
                "id": old["id"] if old else str(ctx.state.ids.next()),
                "application_id": str(ctx.state.application_id),
                "version": str(ctx.state.ids.next()),
                "type": kind,
                "description": item.get("description") or "",
                "options": item.get("options") or [],
                "default_member_permissions": None if permissions is None else str(permissions),
                "dm_permission": item.get("dm_permission", True),
                "nsfw": bool(item.get("nsfw", False)),
            }
            if scope is not None:
                stored[key]["guild_id"] = str(scope)
        ctx.state.commands[scope] = stored
        return json_response(list(stored.values()))

    # -- interaction callbacks ---------------------------------------------------------------------

    async def callback(self, request: web.Request) -> web.Response:
        ctx = self.ctx
        interaction = ctx.state.interactions.get(ctx.snowflake(request, "webhook_id"))
        now = ctx.state.clock.monotonic()
        if interaction is None or interaction.token != request.match_info["webhook_token"]:
            raise not_found(10062, "interaction")
        if interaction.acknowledged:
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        if now - interaction.created_monotonic > ctx.config.interaction_ack_timeout:
            raise not_found(10062, "interaction")
        body = body_of(request)
        data = body.dict()
        kind = int(data.get("type") or 0)
        inner = data.get("data") if isinstance(data.get("data"), dict) else None
        message = await self._answer(interaction, kind, inner, body)
        interaction.callbacks.append(InteractionCallback(kind, inner, now))
        if request.query.get("with_response") not in ("1", "true", "True"):
            return no_content()
        answer: dict[str, Any] = {"interaction": {"id": str(interaction.id), "type": interaction.type}}
        if message is not None:
            answer["interaction"].update(
                response_message_id=str(message.id),
                response_message_loading=bool(message.flags & FLAG_LOADING),
                response_message_ephemeral=message.ephemeral,
            )
            answer["resource"] = {"type": kind, "message": payloads.message(ctx.state, message)}
        else:
            answer["resource"] = {"type": kind}
        return json_response(answer)

    async def _answer(
        self, interaction: SimInteraction, kind: int, inner: dict[str, Any] | None, body: RequestBody
    ) -> SimMessage | None:
        ctx = self.ctx
        channel = ctx.state.channels[interaction.channel_id]
        is_autocomplete = interaction.type == INTERACTION_AUTOCOMPLETE
        updates_a_message = kind in (CALLBACK_DEFERRED_UPDATE, CALLBACK_UPDATE_MESSAGE)
        if (
            (kind == CALLBACK_AUTOCOMPLETE) != is_autocomplete
            or kind not in (4, 5, 6, 7, 8, 9)
            or (updates_a_message and interaction.component_message is None)
        ):
            raise form_error({"type": _leaf("INTERACTION_RESPONSE_TYPE_INVALID", "Invalid interaction response type")})
        if kind == CALLBACK_MODAL:
            check_modal(inner, interaction.type)  # the modal itself is read back from the recorded callback
            return None
        if updates_a_message:
            return await self._update_component_message(interaction, kind, inner, body)
        if kind == CALLBACK_AUTOCOMPLETE:
            choices = (inner or {}).get("choices") or []
            if len(choices) > 25:
                raise form_error({"data": {"choices": _leaf("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")}})
            return None
        common = {
            "type": MESSAGE_TYPE_CHAT_INPUT_COMMAND,
            "interaction_id": interaction.id,
            "webhook_id": ctx.state.application_id,
        }
        if kind == CALLBACK_MESSAGE:
            message = compose(
                ctx,
                channel,
                ctx.state.bot.id,
                RequestBody(inner or {}, body.files),
                flag_mask=SENDABLE_FLAGS | FLAG_EPHEMERAL,
                **common,
            )
        elif kind == CALLBACK_DEFERRED_MESSAGE:
            flags = FLAG_LOADING | (int((inner or {}).get("flags") or 0) & FLAG_EPHEMERAL)
            message = ctx.state.add_message(channel, ctx.state.bot.id, "", flags=flags, **common)
        else:
            return None  # 6 and 7 concern components, which the simulator only records
        interaction.original_message = message
        if not message.ephemeral:
            await ctx.gateway.dispatch_message("MESSAGE_CREATE", message)
        return message

    async def _update_component_message(
        self, interaction: SimInteraction, kind: int, inner: dict[str, Any] | None, body: RequestBody
    ) -> SimMessage:
        """Type 6 changes nothing yet, type 7 edits the clicked message now; either way `@original` is
        that message, which the bot may edit later through the webhook."""
        message = interaction.component_message
        assert message is not None
        interaction.original_message = message
        if kind == CALLBACK_UPDATE_MESSAGE:
            apply_edit(self.ctx, message, RequestBody(inner or {}, body.files))
            if not message.ephemeral:
                await self.ctx.gateway.dispatch_message("MESSAGE_UPDATE", message)
        return message

    # -- interaction webhooks ----------------------------------------------------------------------

    def _interaction(self, request: web.Request) -> SimInteraction:
        ctx = self.ctx
        interaction = ctx.state.interactions_by_token.get(request.match_info["webhook_token"])
        if interaction is None or ctx.snowflake(request, "webhook_id") != ctx.state.application_id:
            raise not_found(10015, "Webhook")
        if ctx.state.clock.wall() - interaction.created_wall > ctx.config.interaction_token_lifetime:
            raise DiscordError(401, 50027, "Invalid Webhook Token")
        return interaction

    def _webhook_message(self, request: web.Request, interaction: SimInteraction) -> SimMessage:
        wanted = request.match_info["message_id"]
        candidates = [interaction.original_message, *interaction.followups]
        for message in candidates:
            if message is None or message.deleted:
                continue
            if wanted == "@original" and message is interaction.original_message:
                return message
            if wanted == str(message.id):
                return message
        raise not_found(10008, "Message")

    async def followup(self, request: web.Request) -> web.Response:
        ctx = self.ctx
        interaction = self._interaction(request)
        if not interaction.acknowledged:
            raise not_found(10015, "Webhook")
        body = body_of(request)
        original = interaction.original_message
        if original is not None and original.flags & FLAG_LOADING:
            apply_edit(ctx, original, body)  # the first follow-up after a defer fills the "thinking" message
            message = original
            event = "MESSAGE_UPDATE"
        else:
            channel = ctx.state.channels[interaction.channel_id]
            message = compose(
                ctx,
                channel,
                ctx.state.bot.id,
                body,
                flag_mask=SENDABLE_FLAGS | FLAG_EPHEMERAL,
                type=MESSAGE_TYPE_CHAT_INPUT_COMMAND,
                interaction_id=interaction.id,
                webhook_id=ctx.state.application_id,
            )
            interaction.followups.append(message)
            event = "MESSAGE_CREATE"
        if not message.ephemeral:
            await ctx.gateway.dispatch_message(event, message)
        if request.query.get("wait") in ("1", "true", "True"):
            return json_response(payloads.message(ctx.state, message))
        return no_content()

    async def get_webhook_message(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request)
        return json_response(payloads.message(self.ctx.state, self._webhook_message(request, interaction)))

    async def edit_webhook_message(self, request: web.Request) -> web.Response:
        ctx = self.ctx
        interaction = self._interaction(request)
        message = self._webhook_message(request, interaction)
        apply_edit(ctx, message, body_of(request))
        if not message.ephemeral:
            await ctx.gateway.dispatch_message("MESSAGE_UPDATE", message)
        return json_response(payloads.message(ctx.state, message))

    async def delete_webhook_message(self, request: web.Request) -> web.Response:
        ctx = self.ctx
        interaction = self._interaction(request)
        message = self._webhook_message(request, interaction)
        message.deleted_monotonic = ctx.state.clock.monotonic()
        if not message.ephemeral:
            event: dict[str, Any] = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if message.guild_id is not None:
                event["guild_id"] = str(message.guild_id)
            await ctx.gateway.dispatch("MESSAGE_DELETE", event, dm=message.guild_id is None)
        return no_content()
