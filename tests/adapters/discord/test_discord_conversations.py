"""Conversations through the real discord.py client: threads, follow-ups, restarts, DMs, channel mode."""

from __future__ import annotations

import pytest

from adapters.discord.bot import EMPTY_MENTION
from adapters.discord.events import thread_name
from adapters.discord.surface import ChannelReplySurface
from bridge.live_reply import LiveReply
from bridge.splitting import reassemble
from simulators.discord import DiscordSimulator, SimFile
from simulators.model_upstream import long_reply
from tests.adapters.discord.conftest import DiscordBridge, World
from tests.clock import FakeClock


def _chat_ids(bridge: DiscordBridge) -> list[str]:
    return list(bridge.owui.chats)


async def test_mention_opens_a_thread_and_streams_the_models_answer(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    question = await discord_bridge.ask(world.general, world.alice, "tell me a story [[reply:400]] [[rate:40]]")

    thread = sim.thread_of(question)
    assert thread is not None and thread.owner_id == sim.bot_user.id
    assert thread.name == "tell me a story [[reply:400]] [[rate:40]]"
    [answer] = sim.bot_messages(thread)
    expected = discord_bridge.upstream.asked("tell me a story")[-1].reply
    assert expected == long_reply(400, False)
    versions = sim.message_history(answer)
    assert len(versions) > 1, "a slow answer is shown while it grows"
    assert versions[-1].content == expected
    assert all(expected.startswith(v.content.rstrip()) for v in versions)
    assert sim.typing_calls(thread), "the typing indicator shows before the first text"
    assert sim.bot_messages(world.general) == [], "nothing but the thread is posted in the channel"
    assert sim.count_429() == 0


async def test_follow_up_without_mention_continues_the_chat_even_after_a_restart(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    question = await discord_bridge.ask(world.general, world.alice, "first MARKER-one")
    thread = sim.thread_of(question)
    assert thread is not None
    chats_before = _chat_ids(discord_bridge)

    follow_up = await sim.user_says(thread, world.alice, "second question")
    await discord_bridge.wait_answered(follow_up)
    request = discord_bridge.upstream.asked("second question")[-1]
    assert [m["role"] for m in request.messages] == ["user", "assistant", "user"]
    assert sim.bot_texts(thread)[-1] == "echo: second question [markers: MARKER-one]", "the first turn is context"

    await discord_bridge.restart()
    after = await sim.user_says(thread, world.alice, "third question")
    await discord_bridge.wait_answered(after)
    request = discord_bridge.upstream.asked("third question")[-1]
    assert request.message_count == 5, "the restarted bridge continues the same OpenWebUI chat"
    assert _chat_ids(discord_bridge) == chats_before
    assert sim.bot_texts(thread)[-1] == "echo: third question [markers: MARKER-one]"


async def test_messages_not_for_the_bot_are_ignored(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    other_bot = await sim.create_user("other-bot", bot=True)
    await sim.add_member(world.guild, other_bot)
    await sim.user_says(world.general, world.alice, "just chatting")
    await sim.user_says(world.general, other_bot, "hello bridge", mentions_bot=True)
    user_thread = await sim.create_thread(world.general, "people only", owner=world.alice)
    await sim.user_says(user_thread, world.alice, "no mention here")
    marker = await discord_bridge.ask(world.general, world.alice, "now me")
    assert sim.thread_of(marker) is not None
    assert len(sim.threads(world.general)) == 2  # the people's thread and the answer's
    assert sim.bot_messages(user_thread) == []
    assert [m.content for m in sim.bot_messages(sim.thread_of(marker))] == ["echo: now me"]


async def test_a_webhooks_message_is_ignored_even_when_it_mentions_the_bot(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    await sim.webhook_says(world.general, "GitHub", "build failed, please explain", mentions_bot=True)
    marker = await discord_bridge.ask(world.general, world.alice, "after the webhook")
    assert [t.id for t in sim.threads(world.general)] == [marker.id], "only the person's mention opened a thread"
    assert not discord_bridge.upstream.requests_containing("build failed")
    assert sim.bot_messages(world.general) == []


async def test_a_mention_without_text_or_file_gets_the_hint(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    asked = len(discord_bridge.upstream.requests)
    question = await discord_bridge.ask(world.general, world.alice, "")
    [hint] = sim.bot_messages(world.general)
    assert hint.content == EMPTY_MENTION and hint.reference_id == question.id
    assert sim.threads(world.general) == [], "no thread is opened for an empty question"
    assert len(discord_bridge.upstream.requests) == asked, "the model is not asked"


async def test_threads_are_named_after_the_questions_first_line(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """First line, whitespace collapsed, at most 100 characters (cut at a word's end with "…"); a question
    that is only a file is named after the file."""
    sim = discord_sim
    await discord_bridge.start()
    multi_line = await discord_bridge.ask(world.general, world.alice, "  What   is\tthe plan?  \nDetails follow here")
    long = await discord_bridge.ask(world.general, world.alice, "a" * 98 + " " + "b" * 60)
    only_file = await sim.user_says(
        world.general, world.alice, mentions_bot=True, attachments=[SimFile("budget.md", b"# numbers", "text/markdown")]
    )
    await discord_bridge.wait_answered(only_file)
    names = [sim.thread_of(q).name for q in (multi_line, long, only_file)]  # type: ignore[union-attr]
    assert names == ["What is the plan?", "a" * 98 + "…", "budget.md"]


@pytest.mark.parametrize(
    ("text", "fallback", "name"),
    [
        ("Why is the sky blue?\nI always wondered.", "alice", "Why is the sky blue?"),
        ("\n\n  spaced \t\t out  \n", "alice", "spaced out"),
        ("x" * 100, "alice", "x" * 100),
        ("x" * 101, "alice", "x" * 99 + "…"),
        ("", "report.pdf", "report.pdf"),
        ("   ", "alice", "alice"),
    ],
)
def test_thread_name_rule(text: str, fallback: str, name: str) -> None:
    assert thread_name(text, fallback) == name


async def test_thread_archive_minutes_reach_discord(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISCORD_THREAD_ARCHIVE_MINUTES", "60")
    await discord_bridge.start()
    question = await discord_bridge.ask(world.general, world.alice, "hide me soon")
    thread = discord_sim.thread_of(question)
    assert thread is not None and thread.auto_archive_duration == 60
    [create] = discord_sim.calls("POST /channels/{channel_id}/messages/{message_id}/threads")
    assert create.body["auto_archive_duration"] == 60


async def test_a_dm_is_one_conversation(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    dm = await sim.create_dm(world.alice)
    first = await sim.user_says(dm, world.alice, "hello in private")
    await discord_bridge.wait_answered(first)
    second = await sim.user_says(dm, world.alice, "and again")
    await discord_bridge.wait_answered(second)
    assert sim.bot_texts(dm) == ["echo: hello in private", "echo: and again"]
    assert discord_bridge.upstream.asked("and again")[-1].message_count == 3


async def test_a_long_answer_with_code_splits_into_valid_messages(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    question = await discord_bridge.ask(world.general, world.alice, "code please [[reply:5000]] [[code]]")
    thread = sim.thread_of(question)
    assert thread is not None
    parts = sim.bot_texts(thread)
    expected = long_reply(5000, True)
    assert len(parts) >= 3
    assert all(0 < len(p) <= 2000 for p in parts)
    assert all(p.count("```") % 2 == 0 for p in parts), "every part closes the code fences it opens"
    assert reassemble(parts) == expected
    assert sim.count_429() == 0


async def test_channel_mode_answers_as_a_reply_chain(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start(reply_mode="channel")
    question = await discord_bridge.ask(world.general, world.alice, "in the channel please")
    [answer] = sim.bot_messages(world.general)
    assert answer.reference_id == question.id and answer.content == "echo: in the channel please"
    assert sim.threads(world.general) == []

    follow_up = await sim.user_says(world.general, world.alice, "and more", reply_to=answer, mention_author=False)
    await discord_bridge.wait_answered(follow_up)
    assert discord_bridge.upstream.asked("and more")[-1].message_count == 3
    await discord_bridge.restart(reply_mode="channel")
    latest = sim.bot_messages(world.general)[-1]
    third = await sim.user_says(world.general, world.alice, "after restart", reply_to=latest)
    await discord_bridge.wait_answered(third)
    after_restart = discord_bridge.upstream.asked("after restart")[-1]
    assert after_restart.message_count == 5, "the chain is found again after a restart"


async def test_a_message_sent_while_the_gateway_was_down_is_answered_once_after_resume(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    adapter = await discord_bridge.start()
    ready = adapter.ready
    assert ready()
    await sim.drop_connections()
    await sim.wait_until(lambda: not ready(), 5, "the readiness check to see the drop")
    question = await sim.user_says(world.general, world.alice, "did you miss me", mentions_bot=True)
    await discord_bridge.wait_answered(question)
    assert sim.resume_count == 1 and ready()
    thread = sim.thread_of(question)
    assert thread is not None and sim.bot_texts(thread) == ["echo: did you miss me"]
    assert len(sim.threads(world.general)) == 1
    await adapter.stop(0)
    assert not ready()


async def test_a_mention_replayed_after_a_restart_is_answered_once_and_never_refused(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """The bot's memory of the messages it took up survives a restart: a replayed mention neither tries to
    open its thread again (Discord refuses: "A thread has already been created") nor repeats a refusal."""
    sim = discord_sim
    await discord_bridge.start()
    question = await discord_bridge.ask(world.general, world.alice, "answer me only once")
    bob = await sim.create_user("bob")
    await sim.add_member(world.guild, bob)
    await discord_bridge.restart(denied_users=str(bob.id))
    refused = await discord_bridge.ask(world.general, bob, "may I?")
    await discord_bridge.restart(denied_users=str(bob.id))
    for message in (question, refused):
        await sim.redeliver(message)
        await discord_bridge.wait_answered(message)
    thread = sim.thread_of(question)
    assert thread is not None and sim.bot_texts(thread) == ["echo: answer me only once"]
    assert len(discord_bridge.upstream.requests_containing("answer me only once")) == 1
    assert len(sim.threads(world.general)) == 1
    said = sim.bot_texts(world.general)
    assert len(said) == 1 and said[0].startswith("⛔"), said  # the refusal, once; no "could not open a thread"


async def test_an_archived_thread_continues_after_a_restart(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """Discord hides idle threads; after a restart the bot no longer has them cached, yet a message continues."""
    sim = discord_sim
    await discord_bridge.start()
    question = await discord_bridge.ask(world.general, world.alice, "before the weekend MARKER-friday")
    thread = sim.thread_of(question)
    assert thread is not None
    await sim.archive_thread(thread)
    await discord_bridge.restart()
    monday = await sim.user_says(thread, world.alice, "back again")
    await discord_bridge.wait_answered(monday)
    assert sim.bot_texts(thread)[-1] == "echo: back again [markers: MARKER-friday]"


async def test_a_message_still_edited_after_50_minutes_is_left_and_the_answer_goes_on_in_a_new_one(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """Discord refuses edits of messages older than an hour; the bridge stops editing one at 50 minutes."""
    sim = discord_sim
    adapter = await discord_bridge.start()
    channel = adapter.client.get_channel(world.general.id)
    clock = FakeClock()
    reply = LiveReply(ChannelReplySurface(channel, adapter.rates), clock=clock)  # type: ignore[arg-type]
    reply.start()

    def shown() -> list[str]:
        return [m.content.rstrip() for m in sim.bot_messages(world.general)]

    reply.update("first ")
    await sim.wait_until(lambda: shown() == ["first"], 5, "the first post")
    clock.advance(49 * 60 + 59)
    reply.update("first second ")
    await sim.wait_until(lambda: shown() == ["first second"], 5, "an edit of the same message at 49:59")
    clock.advance(1)
    reply.update("first second third ")
    await sim.wait_until(lambda: len(shown()) == 2, 5, "a new message at 50:00")
    await reply.finish("first second third fourth")
    assert shown() == ["first second", "third fourth"]
