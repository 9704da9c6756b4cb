"""Slack answering a 429 storm or 5xx: the answer still arrives whole, and nothing is shown twice."""

from __future__ import annotations

from tests.adapters.slack.conftest import SlackBridge

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"


async def test_a_429_storm_on_updates_delays_but_loses_nothing(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    await slack_bridge.restart(native_streaming=False)
    sim.web_api.faults.add("chat.update", 429, count=3, retry_after=1)
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "storm [[reply:800]] [[rate:120]]")
    await slack_bridge.settle()
    assert sim.bot_messages(CHANNEL, posted.ts) == [slack_bridge.reply_to("storm")]
    assert len(sim.web_api.faults.served) == 3


async def test_a_server_error_on_an_update_is_retried(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    await slack_bridge.restart(native_streaming=False)
    sim.web_api.faults.add("chat.update", 500, count=1)
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "shaky [[reply:600]] [[rate:100]]")
    await slack_bridge.settle()
    assert sim.bot_messages(CHANNEL, posted.ts) == [slack_bridge.reply_to("shaky")]
    assert [c.status for c in sim.calls("chat.update")].count(500) == 1


async def test_a_server_error_on_the_post_shows_the_answer_with_a_warning_once(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    await slack_bridge.restart(native_streaming=False)
    sim.web_api.faults.add("chat.postMessage", 500, count=1)
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "fragile")
    await slack_bridge.settle()
    [shown] = sim.bot_messages(CHANNEL, posted.ts)  # not repeated: a post is never retried blindly
    assert shown.startswith("echo: fragile") and "⚠️" in shown
