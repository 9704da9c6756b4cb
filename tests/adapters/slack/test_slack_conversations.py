"""Mentions, threads, DMs, retries and long replies, end to end: real slack-bolt ↔ fake Slack ↔ fake OpenWebUI."""

from __future__ import annotations

import asyncio
import itertools

from adapters.slack.app import SlackAdapter
from adapters.slack.events import PLATFORM
from adapters.slack.pacing import Budgets
from bridge.app import open_app
from bridge.messages import ConversationKey
from bridge.runner import serve
from bridge.splitting import reassemble
from tests.adapters.slack.conftest import SlackBridge
from tests.clock import FakeClock

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"
BOB = "U0BOB"


async def chat_id(bridge: SlackBridge, channel: str, thread: str) -> str:
    assert bridge.app is not None
    team = bridge.sim.team_id
    conversation = await bridge.app.store.conversation(ConversationKey(PLATFORM, team, channel, thread))
    assert conversation is not None, f"no conversation in {channel} {thread!r}"
    return conversation.chat_id


async def test_mention_streams_the_answer_into_the_thread(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "first question [[reply:600]] [[rate:150]]")
    assert await posted.acked(3)
    await slack_bridge.settle()

    answer = slack_bridge.reply_to("first question")
    assert len(answer) == 600
    assert sim.bot_messages(CHANNEL, posted.ts) == [answer]
    assert sim.bot_messages(CHANNEL) == []  # nothing at the channel's top level
    start = sim.calls("chat.startStream")[0]
    assert start.params["thread_ts"] == posted.ts
    assert start.params["recipient_user_id"] == ALICE and start.params["recipient_team_id"] == sim.team_id
    versions = sim.message_history(CHANNEL, start.response["ts"])
    assert len(versions) >= 3, "the answer should grow in several steps"
    assert all(b.visible_text.startswith(a.visible_text) for a, b in itertools.pairwise(versions))
    assert len(sim.calls("chat.stopStream")) == 1 and not sim.calls("chat.update")
    assert sim.thread_statuses(CHANNEL, posted.ts)[:1] == ["is thinking…"]
    assert sim.count_429() == 0
    # The model saw the question without the mention markup.
    assert slack_bridge.asked("first question")[-1].text_of(-1).startswith("first question")


async def test_thread_follow_up_continues_the_chat_also_after_a_restart(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "remember MARKER-thread1")
    await slack_bridge.settle()
    first_chat = await chat_id(slack_bridge, CHANNEL, posted.ts)

    await sim.user_posts(CHANNEL, BOB, "and a follow-up without mention", thread_ts=posted.ts)
    await slack_bridge.settle()
    assert await chat_id(slack_bridge, CHANNEL, posted.ts) == first_chat
    follow_up = slack_bridge.asked("and a follow-up without mention")[-1]
    assert follow_up.markers == ["MARKER-thread1"]  # the first turn is in the context
    assert follow_up.roles.count("user") == 2

    await slack_bridge.restart()
    await sim.user_posts(CHANNEL, ALICE, "after the restart", thread_ts=posted.ts)
    await slack_bridge.settle()
    assert await chat_id(slack_bridge, CHANNEL, posted.ts) == first_chat
    assert slack_bridge.asked("after the restart")[-1].roles.count("user") == 3
    replies = sim.bot_messages(CHANNEL, posted.ts)
    assert replies == [
        slack_bridge.reply_to("remember MARKER-thread1"),
        slack_bridge.reply_to("and a follow-up without mention"),
        slack_bridge.reply_to("after the restart"),
    ]
    chat = slack_bridge.owui.chats[first_chat]["chat"]
    assert len(chat["history"]["messages"]) == 6


async def test_messages_outside_conversations_and_from_bots_are_ignored(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    chatter = await sim.user_posts(CHANNEL, ALICE, "plain channel chatter")
    root = await sim.user_posts(CHANNEL, ALICE, "a thread without the bot")
    await sim.user_posts(CHANNEL, BOB, "reply in that thread", thread_ts=root.ts)
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "now with the bot")
    await slack_bridge.settle()
    await sim.other_bot_posts(CHANNEL, "another bot talks", thread_ts=posted.ts)
    await sim.user_edits(CHANNEL, chatter.ts, "edited chatter")  # an edit of a message that was no question
    await sim.user_joins(CHANNEL, "U0BOB")
    await slack_bridge.settle()

    assert not slack_bridge.asked("chatter")
    assert not slack_bridge.asked("reply in that thread")
    assert not slack_bridge.asked("another bot talks")
    assert not slack_bridge.asked("edited chatter")
    assert sim.bot_messages(CHANNEL, posted.ts) == [slack_bridge.reply_to("now with the bot")]
    assert sim.bot_messages(CHANNEL, root.ts) == []


async def test_mention_in_a_followed_thread_is_answered_once(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "opening")
    await slack_bridge.settle()
    again = await sim.user_mentions_app(CHANNEL, BOB, "mention inside the thread", thread_ts=posted.ts)
    assert len(again.event_ids) == 2  # app_mention and message
    await slack_bridge.settle()
    assert len(slack_bridge.asked("mention inside the thread")) == 1
    assert len(sim.bot_messages(CHANNEL, posted.ts)) == 2


async def test_retried_events_are_answered_once(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "retry me [[reply:300]] [[rate:100]]")
    assert await posted.acked(3)
    sim.deliver_again(posted.event_ids[0])  # while the first delivery is being answered
    await slack_bridge.settle()
    for event_id in posted.event_ids:
        sim.deliver_again(event_id)  # and after it
    await slack_bridge.settle()

    mention = sim.deliveries(posted.event_ids[0])[0]
    assert [a.retry_num for a in mention.attempts] == [0, 1, 2]
    assert len(slack_bridge.asked("retry me")) == 1
    assert sim.bot_messages(CHANNEL, posted.ts) == [slack_bridge.reply_to("retry me")]


async def test_direct_messages(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    dm = sim.dm_channel(ALICE)
    await sim.user_dm(ALICE, "dm one MARKER-dm1 [[delay:2]]")
    await slack_bridge.settle()
    top = sim.bot_message_records(dm)
    assert [m.visible_text for m in top] == [slack_bridge.reply_to("dm one")]
    versions = sim.message_history(dm, top[0].ts)
    assert versions[0].visible_text == "_Thinking…_"  # the placeholder, replaced by the answer

    second = await sim.user_dm(ALICE, "dm two")
    await slack_bridge.settle()
    assert slack_bridge.asked("dm two")[-1].markers == ["MARKER-dm1"]
    first_chat = await chat_id(slack_bridge, dm, "")

    await sim.user_dm(ALICE, "a separate thread", thread_ts=second.ts)
    await slack_bridge.settle()
    assert sim.bot_messages(dm, second.ts) == [slack_bridge.reply_to("a separate thread")]
    assert slack_bridge.asked("a separate thread")[-1].markers == []
    assert await chat_id(slack_bridge, dm, second.ts) != first_chat
    assert len(sim.bot_message_records(dm)) == 2  # the thread's answer is not at the top level


async def test_a_6000_character_answer_with_code(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "long one [[reply:6000]] [[code]] [[rate:800]]")
    await slack_bridge.settle()
    answer = slack_bridge.reply_to("long one")
    assert len(answer) == 6000 and "```python" in answer
    assert reassemble(sim.bot_messages(CHANNEL, posted.ts)) == answer
    assert sim.count_429() == 0


async def test_long_answers_split_into_several_messages(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    await slack_bridge.restart(max_message_chars=2500)
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "split me [[reply:6000]] [[code]] [[rate:800]]")
    await slack_bridge.settle()
    answer = slack_bridge.reply_to("split me")
    parts = sim.bot_messages(CHANNEL, posted.ts)
    assert len(parts) >= 3 and all(len(p) <= 2500 for p in parts)
    assert reassemble(parts) == answer
    assert all(p.count("```") % 2 == 0 for p in parts), "every part renders its code fences"
    assert not any(m.streaming for m in sim.bot_message_records(CHANNEL, posted.ts))
    assert sim.count_429() == 0


async def test_refused_stream_falls_back_to_post_and_update(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    sim.config.streaming_error = "feature_not_enabled"
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "no streams here [[reply:900]] [[rate:100]]")
    await slack_bridge.settle()
    assert sim.bot_messages(CHANNEL, posted.ts) == [slack_bridge.reply_to("no streams here")]
    assert [c.error for c in sim.calls("chat.startStream")] == ["feature_not_enabled"]
    assert sim.calls("chat.postMessage") and sim.calls("chat.update")
    ts = sim.calls("chat.postMessage")[0].response["ts"]
    assert {c.params["ts"] for c in sim.calls("chat.update")} == {ts}

    # The workspace is remembered as refusing streams: the next reply does not try again.
    second = await sim.user_mentions_app(CHANNEL, ALICE, "still no streams [[reply:300]] [[rate:100]]")
    await slack_bridge.settle()
    assert sim.bot_messages(CHANNEL, second.ts) == [slack_bridge.reply_to("still no streams")]
    assert len(sim.calls("chat.startStream")) == 1


async def test_a_refused_stream_is_tried_again_ten_minutes_later(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    assert slack_bridge.adapter is not None
    clock = FakeClock()
    slack_bridge.adapter.budgets = Budgets(clock=clock)  # before the first reply: every workspace reads `clock`
    sim.config.streaming_error = "feature_not_enabled"
    first = await sim.user_mentions_app(CHANNEL, ALICE, "refused [[reply:300]] [[rate:100]]")
    await slack_bridge.settle()
    assert sim.bot_messages(CHANNEL, first.ts) == [slack_bridge.reply_to("refused")]
    sim.config.streaming_error = None  # the workspace turns the feature on; the bridge does not know yet

    clock.advance(599)
    second = await sim.user_mentions_app(CHANNEL, ALICE, "nine minutes later [[reply:300]] [[rate:100]]")
    await slack_bridge.settle()
    assert sim.bot_messages(CHANNEL, second.ts) == [slack_bridge.reply_to("nine minutes later")]
    assert len(sim.calls("chat.startStream")) == 1, "no new try before ten minutes"

    clock.advance(2)
    third = await sim.user_mentions_app(CHANNEL, ALICE, "ten minutes later [[reply:300]] [[rate:100]]")
    await slack_bridge.settle()
    assert sim.bot_messages(CHANNEL, third.ts) == [slack_bridge.reply_to("ten minutes later")]
    [_, retried] = sim.calls("chat.startStream")
    assert retried.error is None and retried.params["thread_ts"] == third.ts


async def test_stream_closed_by_slack_continues_with_update_on_the_same_message(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    sim.config.stream_lifetime = 0.4
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "outlive the stream [[reply:900]] [[rate:80]]")
    await slack_bridge.settle()
    answer = slack_bridge.reply_to("outlive the stream")
    assert sim.bot_messages(CHANNEL, posted.ts) == [answer]
    ts = sim.calls("chat.startStream")[0].response["ts"]
    assert "message_not_in_streaming_state" in {c.error for c in sim.calls("chat.appendStream")}
    updates = sim.calls("chat.update")
    assert updates and {c.params["ts"] for c in updates} == {ts}
    assert all(len(c.params["text"]) < 4000 for c in updates)


async def test_openwebui_down_mid_conversation(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "before the outage")
    await slack_bridge.settle()
    slack_bridge.owui.down = True
    try:
        await sim.user_posts(CHANNEL, ALICE, "during the outage", thread_ts=posted.ts)
        await slack_bridge.settle()
    finally:
        slack_bridge.owui.down = False
    replies = sim.bot_messages(CHANNEL, posted.ts)
    assert len(replies) == 2 and replies[1].startswith("⚠️ ")

    await sim.user_posts(CHANNEL, ALICE, "after the outage", thread_ts=posted.ts)
    await slack_bridge.settle()
    assert sim.bot_messages(CHANNEL, posted.ts)[2] == slack_bridge.reply_to("after the outage")
    assert slack_bridge.asked("after the outage")[-1].roles.count("user") >= 2


async def test_bridge_run_answers_until_stopped(slack_bridge: SlackBridge) -> None:
    """The runner's path (`bridge run`): a stop interrupts the slow answer with its note, then disconnects."""
    sim = slack_bridge.sim
    await slack_bridge.stop()
    settings = slack_bridge.settings()
    stop = asyncio.Event()
    async with open_app(settings) as app:
        adapter = SlackAdapter(app.core, settings.platforms["slack"])  # type: ignore[arg-type]
        runner = asyncio.create_task(serve(app, {"slack": adapter}, stop))
        await sim.wait_socket_connected()
        posted = await sim.user_mentions_app(CHANNEL, ALICE, "via bridge run")
        assert await sim.wait_for(lambda: bool(slack_bridge.asked("via bridge run")), 5)
        answered = [slack_bridge.reply_to("via bridge run")]
        assert await sim.wait_for(lambda: sim.bot_messages(CHANNEL, posted.ts) == answered)
        slow = await sim.user_mentions_app(CHANNEL, ALICE, "cut short [[reply:3000]] [[rate:20]]")
        assert await sim.wait_for(lambda: bool(sim.bot_message_records(CHANNEL, slow.ts)), 5)
        stop.set()
        await asyncio.wait_for(runner, 10)
        assert not sim.socket.connected.is_set()
