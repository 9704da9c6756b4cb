"""`/owui tools`, `/owui features` and a turn with tools, through slack-bolt and the Slack simulator."""

from __future__ import annotations

import pytest

from bridge.messages import ConversationKey
from bridge.openwebui import OpenWebUIClient
from simulators.openwebui_fake import FakeOpenWebUI
from tests import openwebui_extras as extras
from tests.adapters.slack.conftest import SlackBridge
from tests.adapters.slack.test_slack_commands import ALICE, BOB, CHANNEL, run

QUESTION = "use vault_lookup to find the code word"


async def test_admins_switch_a_tool_for_the_channel_and_the_turn_uses_it(
    slack_bridge: SlackBridge, vault: FakeOpenWebUI
) -> None:
    sim = slack_bridge.sim
    shown = await run(slack_bridge, "tools")
    assert shown.response_type == "ephemeral" and "Tools here (model `echo-1`): none." in shown.text
    assert "`vault` (Vault)" in shown.text

    refused = await run(slack_bridge, "tools vault on", user=BOB)
    assert "Only admins" in refused.text
    switched = await run(slack_bridge, "tools Vault on")
    assert switched.response_type == "in_channel"
    assert switched.text == "Tool `vault` here turned on by <@U0ALICE>."

    posted = await sim.user_mentions_app(CHANNEL, ALICE, QUESTION)
    await slack_bridge.settle()
    body = vault.completions[-1]
    assert body["tool_ids"] == ["vault"] and body["params"] == {"function_calling": "legacy"}
    assert sim.thread_statuses(CHANNEL, posted.ts)[:2] == ["is thinking…", "is using tools: Vault…"]
    assert sim.bot_messages(CHANNEL, posted.ts) == [f"echo: {QUESTION}"]

    await run(slack_bridge, "tools vault default")
    await sim.user_mentions_app(CHANNEL, ALICE, "no tools now")
    await slack_bridge.settle()
    assert "tool_ids" not in vault.completions[-1]


async def test_features_are_switched_by_admins_and_bad_words_get_the_usage(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    assert "Features here (model `echo-1`): none." in (await run(slack_bridge, "features")).text
    assert (await run(slack_bridge, "features web_search maybe")).text == (
        "⚠️ Use `/owui features <feature> on|off|default`."
    )
    assert "There is no feature `teleport`" in (await run(slack_bridge, "features teleport on")).text
    assert "Only admins" in (await run(slack_bridge, "features web_search on", user=BOB)).text
    switched = await run(slack_bridge, "features web_search on")
    assert switched.text == "Feature `web_search` here turned on by <@U0ALICE>."
    assert "web search." in (await run(slack_bridge, "features")).text

    posted = await sim.user_mentions_app(CHANNEL, ALICE, "what is new?")
    await slack_bridge.settle()
    assert slack_bridge.owui.completions[-1]["features"] == {"web_search": True}
    assert "is searching the web…" in sim.thread_statuses(CHANNEL, posted.ts)


@pytest.mark.contract
async def test_a_models_default_tool_runs_in_a_slack_turn_on_a_real_openwebui(
    slack_bridge_on_real_owui: SlackBridge,
) -> None:
    """The tool created through OpenWebUI's API is the model's default tool: OpenWebUI runs it, its result
    reaches the answer, its source is named, and the answer is saved in the OpenWebUI chat."""
    bridge = slack_bridge_on_real_owui
    sim = bridge.sim
    async with OpenWebUIClient(bridge.owui.url, bridge.owui.api_key) as client:
        await extras.create_tool(client, "vault", "Vault", extras.VAULT_TOOL)
        await extras.create_model(client, "tools-1", "echo-1", {"toolIds": ["vault"]})
        await run(bridge, "model tools-1")
        posted = await sim.user_mentions_app(CHANNEL, ALICE, QUESTION)
        await bridge.settle(timeout=90)
        answer = f"echo: {QUESTION} [markers: MARKER-tool1]"
        assert sim.bot_messages(CHANNEL, posted.ts) == [answer, "Sources: vault/vault_lookup"]
        assert "is using tools: Vault…" in sim.thread_statuses(CHANNEL, posted.ts)
        assert bridge.app is not None
        chat_id, _ = await bridge.app.core.chat_link(ConversationKey("slack", sim.ws.team_id, CHANNEL, posted.ts))
        history = (await client.get_chat(chat_id))["chat"]["history"]
        saved = history["messages"][history["currentId"]]
        assert saved["content"] == answer and saved["sources"][0]["tool_result"] is True


async def test_at_a_dms_top_level_the_placeholder_says_what_was_asked(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    dm = sim.dm_channel(ALICE)
    await sim.user_dm(ALICE, "!search what is new? [[delay:2]]")
    await slack_bridge.settle()
    [answer] = sim.bot_message_records(dm)
    assert answer.visible_text == "echo: what is new?"
    assert sim.message_history(dm, answer.ts)[0].visible_text == "_Searching the web…_"
