"""Slash commands through the real discord.py command tree, answered by deferring then editing."""

from __future__ import annotations

from bridge.messages import ConversationKey
from bridge.splitting import reassemble
from simulators.discord import DiscordSimulator, SimFile, SimInteraction, SimMessage
from simulators.model_upstream import long_reply
from tests import openwebui_extras as extras
from tests.adapters.discord.conftest import DiscordBridge, World


async def _run(bridge: DiscordBridge, channel: object, user: object, command: str, **options: object) -> SimMessage:
    """Run `/command`, wait until it is answered and nothing runs any more; the response message."""
    interaction = await bridge.sim.run_slash_command(channel, user, command, options)  # type: ignore[arg-type]
    await bridge.sim.wait_for_response(interaction, final=True, timeout=10)
    await bridge.wait_idle()
    return _response(interaction)


def _response(interaction: SimInteraction) -> SimMessage:
    assert interaction.original_message is not None
    return interaction.original_message


async def test_commands_are_synced_at_start(discord_bridge: DiscordBridge, discord_sim: DiscordSimulator) -> None:
    await discord_bridge.start()
    names = {c["name"] for c in discord_sim.registered_commands() if c.get("type", 1) == 1}
    assert names == {"ask", "new", "model", "system", "tools", "features", "status", "kb", "prompt", "summarize"}
    [kb] = [c for c in discord_sim.registered_commands() if c["name"] == "kb"]
    assert {o["name"] for o in kb["options"]} == {"list", "ask", "add"}


async def test_ask_streams_into_the_deferred_response(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    interaction = await sim.run_slash_command(world.general, world.alice, "ask", {"question": "why [[reply:300]]"})
    await sim.wait_for_response(interaction, final=True)
    await discord_bridge.wait_idle()
    assert [c.type for c in interaction.callbacks] == [5], "deferred first"
    assert _response(interaction).content == discord_bridge.upstream.asked("why [[reply:300]]")[-1].reply
    assert not _response(interaction).ephemeral

    chosen = await _run(discord_bridge, world.general, world.alice, "ask", question="which", model="vision-1")
    assert chosen.content == "echo: which" and not chosen.ephemeral
    assert discord_bridge.upstream.asked("which")[-1].model == "vision-1"
    hidden = await _run(discord_bridge, world.general, world.alice, "ask", question="psst", ephemeral=True)
    assert hidden.ephemeral and hidden.content == "echo: psst"

    choices = await sim.autocomplete(world.general, world.alice, "ask", {"model": "vis"}, focused="model")
    assert [c["value"] for c in choices] == ["vision-1"]


async def test_a_long_ask_answer_continues_in_follow_ups(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    await discord_bridge.start()
    interaction = await discord_sim.run_slash_command(world.general, world.alice, "ask", {"question": "[[reply:4500]]"})
    await discord_sim.wait_for_response(interaction, final=True)
    await discord_bridge.wait_idle()
    parts = [_response(interaction).content] + [m.content for m in interaction.followups]
    assert len(parts) == 3 and all(len(p) <= 2000 for p in parts)
    assert reassemble(parts) == long_reply(4500, False)
    assert discord_sim.count_429() == 0


async def test_model_and_system_are_shown_to_all_and_set_by_admins(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    admin = sim.state.owner  # the server's owner may manage it
    shown = await _run(discord_bridge, world.general, world.alice, "model")
    assert shown.ephemeral and "`echo-1`" in shown.content

    refused = await sim.run_slash_command(world.general, world.alice, "model", {"model": "vision-1"})
    await sim.wait_for_response(refused)
    assert [c.type for c in refused.callbacks] == [4] and _response(refused).ephemeral
    assert "Only admins" in _response(refused).content

    changed = await _run(discord_bridge, world.general, admin, "model", model="vision-1")
    assert "`vision-1`" in changed.content and not changed.ephemeral
    prompt = await _run(discord_bridge, world.general, admin, "system", prompt="Answer like a pirate.")
    assert "pirate" in prompt.content
    await discord_bridge.ask(world.general, world.alice, "ahoy?")
    request = discord_bridge.upstream.asked("ahoy?")[-1]
    assert request.model == "vision-1"
    assert request.messages[0] == {"role": "system", "content": "Answer like a pirate."}

    shown = await _run(discord_bridge, world.general, world.alice, "system")
    assert "pirate" in shown.content and shown.ephemeral
    cleared = await _run(discord_bridge, world.general, admin, "system", clear=True)
    assert "cleared" in cleared.content
    reset = await _run(discord_bridge, world.general, admin, "model", model="default")
    assert "`echo-1`" in reset.content
    await discord_bridge.ask(world.general, world.alice, "plain again")
    request = discord_bridge.upstream.asked("plain again")[-1]
    assert request.model == "echo-1" and request.roles == ["user"]


async def test_new_and_status_in_a_thread(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    question = await discord_bridge.ask(world.general, world.alice, "hello MARKER-old")
    thread = sim.thread_of(question)
    assert thread is not None
    assert discord_bridge.app is not None
    key = ConversationKey("discord", str(world.guild.id), str(world.general.id), str(thread.id))
    chat_id, _ = await discord_bridge.app.core.chat_link(key)
    assert chat_id

    status = await _run(discord_bridge, thread, world.alice, "status")
    assert status.ephemeral
    assert "reachable" in status.content and "`echo-1`" in status.content
    assert chat_id in status.content and f"{discord_bridge.owui.url}/c/{chat_id}" in status.content

    done = await _run(discord_bridge, thread, world.alice, "new")
    assert "new OpenWebUI chat" in done.content
    fresh = await sim.user_says(thread, world.alice, "who am I")
    await discord_bridge.wait_answered(fresh)
    assert sim.bot_texts(thread)[-1] == "echo: who am I", "the old chat (and its marker) is not context any more"
    status = await _run(discord_bridge, thread, world.alice, "status")
    assert chat_id not in status.content

    in_channel = await _run(discord_bridge, world.general, world.alice, "new")
    assert "opens a new thread" in in_channel.content


async def test_knowledge_bases_list_add_and_ask_with_sources(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    assert discord_bridge.app is not None
    client = discord_bridge.app.client
    name = f"handbook-{world.guild.id}"
    await extras.knowledge_create(client, name, "the team handbook")
    admin = sim.state.owner

    listed = await _run(discord_bridge, world.general, world.alice, "kb list")
    assert name in listed.content and "the team handbook" in listed.content
    choices = await sim.autocomplete(world.general, world.alice, "kb ask", {"kb": "handbook"}, focused="kb")
    assert name in [c["value"] for c in choices]

    refused = await sim.run_slash_command(world.general, world.alice, "kb add", {"kb": name, "file": _file("a")})
    await sim.wait_for_response(refused)
    assert _response(refused).ephemeral and "Only admins" in _response(refused).content

    added = await _run(discord_bridge, world.general, admin, "kb add", kb=name, file=_file("upload"))
    assert "upload.md added" in added.content
    shared = await sim.user_says(
        world.general, world.alice, "policy", attachments=[SimFile("policy.txt", b"MARKER-msg")]
    )
    link = f"https://discord.com/channels/{world.guild.id}/{world.general.id}/{shared.id}"
    from_message = await _run(discord_bridge, world.general, admin, "kb add", kb=name, message=link)
    assert "policy.txt added" in from_message.content

    answer = await _run(discord_bridge, world.general, world.alice, "kb ask", kb=name, question="what applies?")
    assert answer.content == "echo: what applies? [markers: MARKER-upload MARKER-msg]"
    [embed] = answer.embeds
    assert embed["title"] == "Sources"
    assert "upload.md" in embed["description"] and "policy.txt" in embed["description"]

    unknown = await _run(discord_bridge, world.general, world.alice, "kb ask", kb="nope", question="q")
    assert "no knowledge base `nope`" in unknown.content


def _file(word: str) -> SimFile:
    return SimFile(f"{word}.md", f"# {word}\nMARKER-{word}".encode(), "text/markdown")
