"""Follow-up suggestions on Discord through the real discord.py client: OpenWebUI's suggestions become buttons
under the answer's own (one edit of its last message), and a click is the clicker's next message in the
conversation, read back from the OpenWebUI chat (so after a restart too); the fake OpenWebUI and, in the
contract suite, a real OpenWebUI 0.12.4 make the suggestions with the follow-up task switched on."""

from __future__ import annotations

from typing import Any

import pytest

from bridge import texts
from bridge.control_ids import Action, control_id, follow_up_argument
from bridge.messages import ConversationKey
from bridge.openwebui import chat as chats
from simulators.discord import DiscordSimulator, SimChannel, SimInteraction, SimMessage, SimUser
from tests import openwebui_extras as extras
from tests.adapters.discord.conftest import DiscordBridge, World
from tests.adapters.discord.test_discord_after_answer import after_answers, tasks_on  # noqa: F401 (tasks_on: a fixture)

# The fake's suggestions ("More about <first four words>", "Why <them>?"): the first outgrows a label (of 80
# characters on Discord, 75 on Slack), the second fits both.
LONG = "Deep Counterrevolutionaries Internationalization Electroencephalograms"  # 70 characters
MORE, WHY = f"More about {LONG}", f"Why {LONG}?"


def _rows(message: SimMessage) -> list[list[dict]]:
    return [row["components"] for row in message.components]


async def _click(bridge: DiscordBridge, message: SimMessage, user: object, custom_id: str) -> SimInteraction:
    interaction = await bridge.sim.user_clicks(message, user, custom_id)  # type: ignore[arg-type]
    await bridge.sim.wait_for_response(interaction, final=True, timeout=10)
    return interaction


async def _answered(bridge: DiscordBridge, world: World, text: str, **discord: Any) -> tuple[SimChannel, SimMessage]:
    """The bridge starts (`discord`: its settings), Alice asks `text` in #general, and the answer and the work
    after it are done: (the thread, the answer)."""
    await bridge.start(**discord)
    question = await bridge.ask(world.general, world.alice, text, timeout=60)
    await after_answers(bridge)
    thread = bridge.sim.thread_of(question)
    assert thread is not None
    [answer] = bridge.sim.bot_messages(thread)
    return thread, answer


async def _stranger(sim: DiscordSimulator, world: World, name: str) -> SimUser:
    user = await sim.create_user(name)
    await sim.add_member(world.guild, user)
    return user


@pytest.mark.usefixtures("tasks_on")
async def test_suggestions_are_buttons_under_the_answer_and_a_click_asks_the_whole_text_after_a_restart(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    bridge, sim = discord_bridge, discord_sim
    bob = await _stranger(sim, world, "bob")
    thread, answer = await _answered(bridge, world, f"{LONG} please")
    assert answer.content == f"echo: {LONG} please", "the suggestions change the buttons only"
    controls, *suggestions = _rows(answer)
    turn = controls[0]["custom_id"].rsplit(":", 1)[1]
    assert [b["custom_id"] for b in controls][1:] == [control_id(a, turn) for a in (Action.RATE_UP, Action.RATE_DOWN)]
    assert [[b["label"] for b in row] for row in suggestions] == [[texts.clipped(MORE, 80)], [WHY]]
    assert len(suggestions[0][0]["label"]) == 80 and suggestions[0][0]["label"].endswith("…")
    ids = [row[0]["custom_id"] for row in suggestions]
    assert ids == [control_id(Action.FOLLOW_UP, follow_up_argument(int(turn), i)) for i in (0, 1)]

    await bridge.restart()  # the text is read back from the OpenWebUI chat, not from the process
    clicked = await _click(bridge, answer, bob, ids[0])
    assert [c.type for c in clicked.callbacks] == [6], "the click is acknowledged without a message"
    await bridge.wait_idle()
    first, second = sim.bot_messages(thread)
    assert first.id == answer.id
    assert second.content == f"{texts.follow_up_heading('bob', MORE)}\necho: {MORE}"
    assert _rows(second)[0][0]["custom_id"].startswith("owb:regen:"), "a normal answer with its own buttons"

    [stored] = [c["chat"] for c in bridge.owui.chats.values() if c["chat"]["title"] == f"About {LONG}"]
    path = chats.chain(chats.readable(stored) or {})
    assert [m["content"] for m in path] == [f"{LONG} please", f"echo: {LONG} please", MORE, f"echo: {MORE}"]
    assert path[2]["role"] == "user" and path[2]["name"] == "bob", "asked as the person who clicked"
    assert path[1]["followUps"] == [MORE, WHY]


@pytest.mark.usefixtures("tasks_on")
async def test_a_person_the_access_rules_refuse_is_told_privately_and_nothing_is_asked(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    mallory = await _stranger(discord_sim, world, "mallory")
    thread, answer = await _answered(discord_bridge, world, "guarded suggestions", denied_users=[str(mallory.id)])
    suggestion = _rows(answer)[1][0]["custom_id"]
    refused = await _click(discord_bridge, answer, mallory, suggestion)
    assert refused.original_message is not None and refused.original_message.ephemeral
    assert refused.original_message.content == f"⛔ {texts.USER_REFUSED}"
    await discord_bridge.wait_idle()
    assert discord_sim.bot_messages(thread, include_ephemeral=False) == [answer]
    asked = [m for c in discord_bridge.owui.chats.values() for m in c["chat"]["history"]["messages"].values()]
    assert not [m for m in asked if m["role"] == "user" and m["content"].startswith("More about guarded")]


@pytest.mark.usefixtures("tasks_on")
async def test_in_a_reply_chain_the_click_is_answered_in_the_chain_and_a_reply_continues_it(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    await discord_bridge.start(reply_mode="channel")
    await discord_bridge.ask(world.general, world.alice, "Chains of ferries explained")
    await after_answers(discord_bridge)
    [answer] = discord_sim.bot_messages(world.general)
    await _click(discord_bridge, answer, world.alice, _rows(answer)[2][0]["custom_id"])
    await discord_bridge.wait_idle()
    _, asked = discord_sim.bot_messages(world.general)
    # a reply in the chain, under the answer whose button was clicked
    assert (asked.reference_id, asked.content.splitlines()[-1]) == (answer.id, "echo: Why Chains of ferries explained?")
    reply = await discord_sim.user_says(world.general, world.alice, "ferry fares", reply_to=asked, mention_author=False)
    await discord_bridge.wait_answered(reply)
    assert discord_bridge.upstream.asked("ferry fares")[-1].message_count == 5, "the same chat goes on"


@pytest.mark.contract
async def test_a_real_openwebui_suggestion_clicked_continues_its_chat(
    discord_bridge_on_real_owui: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """OpenWebUI 0.12.4 makes the suggestions (its follow-up task), keeps them on the answer, and a click
    reads them back from it and continues the same chat."""
    bridge, sim = discord_bridge_on_real_owui, discord_sim
    async with extras.tasks_turned_on(bridge.owui.url, bridge.owui.api_key) as admin:
        thread, answer = await _answered(bridge, world, "Rivers and their bridges")
        why = _rows(answer)[2][0]
        assert why["label"] == "Why Rivers and their bridges?"
        await _click(bridge, answer, world.alice, why["custom_id"])
        await sim.wait_for_bot_message(thread, count=2, timeout=60)
        await bridge.wait_idle(timeout=60)
        assert sim.bot_texts(thread)[1] == f"{texts.follow_up_heading('alice', why['label'])}\necho: {why['label']}"
        assert bridge.app is not None
        key = ConversationKey("discord", str(world.guild.id), str(world.general.id), str(thread.id))
        chat_id, _ = await bridge.app.core.chat_link(key)
        path = chats.chain(chats.readable((await admin.get_chat(chat_id))["chat"]) or {})
    assert [m["content"] for m in path if m["role"] == "user"] == ["Rivers and their bridges", why["label"]]
    assert path[1]["followUps"] == ["More about Rivers and their bridges", "Why Rivers and their bridges?"]
