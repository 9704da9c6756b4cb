"""Running a real discord.py client against the simulator inside a test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

import discord

from simulators.discord.server import DiscordSimulator

ClientT = TypeVar("ClientT", bound=discord.Client)


@contextlib.asynccontextmanager
async def running_client(sim: DiscordSimulator, client: ClientT, *, timeout: float = 5.0) -> AsyncIterator[ClientT]:
    """Start ``client`` with the simulator's token, yield once it is ready, close it afterwards.

    The simulator must already be patched in (``sim.patch_discord()``). Build the client with
    ``guild_ready_timeout=0.1`` or so: discord.py otherwise waits 2 s after the last GUILD_CREATE before
    it fires ``on_ready``.
    """
    task = asyncio.create_task(client.start(sim.token))
    waiter = asyncio.create_task(client.wait_until_ready())
    try:
        done, _ = await asyncio.wait({task, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()  # re-raise why the client stopped before it was ready
            raise RuntimeError("discord.py client stopped before it was ready")
        if waiter not in done:
            raise TimeoutError(f"discord.py client was not ready within {timeout}s")
        yield client
    finally:
        waiter.cancel()
        await client.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout)


def bot_client(*, message_content: bool = True, **options: object) -> discord.Client:
    """A ``discord.Client`` with default intents (+ message content) that gets ready quickly."""
    intents = discord.Intents.default()
    intents.message_content = message_content
    return discord.Client(intents=intents, guild_ready_timeout=0.1, **options)  # type: ignore[arg-type]
