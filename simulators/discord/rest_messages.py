"""Channel, message, thread and DM routes, with Discord's validation and gateway side effects."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from simulators.discord import payloads
from simulators.discord.components import check_components
from simulators.discord.errors import DiscordError, check_message, check_thread_name, form_error, not_found
from simulators.discord.models import ChannelType, Ping, SimChannel, SimMessage
from simulators.discord.ratelimit import SubLimitExceeded
from simulators.discord.rest_common import RequestBody, RestContext, RouteTable, body_of, json_response, no_content

USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")
EVERYONE_MENTION = re.compile(r"@(?:everyone|here)")
MESSAGE_TYPE_DEFAULT = 0
MESSAGE_TYPE_REPLY = 19
FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
SENDABLE_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS
_THREAD_PARENT_TYPES = (ChannelType.TEXT, ChannelType.FORUM)


def _too_large() -> DiscordError:
    return DiscordError(413, 40005, "Request entity too large")


def compose(
    ctx: RestContext, channel: SimChannel, author_id: int, body: RequestBody, *, flag_mask: int, **extra: Any
) -> SimMessage:
    """Validate a message body like Discord does, host its files, and store the message."""
    data = body.dict()
    content = data.get("content") or ""
    embeds = data.get("embeds") or []
    check_message(content, embeds, has_files=bool(body.files) or bool(data.get("sticker_ids")))
    if any(len(f.data) > ctx.config.upload_size_limit for f in body.files):
        raise _too_large()
    hosted = [ctx.state.host_attachment(channel.id, f) for f in body.files]
    for described, attachment in zip(data.get("attachments") or [], hosted, strict=False):
        attachment.description = described.get("description")
    extra.setdefault("type", MESSAGE_TYPE_DEFAULT)
    message = ctx.state.add_message(
        channel,
        author_id,
        content,
        embeds=embeds,
        attachment_ids=[a.id for a in hosted],
        components=check_components(data.get("components")),
        flags=int(data.get("flags") or 0) & flag_mask,
        nonce=data.get("nonce"),
        **extra,
    )
    _mention(ctx, message, data.get("allowed_mentions"))
    return message


def _mention(ctx: RestContext, message: SimMessage, allowed: dict[str, Any] | None) -> None:
    """Who the message's content notifies, as Discord decides it: without `allowed_mentions`, every user,
    role and `@everyone`/`@here` in it, and the author of the message it replies to; with it, only the kinds
    its `parse` names, the ids its `users` and `roles` list, and the replied-to author if `replied_user` is
    true (`{"parse": []}` notifies nobody). Recorded in `state.pings`, edits included (the strict side)."""
    content = message.content
    users = [int(uid) for uid in USER_MENTION.findall(content) if int(uid) in ctx.state.users]
    roles = [int(rid) for rid in ROLE_MENTION.findall(content)]
    everyone = bool(EVERYONE_MENTION.search(content))
    replied = True
    if allowed is not None:
        parse = allowed.get("parse") or []
        listed_users = {int(uid) for uid in allowed.get("users") or []}
        listed_roles = {int(rid) for rid in allowed.get("roles") or []}
        users = [uid for uid in users if "users" in parse or uid in listed_users]
        roles = [rid for rid in roles if "roles" in parse or rid in listed_roles]
        everyone = everyone and "everyone" in parse
        replied = allowed.get("replied_user") is True
    if message.reference_id is not None and replied:
        users.append(ctx.state.messages[message.reference_id].author_id)
    message.mention_ids = list(dict.fromkeys(users))
    message.mention_role_ids = list(dict.fromkeys(roles))
    message.mention_everyone = everyone
    if users or roles or everyone:
        ctx.state.pings.append(Ping(message.id, tuple(message.mention_ids), tuple(message.mention_role_ids), everyone))


def apply_edit(ctx: RestContext, message: SimMessage, body: RequestBody) -> None:
    """Apply a PATCH body (content, embeds, components, kept attachments, new files) as a new message version;
    a field the body leaves out keeps its value (`components: []` removes the buttons)."""
    data = body.dict()
    content = (data.get("content") or "") if "content" in data else message.content
    embeds = (data.get("embeds") or []) if "embeds" in data else message.embeds
    if any(len(f.data) > ctx.config.upload_size_limit for f in body.files):
        raise _too_large()
    kept = message.attachment_ids
    if "attachments" in data:
        listed = {str(item.get("id")) for item in data.get("attachments") or []}
        kept = [aid for aid in kept if str(aid) in listed]
    check_message(content, embeds, has_files=bool(kept) or bool(body.files))
    added = [ctx.state.host_attachment(message.channel_id, f).id for f in body.files]
    flags = message.flags & ~FLAG_LOADING
    if "flags" in data and data["flags"] is not None:
        flags = (flags & ~FLAG_SUPPRESS_EMBEDS) | (int(data["flags"]) & FLAG_SUPPRESS_EMBEDS)
    components = check_components(data.get("components")) if "components" in data else None
    ctx.state.edit_message(
        message, content=content, embeds=embeds, attachment_ids=kept + added, flags=flags, components=components
    )
    if "content" in data:
        _mention(ctx, message, data.get("allowed_mentions"))


class MessageRoutes:
    """Handlers for ``/channels/...`` and ``/users/@me/channels``."""

    def __init__(self, ctx: RestContext) -> None:
        self.ctx = ctx

    def routes(self) -> RouteTable:
        return [
            ("GET", "/channels/{channel_id}", self.get_channel),
            ("PATCH", "/channels/{channel_id}", self.edit_channel),
            ("GET", "/channels/{channel_id}/messages", self.list_messages),
            ("POST", "/channels/{channel_id}/messages", self.create_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message),
            ("POST", "/channels/{channel_id}/typing", self.typing),
            ("POST", "/channels/{channel_id}/messages/{message_id}/threads", self.thread_from_message),
            ("POST", "/channels/{channel_id}/threads", self.thread_without_message),
            ("POST", "/users/@me/channels", self.open_dm),
        ]

    async def get_channel(self, request: web.Request) -> web.Response:
        return json_response(payloads.channel(self.ctx.state, self.ctx.channel(request)))

    async def edit_channel(self, request: web.Request) -> web.Response:
        ctx = self.ctx
        channel = ctx.channel(request)
        data = body_of(request).dict()
        if "name" in data and data["name"] != channel.name:
            name = check_thread_name(data["name"])
            rename_limit = ctx.config.ratelimits.channel_rename
            if rename_limit is not None:
                verdict = ctx.limiter.check_sub_limit("channel_rename", str(channel.id), rename_limit)
                if not verdict.allowed:
                    raise SubLimitExceeded(verdict)
            channel.name = name
        if channel.is_thread:
            if "archived" in data:
                channel.archived = bool(data["archived"])
                channel.archive_timestamp = ctx.state.clock.iso()
            if "locked" in data:
                channel.locked = bool(data["locked"])
            if "auto_archive_duration" in data:
                channel.auto_archive_duration = int(data["auto_archive_duration"])
        elif "topic" in data:
            channel.topic = data["topic"]
        await ctx.gateway.dispatch_channel("THREAD_UPDATE" if channel.is_thread else "CHANNEL_UPDATE", channel)
        return json_response(payloads.channel(ctx.state, channel))

    async def list_messages(self, request: web.Request) -> web.Response:
        ctx = self.ctx
        channel = ctx.channel(request)
        limit = max(1, min(100, int(request.query.get("limit", "50"))))
        found = ctx.state.channel_messages(channel.id)
        found = [m for m in found if not m.ephemeral]
        if "before" in request.query:
            found = [m for m in found if m.id < int(request.query["before"])]
            found = found[-limit:]
        elif "after" in request.query:
            found = [m for m in found if m.id > int(request.query["after"])][:limit]
        elif "around" in request.query:
            pivot = int(request.query["around"])
            before = [m for m in found if m.id < pivot][-(limit // 2) :]
            after = [m for m in found if m.id >= pivot][: limit - len(before)]
            found = before + after
        else:
            found = found[-limit:]
        return json_response([payloads.message(ctx.state, m) for m in reversed(found)])

    async def create_message(self, request: web.Request) -> web.Response:
        ctx = self.ctx
        channel = ctx.channel(request)
        if channel.type == ChannelType.CATEGORY or channel.type == ChannelType.FORUM:
            raise DiscordError(400, 50008, "Cannot send messages in a non-text channel")
        await self._reopen_thread(channel)
        body = body_of(request)
        data = body.dict()
        if data.get("enforce_nonce") and data.get("nonce") is not None:
            for existing in ctx.state.channel_messages(channel.id):
                if existing.nonce == data["nonce"] and existing.author_id == ctx.state.bot.id:
                    return json_response(payloads.message(ctx.state, existing))
        extra: dict[str, Any] = {}
        reference = data.get("message_reference")
        if reference and reference.get("message_id") is not None:
            referenced = ctx.state.messages.get(int(reference["message_id"]))
            if referenced is not None and not referenced.deleted:
                extra = {"reference_id": referenced.id, "type": MESSAGE_TYPE_REPLY}
            elif reference.get("fail_if_not_exists", True):
                raise form_error(
                    {
                        "message_reference": {
                            "_errors": [{"code": "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "message": "Unknown message"}]
                        }
                    }
                )
        message = compose(ctx, channel, ctx.state.bot.id, body, flag_mask=SENDABLE_FLAGS, **extra)
        await ctx.gateway.dispatch_message("MESSAGE_CREATE", message)
        return json_response(payloads.message(ctx.state, message))

    async def get_message(self, request: web.Request) -> web.Response:
        channel = self.ctx.channel(request)
        return json_response(payloads.message(self.ctx.state, self.ctx.message(request, channel)))

    async def edit_message(self, request: web.Request) -> web.Response:
        ctx = self.ctx
        channel = ctx.channel(request)
        message = ctx.message(request, channel)
        if message.author_id != ctx.state.bot.id:
            raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
        if ctx.state.clock.wall() - message.created_wall > ctx.config.max_edit_age:
            raise DiscordError(
                400, 30046, "Maximum number of edits to messages older than 1 hour reached. Try again later."
            )
        apply_edit(ctx, message, body_of(request))
        await ctx.gateway.dispatch_message("MESSAGE_UPDATE", message)
        return json_response(payloads.message(ctx.state, message))

    async def delete_message(self, request: web.Request) -> web.Response:
        ctx = self.ctx
        channel = ctx.channel(request)
        message = ctx.message(request, channel)
        message.deleted_monotonic = ctx.state.clock.monotonic()
        event: dict[str, Any] = {"id": str(message.id), "channel_id": str(channel.id)}
        if channel.guild_id is not None:
            event["guild_id"] = str(channel.guild_id)
        await ctx.gateway.dispatch("MESSAGE_DELETE", event, dm=channel.is_dm)
        return no_content()

    async def typing(self, request: web.Request) -> web.Response:
        self.ctx.channel(request)
        return no_content()

    async def thread_from_message(self, request: web.Request) -> web.Response:
        ctx = self.ctx
        channel = ctx.channel(request)
        message = ctx.message(request, channel)
        if channel.type not in _THREAD_PARENT_TYPES:
            raise DiscordError(400, 50024, "Cannot execute action on this channel type")
        if message.thread_id is not None:
            raise DiscordError(400, 160004, "A thread has already been created for this message")
        data = body_of(request).dict()
        name = check_thread_name(data.get("name"))
        thread = ctx.state.add_thread(
            channel,
            name,
            ctx.state.bot.id,
            thread_id=message.id,
            auto_archive_duration=int(data.get("auto_archive_duration") or 1440),
        )
        message.thread_id = thread.id
        await ctx.gateway.dispatch_channel("THREAD_CREATE", thread, newly_created=True)
        return json_response(payloads.channel(ctx.state, thread), status=201)

    async def thread_without_message(self, request: web.Request) -> web.Response:
        ctx = self.ctx
        channel = ctx.channel(request)
        if channel.type not in _THREAD_PARENT_TYPES:
            raise DiscordError(400, 50024, "Cannot execute action on this channel type")
        body = body_of(request)
        data = body.dict()
        name = check_thread_name(data.get("name"))
        kind = ChannelType(int(data.get("type") or ChannelType.PUBLIC_THREAD))
        if channel.type == ChannelType.FORUM:
            kind = ChannelType.PUBLIC_THREAD
        thread = ctx.state.add_thread(
            channel,
            name,
            ctx.state.bot.id,
            type=kind,
            auto_archive_duration=int(data.get("auto_archive_duration") or 1440),
        )
        starter: SimMessage | None = None
        if channel.type == ChannelType.FORUM:
            starter = compose(
                ctx,
                thread,
                ctx.state.bot.id,
                RequestBody(data.get("message") or {}, body.files),
                flag_mask=SENDABLE_FLAGS,
            )
        await ctx.gateway.dispatch_channel("THREAD_CREATE", thread, newly_created=True)
        answer = payloads.channel(ctx.state, thread)
        if starter is not None:
            await ctx.gateway.dispatch_message("MESSAGE_CREATE", starter)
            answer["message"] = payloads.message(ctx.state, starter)
        return json_response(answer, status=201)

    async def open_dm(self, request: web.Request) -> web.Response:
        ctx = self.ctx
        recipient = body_of(request).dict().get("recipient_id")
        if recipient is None or int(recipient) not in ctx.state.users:
            raise not_found(10013, "User")
        return json_response(payloads.channel(ctx.state, ctx.state.dm_channel(int(recipient))))

    async def _reopen_thread(self, channel: SimChannel) -> None:
        """Posting unarchives a thread unless it is locked (then Discord refuses)."""
        if not (channel.is_thread and channel.archived):
            return
        if channel.locked:
            raise DiscordError(400, 50083, "Thread is archived")
        channel.archived = False
        channel.archive_timestamp = self.ctx.state.clock.iso()
        await self.ctx.gateway.dispatch_channel("THREAD_UPDATE", channel)
