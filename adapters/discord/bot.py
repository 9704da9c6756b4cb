"""The Discord adapter: a discord.py client whose messages and slash commands feed the core.

Event handlers only decide: each answer runs in a task the adapter keeps, so the gateway is never held
up by a slow model, and a shutdown can let running answers finish before the client closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Iterator
from functools import partial
from typing import Any

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord import context_menus, linking, prompts
from adapters.discord.access import Access, asker_of
from adapters.discord.commands import SlashCommands
from adapters.discord.components import ControlButton, Dispatcher
from adapters.discord.controls import AnswerControls
from adapters.discord.events import (
    PLATFORM,
    Action,
    Plan,
    ReplyChains,
    plan_for,
    readable_text,
    thread_key,
    thread_name,
)
from adapters.discord.files import AttachmentFetcher
from adapters.discord.pacing import DiscordRateLimits, global_budget_name
from adapters.discord.recovery import mark_interrupted
from adapters.discord.settings import DiscordSettings
from adapters.discord.surface import NO_PINGS, upload_limit
from adapters.discord.titles import ThreadRenames
from bridge import texts
from bridge.assistant import read_prefix
from bridge.core import Core
from bridge.errors import StoreError, UserFacingError
from bridge.messages import IncomingMessage, InterruptedTurn
from bridge.tasks import BackgroundTasks

log = logging.getLogger(__name__)

# The bridge never joins voice: discord.py's start-up warnings about missing voice libraries are noise.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False

EMPTY_MENTION = texts.empty_message("attach")
NO_THREAD = "⚠️ I could not open a thread for the answer ({}); I need the Create Public Threads permission here."
SEEN_MESSAGES = 10_000
READY_TIMEOUT = 60.0


@contextlib.contextmanager
def discord_endpoints(settings: DiscordSettings) -> Iterator[None]:
    """Point discord.py at the configured REST base and gateway (Discord's own by default), then restore.

    These two class attributes are the only places discord.py 2.7 reads its endpoints from; a plain
    `Client` connects straight to `DEFAULT_GATEWAY` and resumes at the URL READY gives.
    """
    saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    Route.BASE = settings.api_url
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved


class BridgeClient(discord.Client):
    """discord.py's client with the adapter's handlers; commands are synced once logged in."""

    def __init__(self, adapter: DiscordAdapter, **options: Any) -> None:
        intents = discord.Intents.default()
        intents.message_content = True  # privileged: enable "Message Content Intent" in the Developer Portal
        options.setdefault("max_ratelimit_timeout", 30.0)  # fail instead of sleeping minutes on a hidden limit
        # No message of the bot pings anyone unless a call says otherwise (a model's "@everyone" stays text).
        options.setdefault("allowed_mentions", NO_PINGS)
        super().__init__(intents=intents, http_trace=adapter.rates.trace_config(), **options)
        self.adapter = adapter
        self.tree = app_commands.CommandTree(self)
        self.components = Dispatcher()
        """Where every click on a bridge button goes (`adapters.discord.components`)."""
        self._connected = False

    @property
    def gateway_live(self) -> bool:
        """The gateway connection is up (between a connect or resume and the next disconnect)."""
        return self._connected

    async def setup_hook(self) -> None:
        """Logged in, not yet connected: commands are synced before any can be used, and clicks on the
        bridge's buttons, also on messages posted before this start, are routed."""
        self.add_dynamic_items(ControlButton)
        synced = await self.tree.sync()
        log.info("Discord slash commands synced: %s", ", ".join(f"/{c.name}" for c in synced))

    async def on_ready(self) -> None:
        sharded = self.adapter.settings.shards
        where = f" on shard(s) {', '.join(map(str, sharded[0]))} of {sharded[1]}" if sharded else ""
        log.info("Discord: connected as %s to %d server(s)%s", self.user, len(self.guilds), where)

    async def on_connect(self) -> None:
        self._connected = True

    async def on_resumed(self) -> None:
        self._connected = True

    async def on_disconnect(self) -> None:
        self._connected = False

    async def on_message(self, message: discord.Message) -> None:
        await self.adapter.on_message(message)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        if self.adapter.accepting:
            self.adapter.controls.on_edit(payload.message)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        if self.adapter.accepting:
            self.adapter.controls.on_reaction(payload)


class ShardedBridgeClient(BridgeClient, discord.AutoShardedClient):
    """The same client running only some of the bot's shards (`DISCORD_SHARD_IDS` of `DISCORD_SHARD_COUNT`),
    one gateway connection each: Discord sends it the events of the servers on those shards
    (`(guild_id >> 22) % shard_count`) and direct messages only on shard 0, so processes that run the other
    shards share the servers without answering anything twice."""

    @property
    def gateway_live(self) -> bool:
        """Every shard of this process connected: with one down, its servers would go unanswered.

        discord.py's per-shard state, not the connect/disconnect events: those come without a shard id, so
        one shard's reconnect would hide another's outage."""
        shards = self.shards
        return set(shards) == set(self.shard_ids or ()) and not any(shard.is_closed() for shard in shards.values())


class DiscordAdapter:
    """One bot connection, following the adapter contract (`bridge.adapter`).

    `client_options` go to `discord.Client` (tests pass `guild_ready_timeout`).
    """

    def __init__(self, core: Core, settings: DiscordSettings, **client_options: Any) -> None:
        self.core = core
        self.settings = settings
        self.rates = DiscordRateLimits()
        core.budgets.register(
            global_budget_name(settings.bot_token.get_secret_value()),
            lambda: core.turns_in_progress("discord"),
            self.rates.global_budget.share,
        )
        self.access = Access(self.settings)
        self.files = AttachmentFetcher(core.max_file_bytes, settings.api_url)
        self.tasks = BackgroundTasks("Discord")
        self.renames = ThreadRenames()
        self.client = _client(self, settings, client_options)
        self.commands = SlashCommands(
            core, settings, access=self.access, rates=self.rates, files=self.files, tasks=self.tasks, client=self.client
        )
        self.commands.register(self.client.tree)
        if core.linking:
            linking.register(self.client.tree, core, self.access)
        self.controls = AnswerControls(
            core,
            settings,
            access=self.access,
            rates=self.rates,
            tasks=self.tasks,
            client=self.client,
            remember_in_chain=lambda posted, root: self.chains.remember(posted, root),
        )
        self.controls.register(self.client.components)
        prompts.register(self.client.tree, self.commands, core)
        context_menus.register(self.client.tree, self.commands, core, self.files)
        self._chains: ReplyChains | None = None
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._accepting = True
        self._runner: asyncio.Task[None] | None = None
        self._endpoints: contextlib.ExitStack | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self, timeout: float = READY_TIMEOUT) -> None:
        """Log in, connect, sync commands; return once Discord has sent the servers."""
        self._endpoints = contextlib.ExitStack()
        self._endpoints.enter_context(discord_endpoints(self.settings))
        token = self.settings.bot_token.get_secret_value()
        self._runner = asyncio.create_task(self.client.start(token), name="discord-client")
        ready = asyncio.create_task(self.client.wait_until_ready())
        try:
            done, _ = await asyncio.wait({self._runner, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if self._runner in done:
            await self._close()
            _raise_start_failure(self._runner, self.settings.api_url)
        if ready not in done:
            await self._close()
            raise UserFacingError(f"Discord did not get ready within {timeout:.0f} s; check the network and token.")

    def ready(self) -> bool:
        """For `/readyz`: logged in with a live gateway connection."""
        return self.client.gateway_live and self.client.is_ready() and not self.client.is_closed()

    async def mark_interrupted(self, turn: InterruptedTurn, note: str) -> list[str]:
        return await mark_interrupted(self.client, turn, note)

    async def stop(self, grace: float) -> None:
        """Take no new messages, let running answers finish for `grace` seconds, then close the client."""
        self._accepting = False
        await self.tasks.drain(grace)
        await self._close()

    async def _close(self) -> None:
        await self.client.close()
        if self._runner is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._runner, 10)
        await self.files.close()
        if self._endpoints is not None:
            self._endpoints.close()
            self._endpoints = None

    async def wait_closed(self) -> None:
        """Until the client stops by itself (a fatal gateway error is raised here); cancelling leaves it running."""
        assert self._runner is not None, "start() first"
        await asyncio.shield(self._runner)

    @property
    def accepting(self) -> bool:
        """Whether new work is taken (not after `stop` began)."""
        return self._accepting

    @property
    def running_answers(self) -> int:
        """Answers (and slash commands that stream) still running."""
        return len(self.tasks)

    def has_seen(self, message_id: int) -> bool:
        """Whether the message was taken up (answered, refused or being answered)."""
        return message_id in self._seen

    # --- messages -------------------------------------------------------------------------------

    @property
    def chains(self) -> ReplyChains:
        if self._chains is None:
            assert self.client.user is not None
            self._chains = ReplyChains(self.client.user.id)
        return self._chains

    async def on_message(self, message: discord.Message) -> None:
        me = self.client.user
        if not self._accepting or me is None or message.id in self._seen:
            return
        plan = await plan_for(message, me, self.settings.reply_mode, self.chains)
        if plan is None:
            return
        self._seen[message.id] = None  # a replay within this process stops here, before the store is asked
        while len(self._seen) > SEEN_MESSAGES:
            self._seen.popitem(last=False)
        self.tasks.spawn(self._answer(message, plan), name=f"discord-answer-{message.id}")

    async def _first_time(self, message: discord.Message) -> bool:
        """Whether the bridge takes `message` up now for the first time, also across restarts (the store
        remembers): a replayed mention must not try to open its thread again (Discord refuses, and the bot
        would blame a missing permission) nor repeat a refusal. With the database failing the message is
        taken up, and the turn tells the asker what failed."""
        try:
            return await self.core.claim_event(PLATFORM, f"taken:{message.id}")
        except StoreError as exc:
            log.warning("Discord: could not record message %s as taken up: %s", message.id, exc)
            return True

    async def _answer(self, message: discord.Message, plan: Plan) -> None:
        me = self.client.user
        assert me is not None
        if not await self._first_time(message):
            log.info("Discord: message %s was taken up before; its replay is ignored", message.id)
            return
        refusal = self.access.refusal(asker_of(message.author, plan.channel, message.guild))
        if refusal is not None:
            await self._tell(message, f"⛔ {refusal}")
            return
        unlinked = await self.core.identity_refusal(PLATFORM, str(message.author.id))
        if unlinked:
            await self._tell_privately(message, unlinked)
            return
        text = readable_text(message, me)
        attachments = tuple(self.files.attachment(item) for item in message.attachments)
        if not text and not attachments:
            await self._tell(message, EMPTY_MENTION)
            return
        channel, key, title = plan.channel, plan.key, ""
        if plan.action is Action.OPEN_THREAD:
            fallback = attachments[0].filename if attachments else message.author.display_name
            title = thread_name(read_prefix(text).text, fallback=fallback)  # named for the question, not `!search`
            try:
                thread = await message.create_thread(
                    name=title,
                    auto_archive_duration=self.settings.thread_archive_minutes,  # type: ignore[arg-type]
                )
            except discord.HTTPException as exc:
                await self._tell(message, NO_THREAD.format(exc.text or exc.status))
                return
            channel, key = thread, thread_key(thread)
        assert key is not None
        own_thread = isinstance(channel, discord.Thread) and channel.owner_id == me.id
        surface = self.controls.surface(
            channel,
            key,
            str(message.id),
            reply_to=message if plan.action is Action.REPLY else None,
            rename=partial(self.renames.rename, channel) if own_thread else None,  # type: ignore[arg-type]
            max_upload_bytes=upload_limit(message.guild),
        )
        incoming = IncomingMessage(
            key=key,
            event_id=str(message.id),
            author_id=str(message.author.id),
            author_name=message.author.display_name,
            text=text,
            attachments=attachments,
            new_conversation=plan.action is Action.OPEN_THREAD,
            title_hint=title,
        )
        outcome = await self.core.handle(incoming, surface)
        if outcome.private_note:
            await self._tell_privately(message, outcome.private_note)

    async def _tell_privately(self, message: discord.Message, text: str) -> None:
        """A note for the author alone (their OpenWebUI link): a DM; where they take no DMs from the bot, a
        reply (such notes name no key or account, only what to do)."""
        try:
            await message.author.send(f"⛔ {text}", allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            log.info("Discord: could not DM user %s (%s); replying instead", message.author.id, exc.code)
            await self._tell(message, f"⛔ {text}")

    async def _tell(self, message: discord.Message, text: str) -> None:
        """A short answer outside any conversation (a refusal, a hint), as a reply to the message."""
        try:
            await message.reply(text, mention_author=False, allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            log.warning("Discord: could not answer message %s: %s", message.id, exc)


def _client(adapter: DiscordAdapter, settings: DiscordSettings, options: dict[str, Any]) -> BridgeClient:
    """One connection as before, or this process's shards when `DISCORD_SHARD_COUNT` is set."""
    if settings.shards is None:
        return BridgeClient(adapter, **options)
    shard_ids, shard_count = settings.shards
    return ShardedBridgeClient(adapter, shard_ids=shard_ids, shard_count=shard_count, **options)


def _raise_start_failure(runner: asyncio.Task[None], api_url: str) -> None:
    """Turn why the client stopped into one sentence for whoever starts the bridge."""
    try:
        runner.result()
    except (aiohttp.ClientConnectionError, OSError) as exc:
        raise UserFacingError(f"Cannot reach Discord at {api_url} ({type(exc).__name__}); check the network.") from None
    except discord.LoginFailure:
        raise UserFacingError(
            "Discord refused DISCORD_BOT_TOKEN; copy the token again from the Developer Portal (Bot > Reset Token)."
        ) from None
    except discord.PrivilegedIntentsRequired:
        raise UserFacingError(
            "Discord refused the Message Content intent; enable it in the Developer Portal "
            "(Bot > Privileged Gateway Intents > Message Content Intent)."
        ) from None
    raise UserFacingError("The Discord client stopped before it was ready; see the log above.")
