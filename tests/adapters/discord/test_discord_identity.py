"""Each person as themselves, on Discord: `/link` opens a modal (the key is never a message), `/whoami`,
`/unlink`, turns run with the person's key, a refused key gets a private note, the policy decides who may
talk, and the model hears who speaks. Real discord.py against the simulator, the fake OpenWebUI (its users
are checked against the real server in `tests/contract/test_identity_contract.py`)."""

from __future__ import annotations

import pytest

from bridge.identity.vault import make_key
from bridge.openwebui import chat as chats
from simulators.discord import DiscordSimulator, SimChannel, SimInteraction, SimUser
from tests.adapters.discord.conftest import DiscordBridge, World


def _link_on(bridge: DiscordBridge, policy: str = "mixed") -> None:
    bridge.identity = {"identity_policy": policy, "encryption_key": make_key()}


async def link(sim: DiscordSimulator, channel: SimChannel, user: SimUser, key: str) -> SimInteraction:
    """`/link`, then the modal filled in with `key` and submitted; the submission, answered."""
    opened = await sim.run_slash_command(channel, user, "link")
    await sim.wait_for_response(opened)
    assert [c.type for c in opened.callbacks] == [9], "/link answers with a modal, nothing visible"
    submitted = await sim.submit_modal(opened, {next(iter(_field_ids(opened))): key})
    await sim.wait_for_response(submitted, final=True)
    return submitted


def _field_ids(interaction: SimInteraction) -> list[str]:
    modal = interaction.callbacks[0].data or {}
    return [c["custom_id"] for row in modal["components"] for c in row["components"]]


async def _ephemeral(sim: DiscordSimulator, channel: SimChannel, user: SimUser, command: str) -> str:
    interaction = await sim.run_slash_command(channel, user, command)
    await sim.wait_for_response(interaction, final=True)
    assert interaction.original_message is not None and interaction.original_message.ephemeral
    return interaction.original_message.content


async def test_link_whoami_unlink_and_turns_as_the_person(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim, owui = discord_sim, discord_bridge.owui
    _link_on(discord_bridge)
    await discord_bridge.start()
    assert {"link", "whoami", "unlink"} <= {c["name"] for c in sim.registered_commands()}
    key = owui.add_user("Alice Smith")

    assert "not linked" in await _ephemeral(sim, world.general, world.alice, "whoami")
    bad = await link(sim, world.general, world.alice, "sk-" + "0" * 32)
    assert bad.original_message is not None and bad.original_message.ephemeral
    assert "refused that key" in bad.original_message.content
    done = await link(sim, world.general, world.alice, key)
    assert done.original_message is not None and done.original_message.ephemeral
    assert "Alice Smith" in done.original_message.content
    assert "Alice Smith" in await _ephemeral(sim, world.general, world.alice, "whoami")
    everything = [m.content for c in sim.state.channels.values() for m in sim.messages(c)]
    assert not any(key in text for text in everything), "the key is never in a message"

    # A mention opens a thread whose chat is in Alice's own OpenWebUI history.
    question = await discord_bridge.ask(world.general, world.alice, "mine [[reply:20]]")
    thread = sim.thread_of(question)
    assert thread is not None
    [chat] = [c for c in owui.chats_of(key) if "mine" in str(c)]
    assert not [c for c in owui.chats_of(owui.api_key) if "mine [[reply" in str(c)]
    user_message = chats.chain(chat)[0]
    assert user_message["name"] == world.alice.username

    assert "forgot your key" in await _ephemeral(sim, world.general, world.alice, "unlink")
    assert "not linked" in await _ephemeral(sim, world.general, world.alice, "whoami")


async def test_a_revoked_key_gets_a_private_note_and_no_answer_as_anyone_else(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim, owui = discord_sim, discord_bridge.owui
    _link_on(discord_bridge)
    await discord_bridge.start()
    key = owui.add_user("Alice")
    await link(sim, world.general, world.alice, key)
    owui.revoke(key)
    asked_before = len(discord_bridge.upstream.requests)

    question = await discord_bridge.ask(world.general, world.alice, "still me?")
    dm = await sim.create_dm(world.alice)
    await sim.wait_until(lambda: sim.bot_messages(dm), 10, "the private note")
    assert "link it again with /link" in sim.bot_messages(dm)[-1].content
    assert len(discord_bridge.upstream.requests) == asked_before, "nothing answered with another key"
    thread = sim.thread_of(question)
    shown = [m.content for m in sim.bot_messages(thread)] if thread else []
    assert not any("echo:" in text for text in shown)
    assert "refused" in await _ephemeral(sim, world.general, world.alice, "whoami")


@pytest.mark.parametrize("policy", ["linked", "mixed"])
async def test_the_policy_decides_about_people_who_did_not_link(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World, policy: str
) -> None:
    sim, owui = discord_sim, discord_bridge.owui
    _link_on(discord_bridge, policy)
    await discord_bridge.start()
    question = await discord_bridge.ask(world.general, world.alice, f"as nobody under {policy}")
    dm = await sim.create_dm(world.alice)
    if policy == "linked":
        await sim.wait_until(lambda: sim.bot_messages(dm), 10, "the private note")
        assert "use /link first" in sim.bot_messages(dm)[-1].content
        assert sim.thread_of(question) is None, "no thread opened for someone the policy refuses"
        assert "use /link first" in await _ephemeral(sim, world.general, world.alice, "status")
        asked = await sim.run_slash_command(world.general, world.alice, "ask", {"question": "one-off"})
        await sim.wait_until(lambda: asked.followups, 10, "the private note")
        assert asked.followups[-1].ephemeral and "use /link first" in asked.followups[-1].content
        assert asked.original_message is not None and asked.original_message.content == "⛔ Not answered."
        assert not discord_bridge.upstream.asked("one-off")
    else:
        assert not sim.bot_messages(dm)
        assert [c for c in owui.chats_of(owui.api_key) if f"as nobody under {policy}" in str(c)]


async def test_in_a_shared_thread_the_model_hears_both_names_and_the_chat_stays_the_starters(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim, owui = discord_sim, discord_bridge.owui
    _link_on(discord_bridge)
    await discord_bridge.start()
    bob = await sim.create_user("bob")
    await sim.add_member(world.guild, bob)
    alice_key, bob_key = owui.add_user("Alice"), owui.add_user("Bob")
    await link(sim, world.general, world.alice, alice_key)
    await link(sim, world.general, bob, bob_key)

    question = await discord_bridge.ask(world.general, world.alice, "first from alice")
    thread = sim.thread_of(question)
    assert thread is not None
    follow = await sim.user_says(thread, bob, "then bob")
    await discord_bridge.wait_answered(follow)
    request = discord_bridge.upstream.asked("then bob")[-1]
    names = [m.get("name") for m in request.messages if m.get("role") == "user"]
    assert names == [world.alice.username, bob.username]
    [chat] = [c for c in owui.chats_of(alice_key) if "then bob" in str(c)]
    assert [m.get("name") for m in chats.chain(chat) if m["role"] == "user"] == names
    assert not owui.chats_of(bob_key), "Bob's turn is written into Alice's chat, not his own history"

    # Bob's own OpenWebUI may not use the thread's model: told privately, not answered from it.
    owui.restrict_model("echo-1", owui.user_of(alice_key).id)
    refused = await sim.user_says(thread, bob, "may I?")
    await discord_bridge.wait_answered(refused)
    dm = await sim.create_dm(bob)
    await sim.wait_until(lambda: sim.bot_messages(dm), 10, "Bob's private note")
    assert "may not use" in sim.bot_messages(dm)[-1].content and "echo-1" in sim.bot_messages(dm)[-1].content
    assert not discord_bridge.upstream.asked("may I?")
    owui.model_access.clear()


async def test_regenerate_in_a_linked_person_s_chat_runs_with_their_key(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """A button is a turn too: Regenerate in Alice's chat (in her own history, which the service account may
    not read) runs as its owner, as her messages do, never as the service account."""
    sim, owui = discord_sim, discord_bridge.owui
    _link_on(discord_bridge, "linked")
    await discord_bridge.start()
    key = owui.add_user("Alice Smith")
    await link(sim, world.general, world.alice, key)
    question = await discord_bridge.ask(world.general, world.alice, "name a fruit")
    thread = sim.thread_of(question)
    assert thread is not None
    [answer] = sim.bot_messages(thread)
    regenerate = next(b["custom_id"] for row in answer.components for b in row["components"])
    assert regenerate.startswith("owb:regen:")

    clicked = await sim.user_clicks(answer, world.alice, regenerate)
    await sim.wait_for_response(clicked, final=True, timeout=10)
    await discord_bridge.wait_idle()
    assert [m.content.splitlines()[-1] for m in sim.bot_messages(thread)] == ["echo: name a fruit"] * 2
    [chat] = [c for c in owui.chats_of(key) if "name a fruit" in str(c)]
    [user] = [m for m in chat["history"]["messages"].values() if m["role"] == "user"]
    assert len(user["childrenIds"]) == 2, "the new attempt is a branch of Alice's own chat"
