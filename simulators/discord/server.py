"""``DiscordSimulator``: a fake Discord on loopback that an unmodified discord.py client talks to.

Tests and the benchmark act through it as Discord users would (a user types, runs a slash command, drops a
file), and read back what users would have seen and when (every version of every bot message, every call
the bot made, every 429). See ``simulators/discord/__init__.py`` for the public names.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterable
from typing import Any, Self

from aiohttp import web

from simulators.discord import modal_submit, payloads
from simulators.discord.clock import SimClock
from simulators.discord.commands import build_options, check_visible, find_command, interaction_payload
from simulators.discord.components import BUTTON, INTERACTION_MESSAGE_COMPONENT, clickable
from simulators.discord.config import SimulatorConfig
from simulators.discord.errors import SimUsageError
from simulators.discord.gateway import Gateway, GatewayEvent
from simulators.discord.models import (
    ChannelType,
    MessageVersion,
    Ping,
    SimChannel,
    SimFile,
    SimGuild,
    SimInteraction,
    SimMember,
    SimMessage,
    SimRole,
    SimUser,
)
from simulators.discord.ratelimit import RateLimiter
from simulators.discord.records import CallLog, CallRecord
from simulators.discord.rest import API_PREFIX, RestServer
from simulators.discord.rest_common import RestContext
from simulators.discord.rest_interactions import INTERACTION_AUTOCOMPLETE
from simulators.discord.rest_messages import MESSAGE_TYPE_REPLY, USER_MENTION
from simulators.discord.seams import point_discord_py_at
from simulators.discord.state import SimState
from simulators.faults import FaultPlan

INTERACTION_APPLICATION_COMMAND = 2
MESSAGE_COMMAND = 3  # an application command's type when it is a message's context-menu entry
Ref = int | SimUser | SimGuild | SimChannel | SimRole | SimMessage


def _id(value: Ref) -> int:
    return value if isinstance(value, int) else value.id


class DiscordSimulator:
    """A fake Discord (REST + gateway) on ``127.0.0.1`` with a test-driver API.

    Use as ``async with DiscordSimulator() as sim:`` then ``with sim.patch_discord(): ...``. The bot's token is
    ``sim.token``; its user is ``sim.bot_user``.
    """

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.clock = SimClock()
        self.state = SimState(self.clock, bot_name=self.config.bot_name, token=self.config.token)
        self.limiter = RateLimiter(self.config.ratelimits)
        self.log = CallLog()
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.gateway = Gateway(
            self.state,
            self.clock,
            heartbeat_interval_ms=self.config.heartbeat_interval_ms,
            privileged_intents=self.config.privileged_intents,
            url=lambda: self.gateway_url,
            on_change=self._notify,
        )

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on a free loopback port."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.state.base_url = self.base_url
        self.faults = FaultPlan()
        """Failures a test orders: `sim.faults.add(route, status, count)`."""
        ctx = RestContext(self.state, self.gateway, self.config, self.limiter, self.faults)
        app = RestServer(ctx, self.log, self._notify).build(
            self.gateway_url, client_max_size=4 * self.config.upload_size_limit + 1024 * 1024
        )
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Close bot sockets and stop listening."""
        if self._runner is None:
            return
        await self.gateway.close_all()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def rest_base(self) -> str:
        """What ``discord.http.Route.BASE`` must be."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """What ``DiscordWebSocket.DEFAULT_GATEWAY`` must be."""
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def token(self) -> str:
        return self.state.token

    @property
    def bot_user(self) -> SimUser:
        return self.state.bot

    @property
    def application_id(self) -> int:
        return self.state.application_id

    def patch_discord(self) -> contextlib.AbstractContextManager[None]:
        """Point discord.py (in this process) at the simulator; undone when the block exits."""
        return point_discord_py_at(self.rest_base, self.gateway_url)

    # -- building the world ------------------------------------------------------------------------

    async def create_user(self, username: str, *, bot: bool = False, global_name: str | None = None) -> SimUser:
        return self.state.add_user(username, bot=bot, global_name=global_name)

    async def create_guild(self, name: str = "Test Guild", *, owner: Ref | None = None) -> SimGuild:
        """A guild the bot is in (dispatches GUILD_CREATE if the bot is connected)."""
        owner_id = self.state.owner.id if owner is None else _id(owner)
        guild = self.state.add_guild(name, owner_id)
        await self.gateway.dispatch("GUILD_CREATE", payloads.guild_create(self.state, guild))
        return guild

    async def create_role(self, guild: Ref, name: str, *, permissions: int = 0) -> SimRole:
        role = self.state.add_role(_id(guild), name, permissions=permissions)
        await self.gateway.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(role.guild_id), "role": payloads.role(role)})
        return role

    async def add_member(self, guild: Ref, user: Ref, *, roles: Iterable[Ref] = ()) -> SimMember:
        """Add ``user`` to ``guild`` (or give an existing member more roles)."""
        existed = _id(user) in self.state.guilds[_id(guild)].members
        member = self.state.add_member(_id(guild), _id(user), [_id(r) for r in roles])
        body = {**payloads.member(self.state, member), "guild_id": str(member.guild_id)}
        await self.gateway.dispatch("GUILD_MEMBER_UPDATE" if existed else "GUILD_MEMBER_ADD", body)
        return member

    async def create_category(self, guild: Ref, name: str) -> SimChannel:
        channel = self.state.add_channel(_id(guild), name, type=ChannelType.CATEGORY)
        await self.gateway.dispatch_channel("CHANNEL_CREATE", channel)
        return channel

    async def create_text_channel(
        self, guild: Ref, name: str, *, category: Ref | None = None, topic: str | None = None
    ) -> SimChannel:
        parent = None if category is None else _id(category)
        channel = self.state.add_channel(_id(guild), name, parent_id=parent, topic=topic)
        await self.gateway.dispatch_channel("CHANNEL_CREATE", channel)
        return channel

    async def create_forum_channel(self, guild: Ref, name: str, *, category: Ref | None = None) -> SimChannel:
        parent = None if category is None else _id(category)
        channel = self.state.add_channel(_id(guild), name, type=ChannelType.FORUM, parent_id=parent)
        await self.gateway.dispatch_channel("CHANNEL_CREATE", channel)
        return channel

    async def create_dm(self, user: Ref) -> SimChannel:
        """The DM channel between ``user`` and the bot."""
        return self.state.dm_channel(_id(user))

    async def create_thread(
        self, channel: Ref, name: str, *, owner: Ref, from_message: Ref | None = None
    ) -> SimChannel:
        """A thread a user opens (from a message, or standalone); dispatches THREAD_CREATE."""
        parent = self.channel(channel)
        message = None if from_message is None else self.message(_id(from_message))
        thread = self.state.add_thread(parent, name, _id(owner), thread_id=None if message is None else message.id)
        if message is not None:
            message.thread_id = thread.id
        await self.gateway.dispatch_channel("THREAD_CREATE", thread, newly_created=True)
        return thread

    async def archive_thread(self, thread: Ref, *, locked: bool = False) -> None:
        found = self.channel(thread)
        found.archived, found.locked = True, locked
        found.archive_timestamp = self.clock.iso()
        await self.gateway.dispatch_channel("THREAD_UPDATE", found)

    async def create_basic_world(self) -> BasicWorld:
        """One guild with a ``#general`` channel and a member ``alice``: enough for most tests."""
        guild = await self.create_guild("Test Guild")
        general = await self.create_text_channel(guild, "general")
        alice = await self.create_user("alice")
        await self.add_member(guild, alice)
        return BasicWorld(guild, general, alice)

    # -- what users do -----------------------------------------------------------------------------

    async def user_says(
        self,
        channel: Ref,
        author: Ref,
        content: str = "",
        *,
        mentions_bot: bool = False,
        attachments: Iterable[SimFile] = (),
        reply_to: Ref | None = None,
        mention_author: bool = True,
    ) -> SimMessage:
        """A user posts a message; dispatches MESSAGE_CREATE (content blanked for bots without the intent).

        ``mentions_bot`` prefixes ``<@bot_id> `` as Discord's client writes a mention. ``reply_to`` makes it
        a reply, which also mentions the replied-to author unless ``mention_author`` is False.
        """
        target = self.channel(channel)
        author_id = _id(author)
        self._check_can_post(target, author_id)
        if mentions_bot and f"<@{self.bot_user.id}>" not in content:
            content = f"<@{self.bot_user.id}> {content}".rstrip()
        files = list(attachments)
        if not content.strip() and not files:
            raise SimUsageError("Discord's client does not send empty messages")
        hosted = [self.state.host_attachment(target.id, f) for f in files]
        mentions = list(
            dict.fromkeys(int(uid) for uid in USER_MENTION.findall(content) if int(uid) in self.state.users)
        )
        extra: dict[str, Any] = {}
        if reply_to is not None:
            referenced = self.message(_id(reply_to))
            extra = {"reference_id": referenced.id, "type": MESSAGE_TYPE_REPLY}
            if mention_author and referenced.author_id not in mentions:
                mentions.append(referenced.author_id)
        if target.is_thread and target.archived and not target.locked:
            target.archived = False
            await self.gateway.dispatch_channel("THREAD_UPDATE", target)
        message = self.state.add_message(
            target, author_id, content, attachment_ids=[a.id for a in hosted], mention_ids=mentions, **extra
        )
        await self.gateway.dispatch_message("MESSAGE_CREATE", message)
        return message

    async def webhook_says(self, channel: Ref, name: str, content: str, *, mentions_bot: bool = False) -> SimMessage:
        """A webhook (an integration, a bridge from another chat) posts; dispatches MESSAGE_CREATE.

        As on Discord, the author is the webhook itself: a user object with the webhook's id and name,
        flagged ``bot``, and the message carries ``webhook_id``.
        """
        target = self.channel(channel)
        webhook = self.state.add_user(name, bot=True)
        if mentions_bot:
            content = f"<@{self.bot_user.id}> {content}".rstrip()
        mentions = [self.bot_user.id] if mentions_bot else []
        message = self.state.add_message(target, webhook.id, content, mention_ids=mentions, webhook_id=webhook.id)
        await self.gateway.dispatch_message("MESSAGE_CREATE", message)
        return message

    async def user_edits(self, message: Ref, content: str) -> SimMessage:
        """A user edits their own message; dispatches MESSAGE_UPDATE."""
        found = self.message(_id(message))
        self.state.edit_message(found, content=content)
        found.mention_ids = [int(uid) for uid in USER_MENTION.findall(content) if int(uid) in self.state.users]
        await self.gateway.dispatch_message("MESSAGE_UPDATE", found)
        return found

    async def user_reacts(self, message: Ref, user: Ref, emoji: str) -> None:
        """A user adds the unicode emoji ``emoji`` to a message; dispatches MESSAGE_REACTION_ADD."""
        found = self.message(_id(message))
        user_id = _id(user)
        event: dict[str, Any] = {
            "user_id": str(user_id),
            "channel_id": str(found.channel_id),
            "message_id": str(found.id),
            "message_author_id": str(found.author_id),
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "burst_colors": [],
            "type": 0,
        }
        if found.guild_id is not None:
            event["guild_id"] = str(found.guild_id)
            event["member"] = payloads.member(self.state, self.state.guilds[found.guild_id].members[user_id])
        await self.gateway.dispatch("MESSAGE_REACTION_ADD", event, dm=found.guild_id is None)

    async def user_deletes(self, message: Ref) -> None:
        found = self.message(_id(message))
        found.deleted_monotonic = self.clock.monotonic()
        event: dict[str, Any] = {"id": str(found.id), "channel_id": str(found.channel_id)}
        if found.guild_id is not None:
            event["guild_id"] = str(found.guild_id)
        await self.gateway.dispatch("MESSAGE_DELETE", event, dm=found.guild_id is None)

    async def run_slash_command(
        self, channel: Ref, user: Ref, command: str, options: dict[str, Any] | None = None
    ) -> SimInteraction:
        """A user runs ``/command`` (``"kb ask"`` for a subcommand); dispatches INTERACTION_CREATE.

        ``options`` are plain values typed by the registered schema: str/int/float/bool, a
        :class:`SimUser`/:class:`SimChannel`/:class:`SimRole` (or id), a :class:`SimFile` for attachments.
        Returns at once; read the bot's answers from the returned interaction (see ``wait_for_response``).
        """
        return await self._interact(INTERACTION_APPLICATION_COMMAND, channel, user, command, options or {}, None)

    async def autocomplete(
        self,
        channel: Ref,
        user: Ref,
        command: str,
        options: dict[str, Any],
        *,
        focused: str,
        timeout: float = 3.0,
    ) -> list[dict[str, Any]]:
        """A user types into option ``focused``; returns the bot's choices (``[{"name", "value"}]``)."""
        interaction = await self._interact(INTERACTION_AUTOCOMPLETE, channel, user, command, options, focused)
        await self.wait_until(lambda: interaction.autocomplete_choices is not None, timeout, "autocomplete answer")
        return interaction.autocomplete_choices or []

    async def submit_modal(self, interaction: SimInteraction, values: dict[str, str]) -> SimInteraction:
        """The user fills in the modal the bot answered ``interaction`` with (``values`` by text input
        custom_id) and submits it; returns the MODAL_SUBMIT interaction (see ``simulators.discord.modals``)."""
        return await modal_submit.submit_modal(self, interaction, values)

    async def user_clicks(self, message: Ref, user: Ref, custom_id: str) -> SimInteraction:
        """A user clicks button ``custom_id`` on ``message``; dispatches INTERACTION_CREATE of type 3
        (MESSAGE_COMPONENT) with the message, as Discord's client sends it. Returns at once."""
        found = self.message(_id(message))
        clickable(found.components, custom_id)
        target = self.channel(found.channel_id)
        user_id = _id(user)
        self._check_can_post(target, user_id)
        data = {"custom_id": custom_id, "component_type": BUTTON}
        extra = {"message": payloads.message(self.state, found)}
        interaction = await self._deliver(INTERACTION_MESSAGE_COMPONENT, target, user_id, custom_id, data, extra)
        interaction.component_message = found
        return interaction

    async def _interact(
        self, type: int, channel: Ref, user: Ref, command: str, options: dict[str, Any], focused: str | None
    ) -> SimInteraction:
        target = self.channel(channel)
        user_id = _id(user)
        self._check_can_post(target, user_id)
        name, *path = command.lstrip("/").split()
        registered = find_command(self.state, target.guild_id, name)
        if self.config.enforce_command_permissions:
            check_visible(self.state, registered, target, user_id)
        built = build_options(self.state, registered["options"], path, options, channel=target, focused=focused)
        data: dict[str, Any] = {"id": registered["id"], "name": name, "type": 1, "options": built.options}
        if built.resolved:
            data["resolved"] = built.resolved
        if "guild_id" in registered:
            data["guild_id"] = registered["guild_id"]
        return await self._deliver(type, target, user_id, " ".join([name, *path]), data, {})

    async def run_message_command(self, channel: Ref, user: Ref, name: str, message: Ref) -> SimInteraction:
        """A user picks the bot's message command ``name`` (Apps menu) on ``message`` in ``channel``;
        dispatches INTERACTION_CREATE with ``data.type`` 3, ``target_id`` and the message in ``resolved``."""
        target = self.channel(channel)
        user_id = _id(user)
        self._check_can_post(target, user_id)
        registered = find_command(self.state, target.guild_id, name, type=MESSAGE_COMMAND)
        if self.config.enforce_command_permissions:
            check_visible(self.state, registered, target, user_id)
        picked = self.message(message)
        if picked.channel_id != target.id:
            raise SimUsageError("a message command runs on a message of the channel it is used in")
        data: dict[str, Any] = {
            "id": registered["id"],
            "name": name,
            "type": MESSAGE_COMMAND,
            "target_id": str(picked.id),
            "resolved": {"messages": {str(picked.id): payloads.message(self.state, picked)}},
        }
        return await self._deliver(INTERACTION_APPLICATION_COMMAND, target, user_id, name, data, {})

    async def _deliver(
        self, type: int, target: SimChannel, user_id: int, name: str, data: dict[str, Any], extra: dict[str, Any]
    ) -> SimInteraction:
        """Record an interaction and dispatch its INTERACTION_CREATE (``extra`` joins the payload)."""
        interaction_id, token = self.state.ids.next(), self.state.new_interaction_token()
        body = interaction_payload(
            self.state,
            interaction_id=interaction_id,
            token=token,
            type=type,
            data=data,
            channel=target,
            user_id=user_id,
            attachment_size_limit=self.config.upload_size_limit,
        )
        body.update(extra)
        interaction = SimInteraction(
            interaction_id,
            token,
            type,
            name,
            target.id,
            target.guild_id,
            user_id,
            self.clock.monotonic(),
            self.clock.wall(),
            body,
        )
        self.state.interactions[interaction.id] = interaction
        self.state.interactions_by_token[token] = interaction
        await self.gateway.dispatch("INTERACTION_CREATE", body)
        return interaction

    def _check_can_post(self, channel: SimChannel, user_id: int) -> None:
        if user_id not in self.state.users:
            raise SimUsageError(f"unknown user {user_id}")
        if channel.is_dm:
            if channel.recipient_ids != [user_id]:
                raise SimUsageError("only the DM's recipient can post in it")
        elif user_id not in self.state.guilds[channel.guild_id or 0].members:
            raise SimUsageError(f"user {user_id} is not a member of guild {channel.guild_id}")
        if channel.type in (ChannelType.CATEGORY, ChannelType.FORUM):
            raise SimUsageError("users cannot post in a category or directly in a forum")

    # -- faults ------------------------------------------------------------------------------------

    async def send_reconnect(self) -> None:
        """Op 7 RECONNECT to every connected session."""
        await self.gateway.send_reconnect()

    async def invalidate_session(self, *, resumable: bool = False, shard_id: int | None = None) -> None:
        """Op 9 INVALID_SESSION to every connected session, or only to that of shard ``shard_id``."""
        await self.gateway.invalidate_sessions(resumable=resumable, shard_id=shard_id)

    async def drop_connections(self, code: int | None = 4000) -> None:
        """Close gateway sockets (abruptly when ``code`` is None); sessions stay resumable."""
        await self.gateway.drop_connections(code)

    async def redeliver(self, message: Ref) -> None:
        """MESSAGE_CREATE again for a message already posted, as a gateway replays events after a resume,
        and as a bot that restarted may see one again."""
        await self.gateway.dispatch_message("MESSAGE_CREATE", self.message(_id(message)))

    def advance_clock(self, seconds: float) -> None:
        """Move the simulated wall clock (message ages, interaction-token lifetimes) forward."""
        self.clock.advance(seconds)

    # -- lookups -----------------------------------------------------------------------------------

    def channel(self, channel: Ref) -> SimChannel:
        return self.state.channels[_id(channel)]

    def message(self, message: Ref) -> SimMessage:
        return self.state.messages[_id(message)]

    def user(self, user: Ref) -> SimUser:
        return self.state.users[_id(user)]

    def messages(self, channel: Ref, *, include_deleted: bool = False) -> list[SimMessage]:
        """Every message of a channel (users' and the bot's) in order."""
        return self.state.channel_messages(_id(channel), include_deleted=include_deleted)

    def bot_messages(self, channel: Ref, *, include_ephemeral: bool = True) -> list[SimMessage]:
        """The bot's messages in a channel, in order (interaction responses included)."""
        found = [m for m in self.messages(channel) if m.author_id == self.bot_user.id]
        return found if include_ephemeral else [m for m in found if not m.ephemeral]

    def bot_texts(self, channel: Ref) -> list[str]:
        """The final text of every bot message in a channel, in order."""
        return [m.content for m in self.bot_messages(channel)]

    def message_history(self, message: Ref) -> list[MessageVersion]:
        """Every version of a message, oldest first, each with the time it became visible."""
        return list(self.message(message).versions)

    def channel_view(self, channel: Ref, at: float | None = None) -> list[tuple[SimMessage, MessageVersion]]:
        """What the channel showed at monotonic time ``at`` (now when None), oldest message first."""
        moment = self.clock.monotonic() if at is None else at
        shown = []
        for message in self.state.channel_messages(_id(channel), include_deleted=True):
            version = message.version_at(moment)
            if version is not None:
                shown.append((message, version))
        return shown

    def threads(self, parent: Ref) -> list[SimChannel]:
        """Threads under a channel, oldest first."""
        return sorted(
            (c for c in self.state.channels.values() if c.parent_id == _id(parent) and c.is_thread), key=lambda c: c.id
        )

    def thread_of(self, message: Ref) -> SimChannel | None:
        """The thread started from a message, if any."""
        thread_id = self.message(message).thread_id
        return None if thread_id is None else self.state.channels[thread_id]

    def pings(self) -> list[Ping]:
        """Every notification the bot's messages sent (new ones and edits), as Discord resolves their
        mentions against `allowed_mentions`, oldest first."""
        return list(self.state.pings)

    def interactions(self) -> list[SimInteraction]:
        return list(self.state.interactions.values())

    def registered_commands(self, guild: Ref | None = None) -> list[dict[str, Any]]:
        """Commands the bot synced, globally (None) or for one guild."""
        return list(self.state.commands.get(None if guild is None else _id(guild), {}).values())

    def calls(
        self,
        route: str | None = None,
        *,
        method: str | None = None,
        status: int | None = None,
        channel_id: Ref | None = None,
        since: float | None = None,
    ) -> list[CallRecord]:
        """Recorded requests, filtered (``route`` as discord.py writes it, with or without the method)."""
        channel = None if channel_id is None else _id(channel_id)
        return self.log.select(route, method=method, status=status, channel_id=channel, since=since)

    def count_requests(self) -> int:
        return len(self.log.records)

    def count_429(self) -> int:
        """429s served (route, global and hidden sub-limits together)."""
        return sum(self.limiter.served_429.values())

    def typing_calls(self, channel: Ref) -> list[CallRecord]:
        return self.calls("POST /channels/{channel_id}/typing", channel_id=channel)

    def gateway_events(self, name: str | None = None) -> list[GatewayEvent]:
        return [e for e in self.gateway.events if name is None or e.name == name]

    @property
    def identify_count(self) -> int:
        return self.gateway.identify_count

    @property
    def resume_count(self) -> int:
        return self.gateway.resume_count

    @property
    def bot_connected(self) -> bool:
        """Some identified session has a live socket."""
        return bool(self.gateway.live_sessions())

    # -- waiting -----------------------------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], object], timeout: float = 5.0, what: str = "condition") -> None:
        """Wait until ``predicate()`` is truthy, re-checking after every request and dispatch."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.25))

    async def wait_for_bot_message(
        self,
        channel: Ref,
        *,
        count: int = 1,
        predicate: Callable[[SimMessage], bool] | None = None,
        timeout: float = 5.0,
    ) -> list[SimMessage]:
        """Wait until the bot has ``count`` messages (matching ``predicate``) in ``channel``; returns them."""

        def matching() -> list[SimMessage]:
            return [m for m in self.bot_messages(channel) if predicate is None or predicate(m)]

        await self.wait_until(lambda: len(matching()) >= count, timeout, f"{count} bot message(s) in {_id(channel)}")
        return matching()

    async def wait_for_response(
        self, interaction: SimInteraction, *, final: bool = False, timeout: float = 5.0
    ) -> SimInteraction:
        """Wait until the bot acknowledged ``interaction``; with ``final``, until the loading state is gone."""

        def done() -> bool:
            if not interaction.acknowledged:
                return False
            if not final:
                return True
            original = interaction.original_message
            return original is not None and not original.flags & 128

        await self.wait_until(done, timeout, f"a response to /{interaction.command_name}")
        return interaction

    async def wait_for_bot_connected(self, timeout: float = 5.0) -> None:
        await self.wait_until(lambda: self.bot_connected, timeout, "the bot to connect")


class BasicWorld:
    """What :meth:`DiscordSimulator.create_basic_world` made."""

    def __init__(self, guild: SimGuild, channel: SimChannel, user: SimUser) -> None:
        self.guild = guild
        self.channel = channel
        self.user = user


def mention(user: SimUser | int) -> str:
    """``<@id>``, as Discord writes a user mention in message content."""
    return f"<@{_id(user)}>"
