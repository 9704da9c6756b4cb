"""`/prompt`, `/summarize` and the message commands, through the real discord.py command tree."""

from __future__ import annotations

import uuid

import pytest

from bridge.splitting import reassemble
from simulators.discord import DiscordSimulator, SimFile, SimInteraction, SimMessage
from tests import openwebui_extras as extras
from tests.adapters.discord.conftest import DiscordBridge, World

CONTEXT_MENUS = {"Ask about this message", "Summarize thread", "Add to knowledge base"}


def _shown(sim: DiscordSimulator, channel: object) -> list[str]:
    """What everyone sees from the bot in `channel` (notes only the asker sees left out)."""
    return [m.content for m in sim.bot_messages(channel) if not m.ephemeral]  # type: ignore[arg-type]


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


async def test_ask_about_a_message_opens_a_thread_on_it_in_a_channel(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    target = await sim.user_says(world.general, sim.state.owner, "what is MARKER-ctx1?")
    note = await _answered(
        discord_bridge, await sim.run_message_command(world.general, world.alice, "Ask about this message", target)
    )
    [request] = discord_bridge.upstream.asked("what is MARKER-ctx1?")
    assert request.question.startswith("Explain this message") and "owner" in request.question
    thread = sim.thread_of(target)
    assert thread is not None and thread.name.startswith("Explain this message")
    assert _shown(sim, thread) == [request.reply]
    assert note.ephemeral and note.content == f"Answering in <#{thread.id}>."

    follow = await sim.user_says(thread, world.alice, "and MARKER-ctx2?")
    await discord_bridge.wait_answered(follow)
    assert discord_bridge.upstream.asked("and MARKER-ctx2?")[-1].message_count == 3, "the thread is that chat"

    await _answered(
        discord_bridge, await sim.run_message_command(world.general, world.alice, "Ask about this message", target)
    )
    assert len(_shown(sim, thread)) == 3, "asked again: answered in the thread the message has"


async def test_ask_about_a_message_in_a_dm_answers_in_the_dm(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    dm = await sim.create_dm(world.alice)
    mine = await sim.user_says(dm, world.alice, "MARKER-dm-ctx please")
    await discord_bridge.wait_answered(mine)
    await _answered(discord_bridge, await sim.run_message_command(dm, world.alice, "Ask about this message", mine))
    _answered_first, explained = discord_bridge.upstream.asked("MARKER-dm-ctx please")
    assert explained.question.startswith("Explain this message") and explained.message_count == 3, "the DM's chat"
    assert _shown(sim, dm)[-1] == explained.reply

    await _answered(discord_bridge, await sim.run_slash_command(dm, world.alice, "summarize"))
    summary = discord_bridge.upstream.asked("MARKER-dm-ctx please")[-1]
    assert summary.question.startswith("Summarize this conversation") and summary.message_count == 5
    assert _shown(sim, dm)[-1] == summary.reply


async def test_a_channel_mode_bridge_answers_in_the_response(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start(reply_mode="channel")
    target = await sim.user_says(world.general, sim.state.owner, "MARKER-chmode")
    answer = await _answered(
        discord_bridge, await sim.run_message_command(world.general, world.alice, "Ask about this message", target)
    )
    assert answer.content == discord_bridge.upstream.asked("MARKER-chmode")[-1].reply and not answer.ephemeral
    assert sim.thread_of(target) is None


async def test_summarize_reads_the_whole_thread_in_order_and_answers_there(
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
    assert reassemble(_shown(sim, thread)) == request.reply, "in the thread, in as many messages as it takes"
    await _answered(discord_bridge, await sim.run_slash_command(thread, world.alice, "summarize"))
    assert discord_bridge.upstream.asked("point MARKER-s129")[-1].message_count == 3, "the thread's chat goes on"

    answer = await _answered(discord_bridge, await sim.run_slash_command(world.general, world.alice, "summarize"))
    assert "planning" in discord_bridge.upstream.asked("The channel's latest messages")[-1].question
    assert answer.content == discord_bridge.upstream.asked("The channel's latest messages")[-1].reply


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

    thread = await sim.create_thread(world.general, "rules", owner=world.alice, from_message=shared)
    inside = await sim.user_says(thread, world.alice, "a thread rule MARKER-kbthread")
    added = await _answered(
        discord_bridge, await sim.run_message_command(thread, sim.state.owner, "Add to knowledge base", inside)
    )
    assert f"discord-message-{inside.id}.md added to general" in added.content, "a thread's: its channel's"
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
