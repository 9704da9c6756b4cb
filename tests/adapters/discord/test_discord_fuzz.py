"""Fuzz: a couple of hundred generated hostile answers (`tests.hostile_texts`) through the real discord.py
adapter, checked against what the simulated Discord accepted, showed and notified.

The simulator refuses every message over Discord's limits (2,000 characters of content, the embed's
4,096 and 6,000) with a 400, and resolves mentions against `allowed_mentions` as Discord does, so a
breach or a ping shows. The same seed as Slack's fuzz test: the same texts.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from simulators.discord import (
    DiscordSimulator,
    RateLimitConfig,
    RouteLimit,
    SimChannel,
    SimMessage,
    SimulatorConfig,
    SimUser,
)
from tests.adapters.discord.conftest import DiscordBridge, World
from tests.adapters.discord.test_discord_hostile import MARKDOWN_LINK
from tests.hostile_texts import SOURCE_HOST, Case, answered_exactly_or_with_a_note, batches, cases, errors


@pytest.fixture
def discord_sim_config() -> SimulatorConfig:
    """Rate limits are not what this test is about: a wide per-route budget, so a thread's twelve parts
    do not wait for five messages per five seconds (the global 50 a second stays)."""
    wide = RouteLimit(100, 1.0)
    return SimulatorConfig(ratelimits=RateLimitConfig().with_routes(message_create=wide, message_edit=wide))


CHANNELS = 5


@pytest.mark.slow
async def test_hostile_answers_stay_within_limits_ping_nobody_and_read_as_written(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    sim = discord_sim
    channels = [world.general] + [await sim.create_text_channel(world.guild, f"c{n}") for n in range(CHANNELS - 1)]
    await discord_bridge.start()
    caplog.set_level(logging.WARNING)
    generated = cases()
    asked: list[tuple[int, SimMessage]] = []
    try:
        for batch in batches(generated):
            questions = await asyncio.gather(
                *(_ask(discord_bridge, case, channels[case.index % CHANNELS], world.alice) for case in batch)
            )
            asked += [(case.index, question) for case, question in zip(batch, questions, strict=True)]
            for question in questions:
                await discord_bridge.wait_answered(question, timeout=60)
    finally:
        discord_bridge.owui.planted_sources.clear()

    refused = [f"{c.method} {c.route}: {c.status}" for c in sim.calls() if c.status >= 400]
    assert refused == []
    assert sim.pings() == []
    assert errors(caplog.records) == []
    for index, question in asked:
        case = generated[index]
        thread = sim.thread_of(question)
        assert thread is not None, f"case {index}"
        answer = sim.bot_messages(thread)
        assert answered_exactly_or_with_a_note([m.content for m in answer], case.text), f"case {index}"
        embeds = answer[-1].embeds
        assert len(embeds) == bool(case.sources), f"case {index}"
        for embed in embeds:
            links = MARKDOWN_LINK.findall(embed["description"])
            assert all(url.startswith(f"https://{SOURCE_HOST}/") for _, url in links), f"case {index}: {links}"


async def _ask(bridge: DiscordBridge, case: Case, channel: SimChannel, user: SimUser) -> SimMessage:
    return await bridge.sim.user_says(channel, user, case.question(bridge.upstream, bridge.owui), mentions_bot=True)
