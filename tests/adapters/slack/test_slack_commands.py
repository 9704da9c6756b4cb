"""The slash command and every subcommand, over Socket Mode, answered through `respond()`."""

from __future__ import annotations

import uuid

from adapters.slack.access import NOT_ADMIN
from adapters.slack.events import PLATFORM
from bridge.messages import ConversationKey
from simulators.slack.slash import ResponsePost
from tests import openwebui_extras as extras
from tests.adapters.slack.conftest import SlackBridge

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"  # a workspace admin in the simulator
BOB = "U0BOB"


def link(channel: str, ts: str, thread_ts: str | None = None) -> str:
    """A message link as Slack's "Copy link" makes it."""
    url = f"https://simteam.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    return url + (f"?thread_ts={thread_ts}&cid={channel}" if thread_ts else "")


async def run(bridge: SlackBridge, text: str, user: str = ALICE, channel: str = CHANNEL) -> ResponsePost:
    """`/owui text`, acknowledged at once; returns its one answer."""
    invocation = await bridge.sim.slash_command("/owui", text, user, channel)
    assert await invocation.acked(2)
    await bridge.settle()
    responses = invocation.responses
    assert len(responses) == 1, [r.text for r in responses]
    return responses[0]


async def test_help_and_unknown_subcommands(slack_bridge: SlackBridge) -> None:
    for text in ("help", "", "frobnicate"):
        answer = await run(slack_bridge, text)
        assert answer.response_type == "ephemeral"
        assert "`/owui kb ask <kb> <question>`" in answer.text and "`/owui status" in answer.text


async def test_ask_opens_a_thread_that_continues_like_a_mention(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    invocation = await sim.slash_command("/owui", "ask what is a bridge? MARKER-ask1", ALICE, CHANNEL)
    assert await invocation.acked(2)
    await slack_bridge.settle()
    assert invocation.responses == []  # the answer is in the channel, not in a response
    root = sim.bot_message_records(CHANNEL)[-1]
    assert root.text == "<@U0ALICE> asked: what is a bridge? MARKER-ask1"
    assert sim.bot_messages(CHANNEL, root.ts)[1:] == [slack_bridge.reply_to("what is a bridge?")]

    await sim.user_posts(CHANNEL, BOB, "tell me more", thread_ts=root.ts)
    await slack_bridge.settle()
    assert slack_bridge.asked("tell me more")[-1].markers == ["MARKER-ask1"]

    sim.add_channel("C0NOBOT", "no-bot", bot_member=False)
    answer = await run(slack_bridge, "ask anyone there?", channel="C0NOBOT")
    assert answer.response_type == "ephemeral" and "I am not a member" in answer.text
    assert (await run(slack_bridge, "ask")).text.startswith("⚠️ Ask something")


async def test_model_show_and_set_by_admins_only(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    shown = await run(slack_bridge, "model")
    assert shown.text.startswith("Model here: `echo-1`") and "vision-1" in shown.text

    refused = await run(slack_bridge, "model vision-1", user=BOB)
    assert refused.response_type == "ephemeral" and refused.text == f"⚠️ {NOT_ADMIN}"
    unknown = await run(slack_bridge, "model no-such-model")
    assert "There is no model `no-such-model`" in unknown.text

    changed = await run(slack_bridge, "model vision-1")
    assert changed.response_type == "in_channel" and "`vision-1`" in changed.text
    posted = await sim.user_mentions_app(CHANNEL, BOB, "which model now")
    await slack_bridge.settle()
    assert slack_bridge.asked("which model now")[-1].model == "vision-1"
    assert sim.calls("users.info")  # admins came from the workspace (SLACK_ADMIN_USERS is empty)
    assert sim.bot_messages(CHANNEL, posted.ts) == [slack_bridge.reply_to("which model now")]


async def test_system_prompt_show_set_and_clear(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    assert (await run(slack_bridge, "system")).text.startswith("System prompt here: none.")
    assert (await run(slack_bridge, "system be brief", user=BOB)).text == f"⚠️ {NOT_ADMIN}"
    changed = await run(slack_bridge, "system Answer briefly. MARKER-sys1")
    assert changed.response_type == "in_channel"
    assert "MARKER-sys1" in (await run(slack_bridge, "system")).text

    await sim.user_mentions_app(CHANNEL, BOB, "with a system prompt")
    await slack_bridge.settle()
    request = slack_bridge.asked("with a system prompt")[-1]
    assert request.roles[0] == "system" and request.markers == ["MARKER-sys1"]

    await run(slack_bridge, "system clear")
    await sim.user_mentions_app(CHANNEL, BOB, "without it")
    await slack_bridge.settle()
    assert slack_bridge.asked("without it")[-1].markers == []


async def test_knowledge_bases_list_add_and_ask_with_sources(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    assert slack_bridge.app is not None
    name = f"Handbook {uuid.uuid4().hex[:6]}"
    await extras.knowledge_create(slack_bridge.app.client, name, "the team's handbook")
    listed = await run(slack_bridge, "kb list")
    assert f"• *{name}* — the team's handbook" in listed.text

    shared = await sim.user_posts(CHANNEL, ALICE, "the handbook", files=[("handbook.md", b"# Rules\nMARKER-kb1\n")])
    await slack_bridge.settle()
    assert (await run(slack_bridge, f'kb add "{name}"', user=BOB)).text == f"⚠️ {NOT_ADMIN}"
    added = await run(slack_bridge, f'kb add "{name}"')
    assert added.text == f"✅ handbook.md added to {name}."

    thread_file = await sim.user_posts(
        CHANNEL, BOB, "one more", thread_ts=shared.ts, files=[("faq.txt", b"faq MARKER-kb2\n")]
    )
    await slack_bridge.settle()
    added = await run(slack_bridge, f'kb add "{name}" {link(CHANNEL, thread_file.ts, shared.ts)}')
    assert added.text == f"✅ faq.txt added to {name}."

    invocation = await sim.slash_command("/owui", f'kb ask "{name}" what are the rules?', BOB, CHANNEL)
    assert await invocation.acked(2)
    await slack_bridge.settle()
    root = sim.bot_message_records(CHANNEL)[-1]
    assert root.text == f"<@U0BOB> asked *{name}*: what are the rules?"
    assert slack_bridge.asked("what are the rules?")[-1].markers == ["MARKER-kb1", "MARKER-kb2"]
    answer = slack_bridge.reply_to("what are the rules?")
    assert sim.bot_messages(CHANNEL, root.ts) == [root.text, answer, "Sources: handbook.md, faq.txt"]

    missing = await run(slack_bridge, "kb ask nope what?")
    assert missing.text.startswith("⚠️ There is no knowledge base `nope`")
    empty = await run(slack_bridge, f'kb add "{name}"', channel="C0RANDOM")
    assert empty.text.startswith("⚠️ I found no files there")


async def test_new_and_status(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    status = await run(slack_bridge, "status")
    assert f"OpenWebUI: ✅ reachable at {slack_bridge.owui.url} (version 0.12.4)" in status.text
    assert "Model here: `echo-1`" in status.text and "each thread here is its own" in status.text

    posted = await sim.user_mentions_app(CHANNEL, ALICE, "start something MARKER-new1")
    await slack_bridge.settle()
    status = await run(slack_bridge, f"status {link(CHANNEL, posted.ts)}")
    assert slack_bridge.app is not None
    key = ConversationKey(PLATFORM, sim.team_id, CHANNEL, posted.ts)
    chat_id, web_link = await slack_bridge.app.core.chat_link(key)
    assert chat_id and f"Conversation: chat `{chat_id}`, {web_link}" in status.text

    assert "each thread is its own conversation" in (await run(slack_bridge, "new")).text
    renewed = await run(slack_bridge, f"new {link(CHANNEL, posted.ts)}")
    assert renewed.text.startswith("Done: the next message in that thread starts a new OpenWebUI chat")
    await sim.user_posts(CHANNEL, ALICE, "fresh start", thread_ts=posted.ts)  # no mention needed there
    await slack_bridge.settle()
    assert slack_bridge.asked("fresh start")[-1].markers == []
    await sim.user_posts(CHANNEL, ALICE, "and it goes on", thread_ts=posted.ts)
    await slack_bridge.settle()
    assert slack_bridge.asked("and it goes on")[-1].roles.count("user") == 2

    dm = sim.dm_channel(ALICE)
    await sim.user_dm(ALICE, "dm memory MARKER-new2")
    await slack_bridge.settle()
    dm_status = await run(slack_bridge, "status", channel=dm)
    assert "Conversation: chat `" in dm_status.text
    assert (await run(slack_bridge, "new", channel=dm)).text.startswith("Done: the next message in this DM starts")
    await sim.user_dm(ALICE, "dm after new")
    await slack_bridge.settle()
    assert slack_bridge.asked("dm after new")[-1].markers == []


async def test_status_when_openwebui_is_down(slack_bridge: SlackBridge) -> None:
    slack_bridge.owui.down = True
    try:
        status = await run(slack_bridge, "status")
    finally:
        slack_bridge.owui.down = False
    assert status.text.startswith("OpenWebUI: ⚠️ ")
