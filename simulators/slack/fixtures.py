"""Helpers for tests that run a real slack-bolt app against the fake Slack: a quick configuration and the
app connected over Socket Mode or HTTP. The pytest fixtures are in `pytest_plugin`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from .config import SimConfig
from .server import SlackSimulator


def fast_config(**overrides: object) -> SimConfig:
    """Slack's behaviour with retries compressed to fractions of a second, for quick tests."""
    config = SimConfig(ack_timeout=1.0, retry_delays=(0.0, 0.2, 0.5), connect_wait=2.0)
    for name, value in overrides.items():
        setattr(config, name, value)
    return config


@contextlib.asynccontextmanager
async def socket_mode_app(sim: SlackSimulator, app: AsyncApp) -> AsyncIterator[AsyncSocketModeHandler]:
    """Connect `app` to the simulator over Socket Mode for the duration of the block."""
    handler = AsyncSocketModeHandler(app, sim.app_token)
    await handler.connect_async()
    try:
        await sim.wait_socket_connected()
        yield handler
    finally:
        await handler.close_async()


@contextlib.asynccontextmanager
async def http_mode_app(sim: SlackSimulator, app: AsyncApp, path: str = "/slack/events") -> AsyncIterator[str]:
    """Serve `app` over HTTP on a free loopback port and point the simulator's delivery at it."""
    runner = web.AppRunner(app.web_app(path=path), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}{path}"
    sim.use_http(url)
    try:
        yield url
    finally:
        sim.use_http(None)
        await runner.cleanup()
