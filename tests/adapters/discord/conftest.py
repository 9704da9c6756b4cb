"""Fixtures for the Discord adapter: the real discord.py client against the Discord simulator and the fake
OpenWebUI.

`discord_bridge` gives a started adapter on a fresh simulator world and database; `restart()` stops it
and starts a new client on the same database, as a redeploy would.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from adapters.discord.bot import DiscordAdapter
from adapters.discord.settings import DiscordSettings
from bridge.app import App, open_app
from bridge.runner import launch
from bridge.settings import Settings
from simulators.discord import DiscordSimulator, SimChannel, SimGuild, SimMessage, SimUser
from simulators.model_upstream import ModelUpstream
from simulators.openwebui_fake import FakeOpenWebUI
from simulators.openwebui_server import RealOpenWebUI
from tests.conftest import OwuiTarget, core_settings


@dataclass
class World:
    guild: SimGuild
    general: SimChannel
    alice: SimUser


class DiscordBridge:
    """A bridge with only the Discord adapter, pointed at `sim` and `owui`."""

    def __init__(self, sim: DiscordSimulator, owui: FakeOpenWebUI, upstream: ModelUpstream, db: Path) -> None:
        self.sim = sim
        self.owui = owui
        self.upstream = upstream
        self.db = db
        self.options: dict[str, Any] = {}  # BRIDGE_* settings (`BridgeSettings` fields) for the next start
        self.identity: dict[str, Any] = {}  # `IdentitySettings` fields (policy, encryption key) for the next start
        self.sign_in: tuple[str, str] | None = None  # OPENWEBUI_EMAIL and _PASSWORD for the next start
        self.app: App | None = None
        self.adapter: DiscordAdapter | None = None
        self._stack: contextlib.AsyncExitStack | None = None

    def settings(self, **discord: Any) -> Settings:
        values: dict[str, Any] = {
            "bot_token": SecretStr(self.sim.token),
            "api_url": self.sim.rest_base,
            "gateway_url": self.sim.gateway_url,
            **discord,
        }
        discord_settings = DiscordSettings(_env_file=None, **values)  # type: ignore[call-arg]
        return core_settings(
            self.owui.url,
            self.owui.api_key,
            db_path=self.db,
            shutdown_grace=5,
            platforms={"discord": discord_settings},
            identity=self.identity,
            sign_in=self.sign_in,
            **self.options,
        )

    async def start(self, **discord: Any) -> DiscordAdapter:
        """Open the bridge on the database and start an adapter as `bridge run` does (then recovery);
        `discord` overrides DISCORD_* settings."""
        self._stack = contextlib.AsyncExitStack()
        settings = self.settings(**discord)
        self.app = await self._stack.enter_async_context(open_app(settings))
        self.adapter = DiscordAdapter(self.app.core, settings.platforms["discord"], guild_ready_timeout=0.1)
        await launch(self.app, "discord", self.adapter)
        return self.adapter

    async def stop(self) -> None:
        if self.adapter is not None:
            await self.adapter.stop(grace=5)
            self.adapter = None
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None

    async def restart(self, **discord: Any) -> DiscordAdapter:
        await self.stop()
        return await self.start(**discord)

    async def ask(self, channel: SimChannel, user: SimUser, text: str, *, timeout: float = 10.0) -> SimMessage:
        """`user` mentions the bot with `text` in `channel`; returns the user's message once answered."""
        message = await self.sim.user_says(channel, user, text, mentions_bot=True)
        await self.wait_answered(message, timeout=timeout)
        return message

    async def wait_answered(self, message: SimMessage, *, timeout: float = 10.0) -> None:
        """Until the adapter has seen `message` and finished every answer it was running."""

        def done() -> bool:
            adapter = self.adapter
            return adapter is not None and adapter.has_seen(message.id) and adapter.running_answers == 0

        await self.sim.wait_until(done, timeout, f"the answer to message {message.id}")

    async def wait_idle(self, *, timeout: float = 10.0) -> None:
        """Until no answer (message or slash command) is running."""
        await self.sim.wait_until(lambda: self.adapter is not None and self.adapter.running_answers == 0, timeout)


@pytest.fixture
async def world(discord_sim: DiscordSimulator) -> World:
    sim = discord_sim
    guild = await sim.create_guild("Test Guild")
    general = await sim.create_text_channel(guild, "general")
    alice = await sim.create_user("alice")
    await sim.add_member(guild, alice)
    return World(guild, general, alice)


@pytest.fixture
async def discord_bridge(
    discord_sim: DiscordSimulator,
    world: World,
    fake_owui: FakeOpenWebUI,
    model_upstream: ModelUpstream,
    tmp_path: Path,
) -> AsyncIterator[DiscordBridge]:
    fake_owui.down = False
    bridge = DiscordBridge(discord_sim, fake_owui, model_upstream, tmp_path / "bridge.db")
    try:
        yield bridge
    finally:
        fake_owui.down = False
        await bridge.stop()


@pytest.fixture
async def discord_bridge_on_real_owui(
    discord_sim: DiscordSimulator,
    world: World,
    real_owui: RealOpenWebUI,
    model_upstream: ModelUpstream,
    tmp_path: Path,
) -> AsyncIterator[DiscordBridge]:
    """`discord_bridge` against the session's real OpenWebUI 0.12.4 (contract tests): the bridge is given
    only its URL and API key, so the fake's test doors (`down`, `chats`, `files`) are not there."""
    target = OwuiTarget("real", real_owui.base_url, real_owui.api_key, model_upstream, real=real_owui)
    bridge = DiscordBridge(discord_sim, target, model_upstream, tmp_path / "bridge.db")  # type: ignore[arg-type]
    try:
        yield bridge
    finally:
        await bridge.stop()
