"""Discord answering a 429 storm or 5xx: the bridge backs off as told, and the answer still arrives whole."""

from __future__ import annotations

from simulators.discord import DiscordSimulator
from tests.adapters.discord.conftest import DiscordBridge, World

EDIT = "PATCH /channels/{channel_id}/messages/{message_id}"
POST = "POST /channels/{channel_id}/messages"


async def final_text(sim: DiscordSimulator, question: object) -> str:
    thread = sim.thread_of(question)
    assert thread is not None
    return "".join(sim.message_history(m)[-1].content for m in sim.bot_messages(thread))


async def test_a_429_storm_on_edits_delays_but_loses_nothing(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    await discord_bridge.start()
    discord_sim.faults.add(EDIT, 429, count=3, retry_after=0.4)
    question = await discord_bridge.ask(world.general, world.alice, "storm [[reply:600]] [[rate:60]]", timeout=30)
    assert await final_text(discord_sim, question) == discord_bridge.upstream.asked("storm [[reply:600]]")[-1].reply
    assert len(discord_sim.faults.served) == 3
    refused = [c for c in discord_sim.calls(route=EDIT) if c.status == 429]
    for call in refused:  # after each 429 the bucket stays closed for the time Discord asked
        later = [c for c in discord_sim.calls(route=EDIT) if c.at_monotonic > call.at_monotonic]
        assert not later or later[0].at_monotonic - call.at_monotonic >= 0.35


async def test_server_errors_are_retried(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    await discord_bridge.start()
    discord_sim.faults.add(POST, 500, count=1)
    discord_sim.faults.add(EDIT, 502, count=1)
    question = await discord_bridge.ask(world.general, world.alice, "shaky [[reply:400]] [[rate:60]]", timeout=30)
    assert await final_text(discord_sim, question) == discord_bridge.upstream.asked("shaky [[reply:400]]")[-1].reply
    assert len(discord_sim.faults.served) == 2
