"""Allow and deny lists: a refused user or place gets a short answer, never silence, and no answer."""

from __future__ import annotations

from simulators.discord import DiscordSimulator
from tests.adapters.discord.conftest import DiscordBridge, World


async def test_a_denied_user_gets_a_short_refusal_for_messages_and_commands(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start(denied_users=str(world.alice.id))
    question = await discord_bridge.ask(world.general, world.alice, "let me in")
    [refusal] = sim.bot_messages(world.general)
    assert refusal.reference_id == question.id and refusal.content.startswith("⛔ You are not allowed")
    assert sim.threads(world.general) == [] and discord_bridge.upstream.requests_containing("let me in") == []

    interaction = await sim.run_slash_command(world.general, world.alice, "ask", {"question": "please"})
    await sim.wait_for_response(interaction)
    assert [c.type for c in interaction.callbacks] == [4]
    assert interaction.original_message is not None and interaction.original_message.ephemeral
    assert interaction.original_message.content.startswith("⛔ You are not allowed")


async def test_a_denied_category_refuses_its_channels_and_their_threads(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    private = await sim.create_category(world.guild, "private")
    secret = await sim.create_text_channel(world.guild, "secret", category=private)
    await discord_bridge.start(denied_channels=str(private.id))
    await discord_bridge.ask(secret, world.alice, "anyone?")
    assert [m.content for m in sim.bot_messages(secret)] == [
        "⛔ I am not allowed to answer in this channel; the bridge's admin decides where I work."
    ]
    user_thread = await sim.create_thread(secret, "side talk", owner=world.alice)
    await discord_bridge.ask(user_thread, world.alice, "here then?")
    assert sim.bot_texts(user_thread)[0].startswith("⛔ I am not allowed")
    answered = await discord_bridge.ask(world.general, world.alice, "and here?")
    assert sim.thread_of(answered) is not None, "other channels still work"


async def test_role_lists_and_admin_roles(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    members = await sim.create_role(world.guild, "ai-users")
    leads = await sim.create_role(world.guild, "leads")
    bob = await sim.create_user("bob")
    await sim.add_member(world.guild, bob, roles=[members, leads])
    await discord_bridge.start(allowed_roles=str(members.id), admin_roles=str(leads.id))

    await discord_bridge.ask(world.general, world.alice, "no role")
    assert sim.bot_texts(world.general)[0].startswith("⛔ You are not allowed")
    question = await discord_bridge.ask(world.general, bob, "with role")
    thread = sim.thread_of(question)
    assert thread is not None and sim.bot_texts(thread) == ["echo: with role"]

    changed = await sim.run_slash_command(world.general, bob, "model", {"model": "vision-1"})
    await sim.wait_for_response(changed, final=True)
    assert changed.original_message is not None and "`vision-1`" in changed.original_message.content


async def test_dms_can_be_turned_off(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start(allow_dms=False)
    dm = await sim.create_dm(world.alice)
    message = await sim.user_says(dm, world.alice, "psst")
    await discord_bridge.wait_answered(message)
    assert sim.bot_texts(dm) == ["⛔ Direct messages with me are turned off; mention me in a server channel instead."]
