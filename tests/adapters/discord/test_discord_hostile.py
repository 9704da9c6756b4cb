"""A model's "@everyone" must never ping, and hostile messages are answered without breaking anything."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

from simulators.discord import DiscordSimulator
from tests.adapters.discord.conftest import DiscordBridge, World


async def test_everyone_in_model_output_pings_nobody(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    await discord_bridge.start()
    question = await discord_bridge.ask(world.general, world.alice, "repeat @everyone and @here please [[rate:50]]")
    thread = discord_sim.thread_of(question)
    assert thread is not None
    [answer] = discord_sim.bot_messages(thread)
    assert "@everyone" in discord_sim.message_history(answer)[-1].content
    message_routes = ("POST /channels/{channel_id}/messages", "PATCH /channels/{channel_id}/messages/{message_id}")
    sends = [c for c in discord_sim.calls() if c.route in message_routes]
    assert sends
    for call in sends:
        mentions = (call.body or {}).get("allowed_mentions")
        assert mentions is not None, f"{call.method} {call.route} sent no allowed_mentions"
        assert "everyone" not in mentions.get("parse", []) and not mentions.get("roles"), mentions


async def test_huge_and_control_character_message_is_answered(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    await discord_bridge.start()
    text = "\x07 control " + "🙂" * 1900 + " end"
    question = await discord_bridge.ask(world.general, world.alice, text)
    thread = discord_sim.thread_of(question)
    assert thread is not None
    answers = discord_sim.bot_messages(thread)
    assert answers and all(len(discord_sim.message_history(a)[-1].content) <= 2000 for a in answers)
    assert discord_sim.count_429() == 0


MARKDOWN_LINK = re.compile(r"(?<!\\)\[((?:\\.|[^\]\\])*)\]\(([^)\s]*)\)")


async def test_source_urls_and_names_cannot_plant_links(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """A source's name or URL may not end the embed's `[name](url)` early and add a link of its own; a URL
    that is not http(s) is named without a link; many long names still fit the embed."""
    await discord_bridge.start()
    key = f"SOURCES-{uuid.uuid4().hex}"
    discord_bridge.owui.planted_sources[key] = [
        {"name": "Report", "url": "https://docs.test/a) [Click me](https://evil.test"},
        {"name": "Notes](https://evil.test) [x", "url": "https://docs.test/b?x=(1)"},
        {"name": "Script", "url": "javascript:alert(1)"},
        *(
            {"name": f"{index} " + "long name " * 40, "url": f"https://docs.test/{index}/" + "p" * 300}
            for index in range(15)
        ),
    ]
    try:
        question = await discord_bridge.ask(world.general, world.alice, f"{key} what is new?")
    finally:
        del discord_bridge.owui.planted_sources[key]
    thread = discord_sim.thread_of(question)
    assert thread is not None
    [answer] = discord_sim.bot_messages(thread)
    [embed] = answer.embeds
    links = MARKDOWN_LINK.findall(embed["description"])
    assert {urlsplit(url).netloc for _, url in links} == {"docs.test"}, links
    assert "Script" in embed["description"] and "javascript:" not in embed["description"]
    assert embed["description"].rstrip().endswith("more")
