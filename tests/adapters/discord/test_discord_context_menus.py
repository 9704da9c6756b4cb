"""`/prompt`, `/summarize` and the message commands, through the real discord.py command tree."""

from __future__ import annotations

import uuid

import pytest

from simulators.discord import DiscordSimulator, SimFile, SimInteraction, SimMessage
from tests import openwebui_extras as extras
from tests.adapters.discord.conftest import DiscordBridge, World

CONTEXT_MENUS = {"Ask about this message", "Summarize thread", "Add to knowledge base"}


async def _answered(bridge: DiscordBridge, interaction: SimInteraction) -> SimMessage:
    await bridge.sim.wait_for_response(interaction, final=True, timeout=10)
    await bridge.wait_idle()
    assert interaction.original_message is not None
    return interaction.original_message


async def test_the_commands_and_menus_are_registered(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator
) -> None:
    await discord_bridge.start()
    menus = {c["name"] for c in discord_sim.registered_commands() if c.get("type") == 3}
    assert menus == CONTEXT_MENUS
    assert {"prompt", "summarize"} <= {c["name"] for c in discord_sim.registered_commands() if c.get("type") == 1}


async def test_a_prompt_is_filled_from_the_text_and_asked(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    assert discord_bridge.app is not None
    client = discord_bridge.app.client
    command = f"greet-{uuid.uuid4().hex[:6]}"
    await extras.create_prompt(client, command, "Greet someone", "Greet {{name}} in {{language}}.")

    choices = await sim.autocomplete(world.general, world.alice, "prompt", {"command": command[:8]}, focused="command")
    assert command in [c["value"] for c in choices]
    text = "language=French Bob"
    answer = await _answered(
        discord_bridge,
        await sim.run_slash_command(world.general, world.alice, "prompt", {"command": command, "text": text}),
    )
    assert answer.content == "echo: Greet Bob in French."
    missing = await _answered(
        discord_bridge, await sim.run_slash_command(world.general, world.alice, "prompt", {"command": command})
    )
    assert "needs name, language" in missing.content and not discord_bridge.upstream.asked("Greet {{name}}")


async def test_a_refused_person_is_told_privately_and_nothing_is_asked(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start(denied_users=str(world.alice.id))
    note = await sim.user_says(world.general, sim.state.owner, "MARKER-refused-menu")
    for interaction in (
        await sim.run_message_command(world.general, world.alice, "Ask about this message", note),
        await sim.run_message_command(world.general, world.alice, "Summarize thread", note),
        await sim.run_slash_command(world.general, world.alice, "prompt", {"command": "anything"}),
    ):
        await sim.wait_for_response(interaction)
        assert interaction.original_message is not None and interaction.original_message.ephemeral
        assert "not allowed" in interaction.original_message.content
    assert not discord_bridge.upstream.requests_containing("MARKER-refused-menu")


async def test_ask_about_a_message_in_a_channel_and_a_dm(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    target = await sim.user_says(world.general, sim.state.owner, "what is MARKER-ctx1?")
    answer = await _answered(
        discord_bridge, await sim.run_message_command(world.general, world.alice, "Ask about this message", target)
    )
    [request] = discord_bridge.upstream.asked("what is MARKER-ctx1?")
    assert request.question.startswith("Explain this message") and "owner" in request.question
    assert answer.content == request.reply and not answer.ephemeral

    dm = await sim.create_dm(world.alice)
    mine = await sim.user_says(dm, world.alice, "MARKER-dm-ctx please")
    await _answered(discord_bridge, await sim.run_message_command(dm, world.alice, "Ask about this message", mine))
    assert discord_bridge.upstream.asked("MARKER-dm-ctx please")


async def test_summarize_reads_the_whole_thread_in_order(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    root = await sim.user_says(world.general, world.alice, "planning")
    thread = await sim.create_thread(world.general, "plans", owner=world.alice, from_message=root)
    said = [await sim.user_says(thread, world.alice, f"point MARKER-s{i}") for i in range(130)]  # two pages
    await _answered(discord_bridge, await sim.run_message_command(thread, world.alice, "Summarize thread", said[5]))
    [request] = discord_bridge.upstream.asked("point MARKER-s129")
    assert request.question.startswith("Summarize this conversation")
    positions = [request.question.index(f"MARKER-s{i}\n") for i in range(129)]
    assert positions == sorted(positions), "oldest first, none missing"

    await _answered(discord_bridge, await sim.run_slash_command(thread, world.alice, "summarize"))
    assert len(discord_bridge.upstream.asked("point MARKER-s129")) == 2


async def test_add_a_message_to_the_channels_knowledge_base(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    assert discord_bridge.app is not None
    client = discord_bridge.app.client
    kb = await extras.knowledge_create(client, "general", "the channel's")
    shared = await sim.user_says(
        world.general, world.alice, "our rule MARKER-kbtext", attachments=[SimFile("rule.md", b"MARKER-kbfile")]
    )
    refused = await sim.run_message_command(world.general, world.alice, "Add to knowledge base", shared)
    await sim.wait_for_response(refused)
    assert refused.original_message is not None and "Only admins" in refused.original_message.content

    added = await _answered(
        discord_bridge, await sim.run_message_command(world.general, sim.state.owner, "Add to knowledge base", shared)
    )
    assert added.ephemeral
    assert f"discord-message-{shared.id}.md added" in added.content and "rule.md added" in added.content
    names = {f.filename for f in await extras.knowledge_files(client, kb.id)}
    assert {f"discord-message-{shared.id}.md", "rule.md"} <= names
    await extras.knowledge_delete(client, kb.id)


@pytest.mark.contract
async def test_a_prompt_of_a_real_openwebui_is_asked(
    discord_bridge_on_real_owui: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """The library as 0.12.4 serves it: a prompt created through its API is offered, filled and answered."""
    bridge = discord_bridge_on_real_owui
    await bridge.start()
    assert bridge.app is not None
    await extras.create_prompt(bridge.app.client, "contract-greet", "Greet", "Greet {{name}} MARKER-prompt1.")
    choices = await discord_sim.autocomplete(
        world.general, world.alice, "prompt", {"command": "contract"}, focused="command"
    )
    assert "contract-greet" in [c["value"] for c in choices]
    interaction = await discord_sim.run_slash_command(
        world.general, world.alice, "prompt", {"command": "contract-greet", "text": "Bob"}
    )
    answer = await _answered(bridge, interaction)
    assert answer.content == "echo: Greet Bob MARKER-prompt1. [markers: MARKER-prompt1]"
