"""Message shortcuts (`message_action` over Socket Mode) and `/owui prompt`, through slack-bolt."""

from __future__ import annotations

import uuid

import pytest

from simulators.slack.assistant import run_message_shortcut
from tests import openwebui_extras as extras
from tests.adapters.slack.conftest import SlackBridge

ALICE = "U0ALICE"  # a workspace admin in the simulator
BOB = "U0BOB"
GENERAL = "C0GENERAL"


async def test_ask_about_a_message_answers_in_its_thread(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    posted = await sim.user_posts(GENERAL, BOB, "is <@U0ALICE> right about MARKER-sc1?")
    run_message_shortcut(sim, "ask_about_message", ALICE, GENERAL, posted.ts)
    await slack_bridge.settle()
    [request] = slack_bridge.upstream.requests_containing("MARKER-sc1")
    assert request.question.startswith("Explain this message") and "@U0BOB: is @U0ALICE right" in request.question
    assert sim.bot_messages(GENERAL, posted.ts) == [request.reply]

    mine = await sim.user_dm(ALICE, "MARKER-scdm what now")
    run_message_shortcut(sim, "ask_about_message", ALICE, mine.channel, mine.ts)
    await slack_bridge.settle()
    _answered, explained = slack_bridge.asked("MARKER-scdm")  # the DM message itself, then the shortcut
    assert explained.question.startswith("Explain this message") and explained.message_count == 3, "the DM's chat"
    assert sim.bot_messages(mine.channel)[-1] == explained.reply


async def test_summarize_a_thread_reads_it_in_order(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    root = await sim.user_posts(GENERAL, BOB, "plan MARKER-t0")
    for i in range(1, 4):
        await sim.user_posts(GENERAL, ALICE if i % 2 else BOB, f"step MARKER-t{i}", thread_ts=root.ts)
    await slack_bridge.settle()
    shortcut = run_message_shortcut(sim, "summarize_thread", ALICE, GENERAL, root.ts)
    await slack_bridge.settle()
    [request] = slack_bridge.upstream.requests_containing("MARKER-t3")
    question = request.question
    assert question.startswith("Summarize this conversation") and "The thread:" in question
    assert [question.index(f"MARKER-t{i}") for i in range(4)] == sorted(
        question.index(f"MARKER-t{i}") for i in range(4)
    )
    assert sim.bot_messages(GENERAL, root.ts)[-1] == request.reply
    assert shortcut.url.posts == [], "nothing to say privately"

    alone = await sim.user_posts(GENERAL, BOB, "lonely MARKER-t9")
    run_message_shortcut(sim, "summarize_thread", ALICE, GENERAL, alone.ts)
    await slack_bridge.settle()
    [channel_request] = slack_bridge.upstream.requests_containing("MARKER-t9")
    assert "The channel's latest messages:" in channel_request.question and "MARKER-t0" in channel_request.question
    assert sim.bot_messages(GENERAL, alone.ts) == [channel_request.reply], "answered in the message's thread"


async def test_a_refused_person_is_told_privately(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    await slack_bridge.restart(denied_users=[BOB])
    posted = await sim.user_posts(GENERAL, ALICE, "MARKER-scref")
    shortcut = run_message_shortcut(sim, "summarize_thread", BOB, GENERAL, posted.ts)
    await slack_bridge.settle()
    [post] = [p for p in shortcut.url.posts if p.accepted]
    assert post.response_type == "ephemeral" and "not allowed" in post.text
    assert not slack_bridge.upstream.requests_containing("MARKER-scref")


async def test_add_a_message_to_the_channels_knowledge_base(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    assert slack_bridge.app is not None
    client = slack_bridge.app.client
    kb = await extras.knowledge_create(client, "general", "the channel's")
    try:
        posted = await sim.user_posts(GENERAL, BOB, "our rule MARKER-kb", files=[("rule.md", b"MARKER-kbfile")])
        refused = run_message_shortcut(sim, "add_to_knowledge", BOB, GENERAL, posted.ts)
        await slack_bridge.settle()
        assert "Only admins" in refused.url.posts[0].text
        added = run_message_shortcut(sim, "add_to_knowledge", ALICE, GENERAL, posted.ts)
        await slack_bridge.settle()
        [post] = added.url.posts
        assert post.response_type == "ephemeral"
        assert f"slack-message-{posted.ts}.md added" in post.text and "rule.md added" in post.text
        names = {f.filename for f in await extras.knowledge_files(client, kb.id)}
        assert {f"slack-message-{posted.ts}.md", "rule.md"} <= names
    finally:
        await extras.knowledge_delete(client, kb.id)


async def test_owui_prompt_fills_and_asks(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    assert slack_bridge.app is not None
    command = f"greet-{uuid.uuid4().hex[:6]}"
    await extras.create_prompt(slack_bridge.app.client, command, "Greet", "Greet {{name}} in {{language}}.")
    invocation = await sim.slash_command("/owui", f"prompt {command} language=Welsh Bob", ALICE, GENERAL)
    await slack_bridge.settle()
    root = sim.bot_message_records(GENERAL)[-1]
    assert root.text == "<@U0ALICE> asked: Greet Bob in Welsh."
    assert sim.bot_messages(GENERAL, root.ts)[1:] == ["echo: Greet Bob in Welsh."]
    assert invocation.responses == []

    missing = await sim.slash_command("/owui", f"prompt {command}", ALICE, GENERAL)
    await slack_bridge.settle()
    assert "needs name, language" in missing.responses[0].text
    listed = await sim.slash_command("/owui", "prompt", ALICE, GENERAL)
    await slack_bridge.settle()
    assert f"`{command}`" in listed.responses[0].text


@pytest.mark.contract
async def test_owui_prompt_on_a_real_openwebui(slack_bridge_on_real_owui: SlackBridge) -> None:
    bridge = slack_bridge_on_real_owui
    assert bridge.app is not None
    await extras.create_prompt(bridge.app.client, "contract-slack", "Greet", "Greet {{name}} MARKER-prompt2.")
    await bridge.sim.slash_command("/owui", "prompt contract-slack Bob", ALICE, GENERAL)
    await bridge.settle()
    root = bridge.sim.bot_message_records(GENERAL)[-1]
    assert bridge.sim.bot_messages(GENERAL, root.ts)[1:] == [
        "echo: Greet Bob MARKER-prompt2. [markers: MARKER-prompt2]"
    ]
