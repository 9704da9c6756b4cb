"""A Discord with limits its headers do not announce: posts and edits in one channel share a hidden 5 per 5 s,
refused with `X-RateLimit-Scope: shared` while each route's headers show room. The bridge learns that shape
from its first such 429 and applies it to every channel, so many answers streaming at once meet it once or
twice, not again at every continuation message of every answer.

Counts are asserted (429s, texts), not seconds: speed under these limits is the benchmark's
(`python -m bench --hidden-limits`).
"""

from __future__ import annotations

import asyncio

import pytest

from adapters.discord.pacing import MESSAGE_CREATE, MESSAGE_EDIT
from bridge.splitting import reassemble
from simulators.discord import MESSAGES_SHARE_ONE_BUDGET, DiscordSimulator, RateLimitConfig, SimulatorConfig
from simulators.model_upstream import long_reply
from tests.adapters.discord.conftest import DiscordBridge, World

HIDDEN = SimulatorConfig(ratelimits=RateLimitConfig(hidden_shared=MESSAGES_SHARE_ONE_BUDGET))
REPLY = 4500  # three messages: two continuations per answer, each one call more in its channel's hidden budget


@pytest.mark.parametrize("discord_sim_config", [HIDDEN])
async def test_ten_answers_meet_a_hidden_shared_limit_at_most_three_times(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    channels = [await sim.create_text_channel(world.guild, f"room-{i}") for i in range(10)]
    prompt = f"go [[reply:{REPLY}]] [[rate:150]]"
    questions = await asyncio.gather(*(sim.user_says(c, world.alice, prompt, mentions_bot=True) for c in channels))
    for question in questions:
        await discord_bridge.wait_answered(question, timeout=60)

    expected = long_reply(REPLY, False)
    for question in questions:
        thread = sim.thread_of(question)
        assert thread is not None
        assert len(sim.bot_messages(thread)) == 3
        assert reassemble(sim.bot_texts(thread)) == expected
    assert 1 <= sim.count_429() <= 3, "met, then learned for every channel"
    rates = discord_bridge.adapter.rates  # type: ignore[union-attr]
    [shape] = rates.hidden.shapes
    assert shape.routes == {MESSAGE_CREATE, MESSAGE_EDIT} and (shape.limit, shape.window) == (5, 5.0)
