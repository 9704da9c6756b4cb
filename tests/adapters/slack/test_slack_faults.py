"""When things go wrong: a refused token, a stop during an answer, answers a crash cut off, readiness."""

from __future__ import annotations

import uuid

import pytest
from pydantic import SecretStr

from adapters.slack.app import SlackAdapter
from adapters.slack.events import PLATFORM
from bridge.app import open_app
from bridge.messages import ConversationKey
from bridge.settings import ConfigError
from bridge.texts import ANSWER_NOT_SHOWN, INTERRUPTED, RESTARTING
from tests.adapters.slack.conftest import SlackBridge

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"


@pytest.mark.parametrize(("variable", "override"), [("SLACK_BOT_TOKEN", "bot_token"), ("SLACK_APP_TOKEN", "app_token")])
async def test_a_refused_token_stops_start_with_one_sentence(
    slack_bridge: SlackBridge, variable: str, override: str
) -> None:
    await slack_bridge.stop()
    settings = slack_bridge.settings(**{override: SecretStr("xoxb-not-the-token")})
    async with open_app(settings) as app:
        adapter = SlackAdapter(app.core, settings.platforms["slack"])  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match=f"^{variable}: Slack refused it"):
            await adapter.start()
        assert not adapter.ready() and not adapter.tasks


async def test_readiness_follows_the_connection(slack_bridge: SlackBridge) -> None:
    assert slack_bridge.adapter is not None
    check = slack_bridge.adapter.ready
    assert check()
    await slack_bridge.sim.disconnect_sockets()
    assert await slack_bridge.sim.wait_for(lambda: slack_bridge.sim.socket.connected.is_set() and check(), 5)
    posted = await slack_bridge.sim.user_mentions_app(CHANNEL, ALICE, "after a reconnect")
    await slack_bridge.settle()
    assert slack_bridge.sim.bot_messages(CHANNEL, posted.ts) == [slack_bridge.reply_to("after a reconnect")]
    await slack_bridge.stop()
    assert not check()


async def test_a_stop_during_an_answer_leaves_a_visible_note(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    assert slack_bridge.app is not None
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "long and slow [[reply:2000]] [[rate:40]]")
    assert await sim.wait_for(lambda: bool(sim.bot_message_records(CHANNEL, posted.ts)), 5)
    await slack_bridge.app.engine.drain(grace=0)
    late = await sim.user_mentions_app(CHANNEL, ALICE, "while stopping")
    await slack_bridge.settle()

    (cut,) = sim.bot_messages(CHANNEL, posted.ts)
    assert cut.endswith(f"\n\n⚠️ {INTERRUPTED}") and len(cut) < 2000
    assert not any(m.streaming for m in sim.bot_message_records(CHANNEL, posted.ts))
    assert sim.bot_messages(CHANNEL, late.ts) == [f"⚠️ {RESTARTING}"]
    assert not slack_bridge.asked("while stopping")


async def test_answers_cut_off_by_a_crash_are_marked_after_the_restart(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    adapter, app = slack_bridge.adapter, slack_bridge.app
    assert adapter is not None and app is not None
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "first")
    await slack_bridge.settle()
    conversation = await app.store.conversation(ConversationKey(PLATFORM, sim.team_id, CHANNEL, posted.ts))
    assert conversation is not None

    # What a crash leaves: turns begun, a partial answer (one still streaming), never finished.
    partial = await adapter.client.chat_postMessage(
        channel=CHANNEL, thread_ts=posted.ts, text="half", blocks=[{"type": "markdown", "text": "half an ans"}]
    )
    stream = await adapter.client.chat_startStream(
        channel=CHANNEL,
        thread_ts=posted.ts,
        recipient_team_id=sim.team_id,
        recipient_user_id=ALICE,
        markdown_text="a stream cut",
    )
    for event_id, messages in (("crash-1", [partial["ts"]]), ("crash-2", [stream["ts"]]), ("crash-3", [])):
        turn = await app.store.begin_turn(conversation, event_id, str(uuid.uuid4()), str(uuid.uuid4()), None, "m")
        await app.store.set_turn_messages(turn, messages)
    await slack_bridge.stop()

    await slack_bridge.start()
    await slack_bridge.settle()
    note = f"⚠️ {INTERRUPTED}"
    assert sim.message(CHANNEL, partial["ts"]).visible_text == f"half an ans\n\n{note}"  # type: ignore[union-attr]
    streamed = sim.message(CHANNEL, stream["ts"])
    assert streamed is not None and not streamed.streaming and streamed.visible_text == f"a stream cut\n\n{note}"
    assert sim.bot_messages(CHANNEL, posted.ts)[-1] == note
    assert slack_bridge.app is not None and await slack_bridge.app.store.open_turns("slack") == []


async def test_an_answer_slack_refuses_is_reported_in_a_sentence_and_logged(
    slack_bridge: SlackBridge, caplog: pytest.LogCaptureFixture
) -> None:
    """When Slack refuses every post of an answer, the asker gets a short sentence only they see; Slack's
    error, with its API URL, goes to the log."""
    await slack_bridge.restart(native_streaming=False)
    slack_bridge.sim.web_api.faults.add("chat.postMessage", 500, 10)
    await slack_bridge.sim.user_mentions_app(CHANNEL, ALICE, "is anyone there?")
    await slack_bridge.settle()
    [note] = slack_bridge.sim.ephemerals(user=ALICE)
    assert note["text"] == f"⚠️ {ANSWER_NOT_SHOWN}"
    assert "internal_error" in caplog.text and "/api/chat.postMessage" in caplog.text
