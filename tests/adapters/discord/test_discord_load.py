"""Many answers streaming at once stay within Discord's limits: zero 429s, each answer seen growing.

What is asserted are counts (429s, versions, requests), not seconds: the edit interval itself is pinned on
virtual time in tests/bridge/test_live_reply.py, and speed under load is the benchmark's (`python -m bench`).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from bridge.splitting import reassemble
from simulators.discord import DiscordSimulator, RateLimitConfig, RouteLimit, SimChannel, SimMessage, SimulatorConfig
from simulators.model_upstream import long_reply
from tests.adapters.discord.conftest import DiscordBridge, World

EDIT = "PATCH /channels/{channel_id}/messages/{message_id}"


async def _ten_conversations(bridge: DiscordBridge, world: World, prompt: str) -> list[tuple[SimChannel, SimMessage]]:
    sim = bridge.sim
    channels = [await sim.create_text_channel(world.guild, f"room-{i}") for i in range(10)]
    questions = await asyncio.gather(*(sim.user_says(c, world.alice, prompt, mentions_bot=True) for c in channels))
    for question in questions:
        await bridge.wait_answered(question, timeout=30)
    return list(zip(channels, questions, strict=True))


async def test_ten_conversations_stream_at_once_without_a_429(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    started = len(sim.calls())
    conversations = await _ten_conversations(discord_bridge, world, "go [[reply:1500]] [[rate:100]]")

    expected = long_reply(1500, False)
    for _, question in conversations:
        thread = sim.thread_of(question)
        assert thread is not None
        [answer] = sim.bot_messages(thread)
        assert answer.content == expected
        assert len(answer.versions) >= 3, "each answer is seen growing"
    assert sim.count_429() == 0
    assert len(sim.calls()) - started < 200


FAST_EDITS = SimulatorConfig(ratelimits=RateLimitConfig().with_routes(message_edit=RouteLimit(5, 1.0)))


@pytest.mark.parametrize("discord_sim_config", [FAST_EDITS])
async def test_the_global_budget_holds_when_channels_allow_fast_edits(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """Ten channels at five edits a second each would be the whole global 50/s: the bridge keeps under it (how
    much of the budget it uses while it binds is a figure of the benchmark)."""
    sim = discord_sim
    await discord_bridge.start(edit_interval=0.2)
    conversations = await _ten_conversations(discord_bridge, world, "go [[reply:3000]] [[rate:150]]")
    expected = long_reply(3000, False)
    for _, question in conversations:
        thread = sim.thread_of(question)
        assert thread is not None and reassemble(sim.bot_texts(thread)) == expected
    assert sim.count_429() == 0


async def test_every_request_is_counted_once_in_the_global_budget(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """A reply's posts and edits take their global grant while pacing, before the request exists; the trace
    hook must then let exactly that request through. Counted twice, the bridge would stream at half the rate
    Discord allows; not at all, it could pass the 50/s limit."""
    await discord_bridge.start()
    rates = discord_bridge.adapter.rates  # type: ignore[union-attr]
    granted, started = rates.global_budget.granted, time.monotonic()
    await _ten_conversations(discord_bridge, world, "go [[reply:1500]] [[rate:100]]")
    requests = [
        c for c in discord_sim.calls(since=started) if c.path.startswith("/api/") and "/webhooks/" not in c.path
    ]
    assert sum(c.route == EDIT for c in requests) >= 20, "the replies are edited as they grow"
    assert rates.global_budget.granted - granted == len(requests)
