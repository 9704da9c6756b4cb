"""After an answer on Discord: the thread the bot opened takes its chat's OpenWebUI title (within Discord's
rename limit, enforced by the simulator), and files the answer produced arrive as attachments."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import discord
import pytest

from bridge.messages import ConversationKey
from bridge.openwebui import OpenWebUIClient
from simulators.discord import DiscordSimulator
from simulators.model_upstream import TINY_PNG
from tests import openwebui_extras as extras
from tests.adapters.discord.conftest import DiscordBridge, World

RENAME = "PATCH /channels/{channel_id}"


async def after_answers(bridge: DiscordBridge) -> None:
    assert bridge.app is not None
    await extras.after_answers(bridge.app.engine)


def drawing(bridge: DiscordBridge, text: str, name: str) -> str:
    """The directive that makes the model answer `text` and the tiny PNG as a `data:` image named `name`."""
    picture = base64.b64encode(TINY_PNG).decode()
    return bridge.upstream.script(f"{text}: ![{name}](data:image/png;base64,{picture})")


@pytest.fixture
async def tasks_on(discord_bridge: DiscordBridge) -> AsyncIterator[DiscordBridge]:
    async with extras.tasks_turned_on(discord_bridge.owui.url, discord_bridge.owui.api_key):
        yield discord_bridge


async def test_the_thread_the_bot_opened_is_named_after_its_chat_title(
    tasks_on: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    bridge, sim = tasks_on, discord_sim
    await bridge.start()
    question = await bridge.ask(world.general, world.alice, "Bridges over rivers explained please")
    await after_answers(bridge)
    thread = sim.thread_of(question)
    assert thread is not None and thread.name == "About Bridges over rivers explained"
    assert [c.params["channel_id"] for c in sim.calls(route=RENAME)] == [str(thread.id)]

    later = await sim.user_says(thread, world.alice, "and in winter?")
    await bridge.wait_answered(later)
    await after_answers(bridge)
    assert len(sim.calls(route=RENAME)) == 1  # a title after the chat's first answer only


async def test_a_thread_someone_else_opened_keeps_its_name(
    tasks_on: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    bridge, sim = tasks_on, discord_sim
    await bridge.start()
    thread = await sim.create_thread(world.general, "planning", owner=world.alice)
    question = await sim.user_says(thread, world.alice, "Bridges over rivers explained please", mentions_bot=True)
    await bridge.wait_answered(question)
    await after_answers(bridge)
    assert sim.bot_texts(thread) == ["echo: Bridges over rivers explained please"]
    assert sim.channel(thread).name == "planning" and sim.calls(route=RENAME) == []


async def test_a_third_rename_within_ten_minutes_is_skipped_not_refused(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """Discord allows two renames per thread per ten minutes and tells only with a 429 of minutes: the
    bridge counts its own and never meets that 429."""
    bridge, sim = discord_bridge, discord_sim
    adapter = await bridge.start()
    question = await bridge.ask(world.general, world.alice, "a thread to rename")
    simulated = sim.thread_of(question)
    assert simulated is not None
    thread = adapter.client.get_channel(simulated.id)
    assert isinstance(thread, discord.Thread)
    for title in ("First title", "Second title", "Third title"):
        await adapter.renames.rename(thread, title)
    assert len(sim.calls(route=RENAME)) == 2 and sim.count_429() == 0
    assert sim.channel(simulated).name == "Second title"


async def test_pictures_an_answer_carries_arrive_as_attachments(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    bridge, sim = discord_bridge, discord_sim
    await bridge.start()
    reply = drawing(bridge, "Here it is", "red square")
    question = await bridge.ask(world.general, world.alice, f"draw it {reply}")
    thread = sim.thread_of(question)
    assert thread is not None
    answer, files = sim.bot_messages(thread)
    assert answer.content.startswith("Here it is:")
    [attachment] = [sim.state.attachments[a] for a in files.attachment_ids]
    assert attachment.filename == "red square.png" and attachment.data == TINY_PNG


@pytest.mark.contract
async def test_a_real_openwebui_titles_the_thread_and_its_picture_arrives(
    discord_bridge_on_real_owui: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """The title task and a picture stored in OpenWebUI 0.12.4 (an image file the model links), through
    discord.py and the adapter."""
    bridge, sim = discord_bridge_on_real_owui, discord_sim
    async with OpenWebUIClient(bridge.owui.url, bridge.owui.api_key) as admin:
        uploaded = await admin.upload_file("chart.png", TINY_PNG, "image/png")
        await extras.set_tasks(admin, True)
        try:
            await bridge.start()
            reply = bridge.upstream.script(f"The chart: ![chart](/api/v1/files/{uploaded.id}/content)")
            question = await bridge.ask(world.general, world.alice, f"Charts of river bridges {reply}", timeout=60)
            await after_answers(bridge)
        finally:
            await extras.set_tasks(admin, False)
        thread = sim.thread_of(question)
        assert thread is not None and thread.name == "About Charts of river bridges"
        assert bridge.app is not None
        chat_id, _ = await bridge.app.core.chat_link(
            ConversationKey("discord", str(world.guild.id), str(world.general.id), str(thread.id))
        )
        assert (await admin.get_chat(chat_id))["title"] == "About Charts of river bridges"
    answer, files = sim.bot_messages(thread)
    assert answer.content.startswith("The chart:")
    [attachment] = [sim.state.attachments[a] for a in files.attachment_ids]
    assert attachment.filename == "chart.png" and attachment.data == TINY_PNG


async def test_an_ask_answer_brings_its_picture_as_a_follow_up(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    bridge, sim = discord_bridge, discord_sim
    await bridge.start()
    reply = drawing(bridge, "Drawn", "square")
    interaction = await sim.run_slash_command(world.general, world.alice, "ask", {"question": f"draw {reply}"})
    await sim.wait_for_response(interaction, final=True)
    await bridge.wait_idle()
    assert interaction.original_message is not None
    assert interaction.original_message.content.startswith("Drawn:")
    [files] = interaction.followups
    [attachment] = [sim.state.attachments[a] for a in files.attachment_ids]
    assert attachment.filename == "square.png" and attachment.data == TINY_PNG
