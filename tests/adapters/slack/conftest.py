"""Fixtures for the Slack adapter: the real slack-bolt app against the fake Slack and the fake OpenWebUI.

`slack_bridge` gives a started adapter (Socket Mode unless a test asks for HTTP) on a fresh simulator and
database; `restart()` stops it and starts a new one on the same database, as a redeploy would.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from adapters.slack.app import SlackAdapter
from adapters.slack.settings import SlackSettings
from bridge.app import App, open_app
from bridge.runner import launch
from bridge.settings import Settings
from simulators.model_upstream import ModelUpstream, UpstreamRequest
from simulators.openwebui_fake import FakeOpenWebUI
from simulators.openwebui_server import RealOpenWebUI
from simulators.slack import SlackSimulator
from simulators.slack.fixtures import fast_config
from tests.conftest import OwuiTarget, core_settings


class SlackBridge:
    """A bridge process with only the Slack adapter, pointed at `sim` and `owui`."""

    def __init__(self, sim: SlackSimulator, owui: FakeOpenWebUI, upstream: ModelUpstream, db: Path) -> None:
        self.sim = sim
        self.owui = owui
        self.upstream = upstream
        self.db = db
        self.identity: dict[str, Any] = {}  # `IdentitySettings` fields (policy, encryption key) for the next start
        self.trusted_email_header = ""  # `OPENWEBUI_TRUSTED_EMAIL_HEADER` for the next start
        self.app: App | None = None
        self.adapter: SlackAdapter | None = None
        self.sign_in: tuple[str, str] | None = None  # OPENWEBUI_EMAIL and _PASSWORD for the next start
        self.bridge: dict[str, Any] = {}  # more `BridgeSettings` fields for the next start (a shared database)
        self._stack: contextlib.AsyncExitStack | None = None

    def settings(self, **slack: Any) -> Settings:
        values: dict[str, Any] = {
            "bot_token": SecretStr(self.sim.bot_token),
            "app_token": SecretStr(self.sim.app_token),
            "signing_secret": SecretStr(self.sim.signing_secret),
            "api_url": self.sim.api_url,
            "http_host": "127.0.0.1",
            "http_port": 0,
            **slack,
        }
        slack_settings = SlackSettings(_env_file=None, **values)  # type: ignore[call-arg]
        return core_settings(
            self.owui.url,
            self.owui.api_key,
            db_path=self.db,
            shutdown_grace=0,
            platforms={"slack": slack_settings},
            identity=self.identity,
            sign_in=self.sign_in,
            trusted_email_header=self.trusted_email_header,
            **self.bridge,
        )

    async def start(self, **slack: Any) -> SlackAdapter:
        """Open a core on the database and start an adapter (Socket Mode, or HTTP with mode="http")."""
        self._stack = contextlib.AsyncExitStack()
        settings = self.settings(**slack)
        self.app = await self._stack.enter_async_context(open_app(settings))
        self.adapter = SlackAdapter(self.app.core, settings.platforms["slack"])  # type: ignore[arg-type]
        await launch(self.app, "slack", self.adapter)
        if self.adapter.settings.mode == "socket":
            await self.sim.wait_socket_connected()
        else:
            self.sim.use_http(f"http://127.0.0.1:{self.adapter.http_port}{self.adapter.settings.http_path}")
        return self.adapter

    async def stop(self) -> None:
        if self.adapter is not None:
            await self.adapter.stop(0)
            self.adapter = None
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None
        self.sim.use_http(None)

    async def restart(self, **slack: Any) -> SlackAdapter:
        await self.stop()
        return await self.start(**slack)

    async def settle(self, timeout: float = 15.0) -> None:
        """Wait until every delivery is acknowledged and no turn or command is running (for 0.15 s)."""
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            busy = bool(self.adapter and self.adapter.tasks) or any(
                not d.acked.is_set() and d.attempts and d.attempts[-1].outcome != "http_error"
                for d in self.sim.deliveries()
            )
            now = time.monotonic()
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= 0.15:
                return
            await asyncio.sleep(0.02)
        raise AssertionError("the bridge did not settle in time")

    def asked(self, text: str) -> list[UpstreamRequest]:
        """The model requests whose question (last user message) contains `text`."""
        return self.upstream.asked(text)

    def reply_to(self, text: str) -> str:
        """What the model answered to the last question containing `text`."""
        requests = self.asked(text)
        assert requests, f"the model was never asked {text!r}"
        return requests[-1].reply


@pytest.fixture
async def slack_bridge(
    fake_owui: FakeOpenWebUI, model_upstream: ModelUpstream, tmp_path: Path
) -> AsyncIterator[SlackBridge]:
    """A started Socket Mode bridge on a fresh simulator and database."""
    fake_owui.down = False
    async with SlackSimulator(config=fast_config()) as sim:
        bridge = SlackBridge(sim, fake_owui, model_upstream, tmp_path / "bridge.db")
        await bridge.start()
        try:
            yield bridge
        finally:
            await bridge.stop()


@pytest.fixture
async def slack_bridge_on_real_owui(
    real_owui: RealOpenWebUI, model_upstream: ModelUpstream, tmp_path: Path
) -> AsyncIterator[SlackBridge]:
    """`slack_bridge` against the session's real OpenWebUI 0.12.4 (contract tests): the bridge is given only
    its URL and API key, so the fake's test doors (`down`, `chats`, `files`) are not there."""
    target = OwuiTarget("real", real_owui.base_url, real_owui.api_key, model_upstream, real=real_owui)
    async with SlackSimulator(config=fast_config()) as sim:
        bridge = SlackBridge(sim, target, model_upstream, tmp_path / "bridge.db")  # type: ignore[arg-type]
        await bridge.start()
        try:
            yield bridge
        finally:
            await bridge.stop()
