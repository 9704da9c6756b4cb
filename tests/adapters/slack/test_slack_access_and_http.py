"""Who may use the bridge (refusals are ephemeral, never silence), and HTTP mode with signed requests."""

from __future__ import annotations

import logging
import time

import pytest

from adapters.slack.access import NOT_ADMIN
from adapters.slack.app import EMPTY_MENTION
from simulators.slack.config import DEFAULT_BOT_SCOPES
from tests.adapters.slack.conftest import SlackBridge

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"
BOB = "U0BOB"


async def test_refused_users_get_an_ephemeral_answer_once(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    await slack_bridge.restart(denied_users=[BOB], allowed_channels=[CHANNEL, "C0PRIVATE"], allow_dms=False)

    posted = await sim.user_mentions_app(CHANNEL, BOB, "let me in")
    await slack_bridge.settle()
    sim.deliver_again(posted.event_ids[0])
    await slack_bridge.settle()
    notes = sim.ephemerals(CHANNEL, BOB)
    assert [n["visible_text"] for n in notes] == [
        "You are not allowed to use the OpenWebUI bridge; ask the bridge's admin for access."
    ]
    assert notes[0]["thread_ts"] is None  # shown where the message was, not in a thread nobody opened

    await sim.user_mentions_app("C0RANDOM", ALICE, "wrong channel")
    await sim.user_dm(ALICE, "dm while DMs are off")
    await slack_bridge.settle()
    assert [n["visible_text"] for n in sim.ephemerals("C0RANDOM", ALICE)] == [
        "I am not allowed to answer in this channel; the bridge's admin decides where I work."
    ]
    assert [n["visible_text"] for n in sim.ephemerals(sim.dm_channel(ALICE), ALICE)] == [
        "Direct messages with me are turned off; mention me in a channel instead."
    ]
    invocation = await sim.slash_command("/owui", "ask please?", BOB, CHANNEL)
    assert [r.text for r in await invocation.wait_responses(1, 3)] == [
        "You are not allowed to use the OpenWebUI bridge; ask the bridge's admin for access."
    ]
    assert not slack_bridge.asked("let me in") and not slack_bridge.asked("wrong channel")
    assert not slack_bridge.asked("dm while DMs are off") and not slack_bridge.asked("please?")
    assert sim.bot_messages(CHANNEL, posted.ts) == []

    allowed = await sim.user_mentions_app(CHANNEL, ALICE, "allowed here")
    await slack_bridge.settle()
    assert sim.bot_messages(CHANNEL, allowed.ts) == [slack_bridge.reply_to("allowed here")]


async def test_workspace_lists_admin_list_and_empty_mentions(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    await slack_bridge.restart(admin_users=[BOB])
    changed = await sim.slash_command("/owui", "model vision-1", BOB, CHANNEL)
    refused = await sim.slash_command("/owui", "model echo-1", ALICE, CHANNEL)  # a workspace admin, not listed
    await slack_bridge.settle()
    assert "`vision-1`" in changed.responses[0].text
    assert refused.responses[0].text == f"⚠️ {NOT_ADMIN}"
    assert not sim.calls("users.info")

    empty = await sim.user_mentions_app(CHANNEL, ALICE, "")
    await slack_bridge.settle()
    assert sim.ephemerals(CHANNEL, ALICE)[-1]["visible_text"] == EMPTY_MENTION
    assert sim.bot_messages(CHANNEL, empty.ts) == []

    await slack_bridge.restart(allowed_teams=["T0SOMEOTHER"])
    await sim.user_mentions_app(CHANNEL, ALICE, "wrong workspace")
    await slack_bridge.settle()
    assert sim.ephemerals(CHANNEL, ALICE)[-1]["visible_text"] == (
        "This workspace is not allowed to use the OpenWebUI bridge."
    )
    assert not slack_bridge.asked("wrong workspace")


async def test_http_mode_checks_signatures_and_answers(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    await slack_bridge.restart(mode="http")

    verified = await sim.url_verification("challenge-42")
    assert verified.status == 200 and verified.json() == {"challenge": "challenge-42"}

    posted = await sim.user_mentions_app(CHANNEL, ALICE, "over http [[reply:400]] [[rate:200]]")
    await slack_bridge.settle()
    assert sim.bot_messages(CHANNEL, posted.ts) == [slack_bridge.reply_to("over http")]
    for delivery in posted.deliveries:
        assert [(a.outcome, a.http_status) for a in delivery.attempts] == [("acked", 200)]
        assert (delivery.attempts[0].latency or 0) < 1.0

    forged = sim.build_message_event(CHANNEL, ALICE, "forged follow-up", thread_ts=posted.ts)
    bad = await sim.send_http("events_api", forged, signature="v0=" + "0" * 64)
    stale = await sim.send_http("events_api", forged, timestamp=int(time.time()) - 600)
    assert (bad.status, stale.status) == (401, 401)
    await slack_bridge.settle()
    assert not slack_bridge.asked("forged follow-up")

    good = await sim.send_http("events_api", forged)
    assert good.status == 200
    await slack_bridge.settle()
    assert sim.bot_messages(CHANNEL, posted.ts)[-1] == slack_bridge.reply_to("forged follow-up")

    invocation = await sim.slash_command("/owui", "model", ALICE, CHANNEL)
    assert await invocation.acked(2)
    (answer,) = await invocation.wait_responses(1, 3)
    assert answer.text.startswith("Model here: `echo-1`")
    assert invocation.delivery.attempts[0].http_status == 200


async def test_a_replayed_slash_command_is_answered_once(slack_bridge: SlackBridge) -> None:
    """A captured, validly signed command sent again within Slack's five minutes is acknowledged and ignored."""
    sim = slack_bridge.sim
    await slack_bridge.restart(mode="http")
    invocation = await sim.slash_command("/owui", "ask asked only once?", ALICE, CHANNEL)
    assert await invocation.acked(2)
    await slack_bridge.settle()
    replays = [await sim.replay_http(invocation.delivery) for _ in range(2)]
    assert [r.status for r in replays] == [200, 200]  # still a valid signature: only the replay check stops it
    await slack_bridge.settle()
    assert len(slack_bridge.asked("asked only once?")) == 1
    assert sim.bot_messages(CHANNEL) == [f"<@{ALICE}> asked: asked only once?"]

    status = await sim.slash_command("/owui", "status", ALICE, CHANNEL)
    await slack_bridge.settle()
    await sim.replay_http(status.delivery)
    await slack_bridge.settle()
    assert len(status.responses) == 1


async def test_scopes_the_token_lacks_are_named_in_one_warning(
    slack_bridge: SlackBridge, caplog: pytest.LogCaptureFixture
) -> None:
    sim = slack_bridge.sim
    with caplog.at_level(logging.WARNING, logger="adapters.slack"):
        await slack_bridge.restart()
        assert [r for r in caplog.records if "scope" in r.getMessage()] == [], "a full token gets no warning"
        sim.set_bot_scopes(set(DEFAULT_BOT_SCOPES) - {"files:read", "assistant:write"})
        await slack_bridge.restart()
    [warning] = [r for r in caplog.records if "scope" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    assert warning.getMessage() == (
        "Slack: the bot token lacks scopes, so these do not work: "
        "files:read (files shared with the bot); "
        "assistant:write (the “is thinking…” status and assistant thread titles)"
    )
