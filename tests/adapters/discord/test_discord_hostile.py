"""A model's "@everyone" must never ping, and hostile messages are answered without breaking anything."""

from __future__ import annotations

from bridge.splitting import reassemble
from bridge.texts import answer_cut_long
from simulators.discord import DiscordSimulator
from simulators.model_upstream import long_reply
from tests.adapters.discord.conftest import DiscordBridge, World


async def test_everyone_in_model_output_pings_nobody(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    await discord_bridge.start()
    question = await discord_bridge.ask(world.general, world.alice, "repeat @everyone and @here please [[rate:50]]")
    thread = discord_sim.thread_of(question)
    assert thread is not None
    [answer] = discord_sim.bot_messages(thread)
    assert "@everyone" in discord_sim.message_history(answer)[-1].content
    message_routes = ("POST /channels/{channel_id}/messages", "PATCH /channels/{channel_id}/messages/{message_id}")
    sends = [c for c in discord_sim.calls() if c.route in message_routes]
    assert sends
    for call in sends:
        mentions = (call.body or {}).get("allowed_mentions")
        assert mentions is not None, f"{call.method} {call.route} sent no allowed_mentions"
        assert "everyone" not in mentions.get("parse", []) and not mentions.get("roles"), mentions


async def test_huge_and_control_character_message_is_answered(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    await discord_bridge.start()
    text = "\x07 control " + "🙂" * 1900 + " end"
    question = await discord_bridge.ask(world.general, world.alice, text)
    thread = discord_sim.thread_of(question)
    assert thread is not None
    answers = discord_sim.bot_messages(thread)
    assert answers and all(len(discord_sim.message_history(a)[-1].content) <= 2000 for a in answers)
    assert discord_sim.count_429() == 0


async def test_text_that_is_not_valid_unicode_is_answered_and_stored_valid(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """A lone surrogate in the question (Discord's JSON can carry one) and an emoji the model's stream split
    between two events: the answer shows the emoji whole and a U+FFFD for the lone half, and is stored."""
    await discord_bridge.start()
    question = await discord_bridge.ask(world.general, world.alice, "hi \udc00 [[split-surrogate]]")
    thread = discord_sim.thread_of(question)
    assert thread is not None
    assert discord_sim.bot_texts(thread) == ["echo: hi \ufffd 😀 ok"]
    [chat] = [c["chat"] for c in discord_bridge.owui.chats.values() if "hi \ufffd [[split" in str(c["chat"])]
    assert [m["content"] for m in chat["messages"]] == ["hi \ufffd [[split-surrogate]]", "echo: hi \ufffd 😀 ok"]


async def test_one_huge_stream_event_becomes_a_few_messages_ending_with_a_note(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """A 10 MB event once made 741 messages in two minutes and went on; now the answer is cut at
    BRIDGE_MAX_ANSWER_CHARS (here 6,000) and says so."""
    discord_bridge.options = {"max_answer_chars": 6_000}
    await discord_bridge.start()
    question = await discord_bridge.ask(world.general, world.alice, "[[huge:10000000]]", timeout=30)
    thread = discord_sim.thread_of(question)
    assert thread is not None
    shown = discord_sim.bot_texts(thread)
    assert 3 <= len(shown) <= 5 and all(len(text) <= 2000 for text in shown)
    assert shown[-1].endswith(f"\n\n{answer_cut_long(6_000)}")
    assert reassemble(shown) == f"{long_reply(10_000_000, False)[:6_000]}\n\n{answer_cut_long(6_000)}"
