"""When things go wrong: OpenWebUI down, a stop during an answer, answers a crash cut off, a bad token."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from pydantic import SecretStr

from adapters.discord.bot import DiscordAdapter
from bridge.app import open_app
from bridge.errors import UserFacingError
from bridge.messages import ConversationKey
from bridge.runner import serve
from bridge.texts import INTERRUPTED
from simulators.discord import DiscordSimulator, SimulatorConfig
from simulators.model_upstream import long_reply
from tests.adapters.discord.conftest import DiscordBridge, World


async def test_openwebui_down_mid_conversation_then_back(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    question = await discord_bridge.ask(world.general, world.alice, "remember MARKER-before")
    thread = sim.thread_of(question)
    assert thread is not None

    discord_bridge.owui.down = True
    failed = await sim.user_says(thread, world.alice, "are you there?")
    await discord_bridge.wait_answered(failed)
    notice = sim.bot_texts(thread)[-1]
    assert notice.startswith("⚠️ ") and "unreachable" in notice and "try again" in notice

    discord_bridge.owui.down = False
    back = await sim.user_says(thread, world.alice, "and now?")
    await discord_bridge.wait_answered(back)
    assert sim.bot_texts(thread)[-1] == "echo: and now? [markers: MARKER-before]", "the same chat goes on"


async def test_with_the_database_refusing_writes_a_mention_still_gets_a_sentence(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """The bridge cannot record that it took the message up: it answers anyway, saying what failed."""
    sim = discord_sim
    await discord_bridge.start()
    assert discord_bridge.app is not None
    store = discord_bridge.app.store
    await store._run(lambda: store._sql.execute("PRAGMA query_only = ON"))
    question = await discord_bridge.ask(world.general, world.alice, "is anyone keeping notes?")
    thread = sim.thread_of(question)
    assert thread is not None
    [notice] = sim.bot_texts(thread)
    assert notice.startswith("⚠️ ") and "database" in notice


@pytest.mark.parametrize("discord_sim_config", [SimulatorConfig(max_edit_age=1.0)])
async def test_a_message_discord_will_not_edit_any_more_is_left_and_the_answer_goes_on(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """Discord refuses edits of old messages (30046; here after one second): the answer moves on."""
    sim = discord_sim
    await discord_bridge.start()
    question = await discord_bridge.ask(world.general, world.alice, "long [[reply:600]] [[rate:40]]")
    thread = sim.thread_of(question)
    assert thread is not None
    refused = sim.calls("PATCH /channels/{channel_id}/messages/{message_id}", status=400)
    assert refused and all(c.error_code == 30046 for c in refused)
    texts = sim.bot_texts(thread)
    assert len(texts) >= 2 and texts[-1] == long_reply(600, False)
    assert long_reply(600, False).startswith(texts[0])


async def test_stop_lets_a_running_answer_finish(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    adapter = await discord_bridge.start()
    question = await sim.user_says(world.general, world.alice, "slow [[reply:300]] [[rate:30]]", mentions_bot=True)
    await sim.wait_until(lambda: sim.thread_of(question) is not None and sim.bot_messages(sim.thread_of(question)))
    await adapter.stop(grace=10)
    thread = sim.thread_of(question)
    assert thread is not None
    assert sim.bot_texts(thread) == [long_reply(300, False)]
    assert not sim.bot_connected


async def test_bridge_run_answers_until_stopped(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """The runner's path (`bridge run`): start, answer, and on stop let the answer finish, then disconnect."""
    sim = discord_sim
    settings = discord_bridge.settings()
    stop = asyncio.Event()
    async with open_app(settings) as app:
        adapter = DiscordAdapter(app.core, settings.platforms["discord"], guild_ready_timeout=0.1)
        runner = asyncio.create_task(serve(app, {"discord": adapter}, stop))
        await sim.wait_for_bot_connected()
        await sim.wait_until(lambda: sim.registered_commands(), 5, "commands synced")
        question = await sim.user_says(world.general, world.alice, "quick one [[rate:20]]", mentions_bot=True)
        await sim.wait_until(lambda: sim.thread_of(question) is not None and sim.bot_messages(sim.thread_of(question)))
        stop.set()
        await asyncio.wait_for(runner, 15)
        thread = sim.thread_of(question)
        assert thread is not None and sim.bot_texts(thread) == ["echo: quick one"]
        assert not sim.bot_connected


async def test_answers_cut_off_by_a_crash_are_marked_after_the_restart(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    adapter = await discord_bridge.start()
    question = await discord_bridge.ask(world.general, world.alice, "first")
    thread = sim.thread_of(question)
    assert thread is not None and discord_bridge.app is not None
    store = discord_bridge.app.store
    conversation = await store.conversation(
        ConversationKey("discord", str(world.guild.id), str(world.general.id), str(thread.id))
    )
    assert conversation is not None
    # What a crash leaves: a turn begun, its partial answer on Discord, never finished.
    partial = await adapter.client.get_partial_messageable(thread.id).send("half an ans")
    shown = await store.begin_turn(conversation, "crash-1", str(uuid.uuid4()), str(uuid.uuid4()), None, "echo-1")
    await store.set_turn_messages(shown, [str(partial.id)])
    await store.begin_turn(conversation, "crash-2", str(uuid.uuid4()), str(uuid.uuid4()), None, "echo-1")
    await discord_bridge.stop()

    await discord_bridge.start()
    await discord_bridge.wait_idle()
    assert sim.message(partial.id).content == f"half an ans\n\n⚠️ {INTERRUPTED}"
    assert sim.bot_texts(thread)[-1] == f"⚠️ {INTERRUPTED}"
    assert await discord_bridge.app.store.open_turns("discord") == []


async def test_a_refused_token_stops_start_with_one_sentence(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator
) -> None:
    settings = discord_bridge.settings(bot_token=SecretStr("not-the-token"))
    async with open_app(settings) as app:
        adapter = DiscordAdapter(app.core, settings.platforms["discord"], guild_ready_timeout=0.1)
        with pytest.raises(UserFacingError, match="DISCORD_BOT_TOKEN"):
            await adapter.start(timeout=5)


async def test_an_unreachable_discord_stops_start_with_one_sentence(discord_bridge: DiscordBridge) -> None:
    settings = discord_bridge.settings(api_url="http://127.0.0.1:9/api/v10")
    async with open_app(settings) as app:
        adapter = DiscordAdapter(app.core, settings.platforms["discord"], guild_ready_timeout=0.1)
        with pytest.raises(UserFacingError, match=r"Cannot reach Discord at http://127\.0\.0\.1:9"):
            await adapter.start(timeout=5)
