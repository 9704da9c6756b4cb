"""`/tools`, `/features`, `!search` and turns with tools, through discord.py and the Discord simulator."""

from __future__ import annotations

import pytest

from bridge.messages import ConversationKey
from bridge.openwebui import OpenWebUIClient
from simulators.discord import DiscordSimulator
from simulators.openwebui_fake import FakeOpenWebUI
from simulators.search_engine import Page, SearchEngine
from tests import openwebui_extras as extras
from tests.adapters.discord.conftest import DiscordBridge, World
from tests.adapters.discord.test_discord_commands import _run

QUESTION = "use vault_lookup to find the code word"


async def test_tools_autocomplete_from_openwebui_and_admins_switch_them(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World, vault: FakeOpenWebUI
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    admin = sim.state.owner
    choices = await sim.autocomplete(world.general, world.alice, "tools", {"tool": "va"}, focused="tool")
    assert choices == [{"name": "Vault (vault)", "value": "vault"}]

    shown = await _run(discord_bridge, world.general, world.alice, "tools")
    assert shown.ephemeral and "Tools in this channel (model `echo-1`): none." in shown.content
    refused = await sim.run_slash_command(world.general, world.alice, "tools", {"tool": "vault"})
    await sim.wait_for_response(refused)
    assert refused.original_message is not None and "Only admins" in refused.original_message.content
    switched = await _run(discord_bridge, world.general, admin, "tools", tool="vault")
    assert switched.content == f"Tool `vault` in this channel turned on by <@{admin.id}>." and not switched.ephemeral

    question = await discord_bridge.ask(world.general, world.alice, QUESTION)
    body = vault.completions[-1]
    assert body["tool_ids"] == ["vault"] and body["params"] == {"function_calling": "legacy"}
    thread = sim.thread_of(question)
    assert thread is not None
    [answer] = sim.bot_messages(thread)
    versions = [version.content for version in sim.message_history(answer)]
    assert versions[0] == "-# Using tools: Vault…" and versions[-1] == f"echo: {QUESTION}"

    off = await _run(discord_bridge, world.general, admin, "tools", tool="vault", state="off")
    assert "turned off" in off.content
    await discord_bridge.ask(world.general, world.alice, "no tools now")
    assert "tool_ids" not in vault.completions[-1]


async def test_features_switch_per_channel_over_the_models_defaults(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World, fake_owui: FakeOpenWebUI
) -> None:
    """The model's default features (`defaultFeatureIds` it has the capability for) apply until an admin
    switches one off; `default` gives it back."""
    sim = discord_sim
    await discord_bridge.start()
    admin = sim.state.owner
    fake_owui.model_meta = {"echo-1": {"defaultFeatureIds": ["web_search"], "capabilities": {"web_search": True}}}
    try:
        shown = await _run(discord_bridge, world.general, world.alice, "features")
        assert "Features in this channel (model `echo-1`): web search (model default)." in shown.content
        await discord_bridge.ask(world.general, world.alice, "with the default")
        assert fake_owui.completions[-1]["features"] == {"web_search": True}

        changed = await _run(discord_bridge, world.general, admin, "features", web_search="off", memory="on")
        assert changed.content.split("\n") == [
            f"Feature `web_search` in this channel turned off by <@{admin.id}>.",
            f"Feature `memory` in this channel turned on by <@{admin.id}>.",
        ]
        await discord_bridge.ask(world.general, world.alice, "switched")
        assert fake_owui.completions[-1]["features"] == {"memory": True}

        await _run(discord_bridge, world.general, admin, "features", web_search="default", memory="default")
        await discord_bridge.ask(world.general, world.alice, "back to the default")
        assert fake_owui.completions[-1]["features"] == {"web_search": True}
    finally:
        fake_owui.model_meta = {}


@pytest.mark.contract
async def test_a_models_default_tool_and_a_web_search_in_discord_turns_on_a_real_openwebui(
    discord_bridge_on_real_owui: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """The tool created through OpenWebUI's API is the model's default tool: OpenWebUI runs it, its result
    reaches the answer, its source is named, and the answer is saved in the OpenWebUI chat. `!search`
    searches the stand-in engine; the answer uses the page and links it."""
    bridge, sim = discord_bridge_on_real_owui, discord_sim
    release = Page("https://docs.example.test/discord", "Discord release", "The release is called MARKER-webdc1.")
    engine = SearchEngine()
    engine.pages = [release]
    with engine.running_in_thread():
        async with OpenWebUIClient(bridge.owui.url, bridge.owui.api_key) as client:
            await extras.create_tool(client, "vault", "Vault", extras.VAULT_TOOL)
            await extras.create_model(client, "tools-1", "echo-1", {"toolIds": ["vault"]})
            await extras.use_search_engine(client, engine.query_url)
            await bridge.start()
            assert bridge.app is not None
            await bridge.app.core.set_model(
                ConversationKey("discord", str(world.guild.id), str(world.general.id)), "tools-1"
            )

            question = await bridge.ask(world.general, world.alice, QUESTION, timeout=90)
            thread = sim.thread_of(question)
            assert thread is not None
            answer = f"echo: {QUESTION} [markers: MARKER-tool1]"
            assert sim.bot_texts(thread) == [answer]
            [sources] = sim.bot_messages(thread)[0].embeds
            assert sources["description"] == "• vault/vault\\_lookup"  # escaped Markdown
            chat_id, _ = await bridge.app.core.chat_link(
                ConversationKey("discord", str(world.guild.id), str(world.general.id), str(thread.id))
            )
            history = (await client.get_chat(chat_id))["chat"]["history"]
            saved = history["messages"][history["currentId"]]
            assert saved["content"] == answer and saved["sources"][0]["tool_result"] is True

            searched = await sim.user_says(thread, world.alice, "!search what is the release called?")
            await bridge.wait_answered(searched, timeout=90)
            last = sim.bot_messages(thread)[-1]
            assert last.content.endswith("[markers: MARKER-webdc1]")
            assert f"[Discord release]({release.url})" in last.embeds[0]["description"]


async def test_ask_with_a_search_prefix_shows_the_search_in_the_response_until_the_answer(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World, fake_owui: FakeOpenWebUI
) -> None:
    await discord_bridge.start()
    response = await _run(discord_bridge, world.general, world.alice, "ask", question="!search what is new?")
    versions = [version.content for version in discord_sim.message_history(response)]
    assert versions[-1] == "echo: what is new?"
    assert "-# Searching the web…" in versions
    assert fake_owui.completions[-1]["features"] == {"web_search": True}


async def test_a_thread_opened_by_a_search_is_named_for_the_question(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World, fake_owui: FakeOpenWebUI
) -> None:
    await discord_bridge.start()
    question = await discord_bridge.ask(world.general, world.alice, "!search what is new in Python?")
    thread = discord_sim.thread_of(question)
    assert thread is not None and thread.name == "what is new in Python?"
    assert fake_owui.completions[-1]["features"] == {"web_search": True}
