"""Threads the bridge has no record of any more (its database was lost): a follow-up without a mention is
answered when the app posted in the thread, with a note that the earlier messages are not in the chat;
threads the app never took part in stay ignored. Real slack-bolt ↔ fake Slack ↔ fake OpenWebUI."""

from __future__ import annotations

from adapters.slack.threads import FORGOTTEN_THREAD
from tests.adapters.slack.conftest import SlackBridge

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"
BOB = "U0BOB"


async def lose_the_database(bridge: SlackBridge) -> None:
    """The database file disappears (an operator's cleanup, a lost volume); the bridge restarts on a new one."""
    for path in bridge.db.parent.glob(bridge.db.name + "*"):
        path.unlink()
    await bridge.restart()


async def test_follow_ups_in_threads_the_app_took_part_in_are_answered_after_the_database_is_lost(
    slack_bridge: SlackBridge,
) -> None:
    sim = slack_bridge.sim
    opened = await sim.user_mentions_app(CHANNEL, ALICE, "opening question")
    human = await sim.user_posts(CHANNEL, BOB, "a thread people started")
    await sim.user_mentions_app(CHANNEL, BOB, "joined later", thread_ts=human.ts)
    await slack_bridge.settle()
    assert len(sim.bot_messages(CHANNEL, opened.ts)) == 1 and len(sim.bot_messages(CHANNEL, human.ts)) == 1

    await lose_the_database(slack_bridge)
    await sim.user_posts(CHANNEL, ALICE, "follow-up after the loss", thread_ts=opened.ts)
    await sim.user_posts(CHANNEL, ALICE, "and in the joined thread", thread_ts=human.ts)
    await slack_bridge.settle()
    assert sim.bot_messages(CHANNEL, opened.ts)[-1] == slack_bridge.reply_to("follow-up after the loss")
    assert sim.bot_messages(CHANNEL, human.ts)[-1] == slack_bridge.reply_to("and in the joined thread")
    notes = [e for e in sim.ephemerals(CHANNEL, ALICE) if e.get("thread_ts") in (opened.ts, human.ts)]
    assert [n["text"] for n in notes] == [FORGOTTEN_THREAD, FORGOTTEN_THREAD]

    # The thread is a conversation again: the next follow-up continues that chat, without another note.
    await sim.user_posts(CHANNEL, BOB, "second follow-up", thread_ts=opened.ts)
    await slack_bridge.settle()
    assert slack_bridge.asked("second follow-up")[-1].roles.count("user") == 2
    assert len(sim.ephemerals(CHANNEL)) == 2


async def test_threads_the_app_never_took_part_in_stay_ignored_and_are_read_once(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    root = await sim.user_posts(CHANNEL, ALICE, "people talking")
    await sim.user_posts(CHANNEL, BOB, "reply number 0", thread_ts=root.ts)
    await sim.user_posts(CHANNEL, BOB, "reply number 1", thread_ts=root.ts)  # while the thread is being read
    await slack_bridge.settle()
    await sim.user_posts(CHANNEL, BOB, "reply number 2", thread_ts=root.ts)  # after
    await slack_bridge.settle()
    refused = await sim.user_posts(CHANNEL, ALICE, "the app was mentioned, never answered")
    await sim.user_posts(CHANNEL, BOB, f"<@{sim.bot_user_id}> are you there?", thread_ts=refused.ts)
    await sim.user_posts(CHANNEL, BOB, "reply number 3", thread_ts=refused.ts)
    await slack_bridge.settle()
    assert not slack_bridge.asked("reply number")
    assert sim.bot_messages(CHANNEL, root.ts) == [] and sim.ephemerals(CHANNEL) == []
    assert len(sim.calls("conversations.replies")) == 2, "a thread found not to be the app's is remembered"
