"""Controls on an answer through the real discord.py client: Stop, Regenerate, 👍/👎 and edited questions, as
buttons (MESSAGE_COMPONENT interactions) and message edits in the simulator, with the fake OpenWebUI."""

from __future__ import annotations

import pytest

from adapters.discord import controls as discord_controls
from bridge import texts
from bridge.control_ids import Action, control_id
from bridge.openwebui import OpenWebUIClient
from bridge.openwebui import chat as chats
from simulators.discord import DiscordSimulator, SimChannel, SimInteraction, SimMessage
from tests import openwebui_extras as extras
from tests.adapters.discord.conftest import DiscordBridge, World


def _buttons(message: SimMessage) -> list[str]:
    return [b["custom_id"] for row in message.components for b in row["components"]]


async def _click(bridge: DiscordBridge, message: SimMessage, user: object, custom_id: str) -> SimInteraction:
    interaction = await bridge.sim.user_clicks(message, user, custom_id)  # type: ignore[arg-type]
    await bridge.sim.wait_for_response(interaction, final=True, timeout=10)
    return interaction


def _private(interaction: SimInteraction) -> str:
    """What only the clicker saw in answer to a click."""
    answer = interaction.original_message
    assert answer is not None and answer.ephemeral, "the answer to the click is private"
    return answer.content


async def _answered(bridge: DiscordBridge, world: World, text: str) -> tuple[SimMessage, SimChannel, SimMessage]:
    """Alice asks `text` in #general and the answer is done: (her question, its thread, the answer)."""
    question = await bridge.ask(world.general, world.alice, text)
    thread = bridge.sim.thread_of(question)
    assert thread is not None
    [answer] = bridge.sim.bot_messages(thread)
    return question, thread, answer


async def _streaming(
    bridge: DiscordBridge, world: World, text: str, timeout: float = 10
) -> tuple[SimMessage, SimChannel, SimMessage]:
    """Alice asks `text` (an endless answer) and it has shown some text: (question, thread, answer)."""
    sim = bridge.sim
    question = await sim.user_says(world.general, world.alice, text, mentions_bot=True)
    await sim.wait_until(lambda: sim.thread_of(question) is not None, timeout)
    thread = sim.thread_of(question)
    assert thread is not None
    [answer] = await sim.wait_for_bot_message(thread, predicate=lambda m: len(m.content) > 20, timeout=timeout)
    return question, thread, answer


def _chat(bridge: DiscordBridge, question: str) -> dict:
    """The OpenWebUI chat (of the session's fake) where `question` was asked."""
    found = [
        chats.readable(stored["chat"]) or {}
        for stored in bridge.owui.chats.values()
        if any(m.get("content") == question for m in stored["chat"]["history"]["messages"].values())
    ]
    assert len(found) == 1, found
    return found[0]


async def test_stop_ends_the_answer_where_it_is_and_only_for_the_asker(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    bob = await sim.create_user("bob")
    await sim.add_member(world.guild, bob)
    await discord_bridge.start()
    question, _, answer = await _streaming(discord_bridge, world, "ramble [[endless]] [[rate:30]]")
    stop = control_id(Action.STOP, str(question.id))
    assert _buttons(answer) == [stop], "the streaming answer shows a Stop button"

    refused = await _click(discord_bridge, answer, bob, stop)
    assert _private(refused) == texts.STOP_NOT_YOURS
    stopped = await _click(discord_bridge, answer, world.alice, stop)
    assert [c.type for c in stopped.callbacks] == [6], "the click is acknowledged without a message"
    await discord_bridge.wait_answered(question)

    assert answer.content.endswith(texts.stopped_by("alice"))
    turn = _buttons(answer)[0].rsplit(":", 1)[1]
    assert _buttons(answer) == [control_id(a, turn) for a in (Action.REGENERATE, Action.RATE_UP, Action.RATE_DOWN)]
    stored = chats.chain(_chat(discord_bridge, "ramble [[endless]] [[rate:30]]"))[-1]
    assert stored["role"] == "assistant" and stored["content"] == answer.content, "saved as the answer"


async def test_regenerate_posts_attempt_two_as_a_branch_and_works_after_a_restart(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    _, thread, answer = await _answered(discord_bridge, world, "name a fruit")
    regenerate = _buttons(answer)[0]
    assert regenerate.startswith("owb:regen:")

    await discord_bridge.restart()  # buttons on messages posted before a restart keep working
    clicked = await _click(discord_bridge, answer, world.alice, regenerate)
    assert [c.type for c in clicked.callbacks] == [6]
    await discord_bridge.wait_idle()
    attempts = sim.bot_messages(thread)
    assert [m.content for m in attempts] == ["echo: name a fruit", f"{texts.attempt_heading(2)}\necho: name a fruit"]
    assert _buttons(attempts[1])[0].startswith("owb:regen:") and _buttons(attempts[1]) != _buttons(answer)

    chat = _chat(discord_bridge, "name a fruit")
    [user] = [m for m in chat["history"]["messages"].values() if m["role"] == "user"]
    assert len(user["childrenIds"]) == 2 and chat["history"]["currentId"] == user["childrenIds"][1]

    follow_up = await sim.user_says(thread, world.alice, "and a vegetable")
    await discord_bridge.wait_answered(follow_up)
    path = chats.chain(_chat(discord_bridge, "name a fruit"))
    assert path[1]["id"] == user["childrenIds"][1], "the conversation goes on from the newest attempt"


async def test_thumbs_rate_the_answer_in_openwebui_and_a_second_click_changes_it(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    _, thread, answer = await _answered(discord_bridge, world, "rate this")
    _, up, down = _buttons(answer)

    discord_bridge.owui.feedback.clear()  # the session's fake: only this test's feedback
    assert _private(await _click(discord_bridge, answer, world.alice, up)) == texts.rated(1, changed=False)
    [feedback] = discord_bridge.owui.feedback.values()
    assert feedback["data"]["rating"] == 1 and feedback["meta"]["rated_by"] == f"discord:{world.alice.id}"
    chat_ids = [i for i, c in discord_bridge.owui.chats.items() if c["chat"]["title"] == "rate this"]
    assert [feedback["meta"]["chat_id"]] == chat_ids

    assert _private(await _click(discord_bridge, answer, world.alice, down)) == texts.rated(-1, changed=True)
    assert list(discord_bridge.owui.feedback.values()) == [feedback] and feedback["data"]["rating"] == -1
    assert sim.bot_messages(thread, include_ephemeral=False) == [answer], "ratings post nothing for others"


async def test_thumb_reactions_on_an_answer_rate_it_like_the_buttons(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    bob = await sim.create_user("bob")
    await sim.add_member(world.guild, bob)
    await discord_bridge.start()
    discord_bridge.owui.feedback.clear()
    question, _, answer = await _answered(discord_bridge, world, "react to this")
    await sim.user_reacts(question, bob, "👍")  # not an answer: nothing to rate
    await sim.user_reacts(answer, bob, "🎉")  # not a thumb
    await sim.user_reacts(answer, bob, "👍")
    await sim.wait_until(lambda: bool(discord_bridge.owui.feedback), 5, "the reaction's feedback")
    await discord_bridge.wait_idle()
    [feedback] = discord_bridge.owui.feedback.values()
    assert feedback["data"]["rating"] == 1 and feedback["meta"]["rated_by"] == f"discord:{bob.id}"
    await sim.user_reacts(answer, bob, "👎")
    await sim.wait_until(lambda: feedback["data"]["rating"] == -1, 5, "the changed rating")
    await discord_bridge.wait_idle()
    assert list(discord_bridge.owui.feedback.values()) == [feedback]


async def test_controls_are_refused_privately_to_people_the_access_rules_refuse(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    mallory = await sim.create_user("mallory")
    await sim.add_member(world.guild, mallory)
    await discord_bridge.start(denied_users=[str(mallory.id)])
    discord_bridge.owui.feedback.clear()
    _, thread, answer = await _answered(discord_bridge, world, "guarded")
    for custom_id in _buttons(answer):
        assert _private(await _click(discord_bridge, answer, mallory, custom_id)) == f"⛔ {texts.USER_REFUSED}"
    await discord_bridge.wait_idle()
    assert sim.bot_messages(thread, include_ephemeral=False) == [answer] and not discord_bridge.owui.feedback


async def test_editing_the_latest_question_asks_it_again_and_an_older_one_gets_a_passing_hint(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discord_controls, "HINT_SECONDS", 0.3)
    sim = discord_sim
    await discord_bridge.start()
    question = await discord_bridge.ask(world.general, world.alice, "capital of Spian")
    thread = sim.thread_of(question)
    assert thread is not None
    follow_up = await sim.user_says(thread, world.alice, "and of Portgual")
    await discord_bridge.wait_answered(follow_up)

    await sim.user_edits(follow_up, "and of Portugal")
    await sim.wait_for_bot_message(thread, count=3, timeout=10)
    await discord_bridge.wait_idle()
    assert sim.bot_texts(thread)[-1] == f"{texts.EDITED_HEADING}\necho: and of Portugal"
    path = chats.chain(_chat(discord_bridge, "capital of Spian"))
    assert [m["content"] for m in path if m["role"] == "user"] == ["capital of Spian", "and of Portugal"]

    await sim.user_edits(question, f"<@{sim.bot_user.id}> capital of Spain")
    [hint] = await sim.wait_for_bot_message(
        world.general, predicate=lambda m: m.content == texts.EDIT_NOT_LAST, timeout=5
    )
    assert hint.reference_id == question.id
    await sim.wait_until(lambda: hint.deleted, 5, "the hint to delete itself")
    assert len(sim.bot_messages(thread)) == 3, "an older question is not asked again"


async def test_editing_the_question_that_opened_a_thread_answers_again_in_the_thread_after_a_restart(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    question, thread, _ = await _answered(discord_bridge, world, "what is 2+2")
    await discord_bridge.restart()
    await sim.user_edits(question, f"<@{sim.bot_user.id}> what is 3+3")
    await sim.wait_for_bot_message(thread, count=2, timeout=10)
    await discord_bridge.wait_idle()
    assert sim.bot_texts(thread)[-1] == f"{texts.EDITED_HEADING}\necho: what is 3+3"
    assert sim.bot_messages(world.general) == [], "the answer goes to the thread, not the channel"


async def test_regenerate_in_a_dm_and_in_a_reply_chain(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start(reply_mode="channel")
    dm = await sim.create_dm(world.alice)
    private = await sim.user_says(dm, world.alice, "in private")
    await discord_bridge.wait_answered(private)
    [answer] = sim.bot_messages(dm)
    await _click(discord_bridge, answer, world.alice, _buttons(answer)[0])
    await discord_bridge.wait_idle()
    assert sim.bot_texts(dm) == ["echo: in private", f"{texts.attempt_heading(2)}\necho: in private"]

    await discord_bridge.ask(world.general, world.alice, "in the chain")
    [answer] = sim.bot_messages(world.general)
    await _click(discord_bridge, answer, world.alice, _buttons(answer)[0])
    await discord_bridge.wait_idle()
    _, again = sim.bot_messages(world.general)
    assert again.content == f"{texts.attempt_heading(2)}\necho: in the chain" and again.reference_id == answer.id
    follow_up = await sim.user_says(world.general, world.alice, "chain goes on", reply_to=again, mention_author=False)
    await discord_bridge.wait_answered(follow_up)
    assert discord_bridge.upstream.asked("chain goes on")[-1].message_count == 3, "the reply continues that chat"


@pytest.mark.contract
async def test_controls_against_a_real_openwebui(
    discord_bridge_on_real_owui: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """Stop, Regenerate and 👍/👎 through discord.py with OpenWebUI 0.12.4 itself: the chat tree and the
    evaluations as its API gives them back."""
    bridge, sim = discord_bridge_on_real_owui, discord_sim
    await bridge.start()
    question, thread, answer = await _streaming(bridge, world, "real ramble [[endless]] [[rate:30]]", timeout=60)
    await _click(bridge, answer, world.alice, control_id(Action.STOP, str(question.id)))
    await bridge.wait_answered(question, timeout=60)
    assert answer.content.endswith(texts.stopped_by("alice"))

    async with OpenWebUIClient(bridge.owui.url, bridge.owui.api_key) as client:
        [chat_id] = [c["id"] for c in await extras.list_chats(client) if c["title"].startswith("real ramble")]
        stored = chats.readable((await client.get_chat(chat_id))["chat"]) or {}
        assert chats.chain(stored)[-1]["content"] == answer.content, "the stopped answer is the chat's answer"

        regenerate, up, down = _buttons(answer)
        await _click(bridge, answer, world.alice, regenerate)  # endless again: its own Stop ends it
        [_, again] = await sim.wait_for_bot_message(
            thread, count=2, predicate=lambda m: not m.ephemeral and len(m.content) > 40, timeout=60
        )
        [stop] = _buttons(again)
        await _click(bridge, again, world.alice, stop)
        await bridge.wait_idle(timeout=60)
        assert again.content.startswith(texts.attempt_heading(2)) and again.content.endswith(texts.stopped_by("alice"))
        stored = chats.readable((await client.get_chat(chat_id))["chat"]) or {}
        [user] = [m for m in stored["history"]["messages"].values() if m["role"] == "user"]
        assert len(user["childrenIds"]) == 2 and stored["history"]["currentId"] == user["childrenIds"][1]
        assert all(stored["history"]["messages"][a]["parentId"] == user["id"] for a in user["childrenIds"])

        await _click(bridge, answer, world.alice, up)
        await _click(bridge, answer, world.alice, down)
        mine = (await client.call("GET", "/api/v1/evaluations/feedbacks/user"))["items"]
        rated = [f for f in mine if (f["meta"] or {}).get("message_id") == user["childrenIds"][0]]
        assert len(rated) == 1 and rated[0]["data"]["rating"] == -1 and rated[0]["meta"]["chat_id"] == chat_id
