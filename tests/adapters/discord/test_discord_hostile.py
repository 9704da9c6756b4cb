"""A model's "@everyone" must never ping, and hostile messages are answered without breaking anything."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import pytest

from bridge.splitting import reassemble
from bridge.texts import answer_cut_long
from simulators.discord import DiscordSimulator, Ping, SimRole, SimUser, mention
from simulators.model_upstream import long_reply
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


async def _hostile_answer(bridge: DiscordBridge, role: SimRole, user: SimUser) -> tuple[str, str]:
    """A question that makes the model write every kind of mention over three messages, answered with
    sources (one more edit); and the key of its planted sources."""
    mentions = f"@everyone @here {mention(user)} <@!{user.id}> <@&{role.id}> "
    answer = " ".join(mentions + "a-rather-long-word-of-thirty-chars " * 10 for _ in range(12)).strip()
    key = f"SOURCES-{uuid.uuid4().hex}"
    bridge.owui.planted_sources[key] = [{"name": "@everyone <@&1>", "url": "https://docs.test/a"}]
    return f"{key} {bridge.upstream.script(answer)} [[rate:120]]", key  # 1.5 s: streamed, with edits


@pytest.mark.parametrize("reply_mode", ["thread", "channel"])
async def test_no_call_path_pings_anyone_but_the_asker_once_in_a_reply_chain(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World, reply_mode: str
) -> None:
    """Messages, their edits, further parts and the sources embed: nobody is notified by what the model
    wrote; in a reply chain the answer's first message notifies the asker, as a person's reply would."""
    sim = discord_sim
    role = await sim.create_role(world.guild, "team")
    await discord_bridge.start(reply_mode=reply_mode)
    question, key = await _hostile_answer(discord_bridge, role, world.alice)
    try:
        asked = await discord_bridge.ask(world.general, world.alice, question, timeout=20)
    finally:
        del discord_bridge.owui.planted_sources[key]
    where = sim.thread_of(asked) if reply_mode == "thread" else world.general
    assert where is not None
    answers = sim.bot_messages(where)
    assert len(answers) >= 3 and answers[-1].embeds
    expected = [Ping(answers[0].id, (world.alice.id,), (), False)] if reply_mode == "channel" else []
    assert sim.pings() == expected


async def test_no_slash_command_path_pings_anyone(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """The deferred response, its edits, follow-ups and their edits, the sources embed, and a command's
    one-line answer quoting what an admin typed."""
    sim = discord_sim
    role = await sim.create_role(world.guild, "team")
    await sim.add_member(world.guild, world.alice, roles=[role])
    await discord_bridge.start(admin_roles=[str(role.id)])
    question, key = await _hostile_answer(discord_bridge, role, world.alice)
    try:
        interaction = await sim.run_slash_command(world.general, world.alice, "ask", {"question": question})
        await sim.wait_for_response(interaction, final=True, timeout=20)
        await discord_bridge.wait_idle(timeout=20)
    finally:
        del discord_bridge.owui.planted_sources[key]
    assert interaction.followups and interaction.followups[-1].embeds
    prompt = await sim.run_slash_command(
        world.general, world.alice, "system", {"prompt": f"greet @everyone <@&{role.id}>"}
    )
    await sim.wait_for_response(prompt, final=True)
    assert prompt.original_message is not None and "@everyone" in prompt.original_message.content
    assert sim.pings() == []


async def test_text_that_is_not_valid_unicode_is_answered_and_stored_valid(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """A lone surrogate in the question (Discord's JSON can carry one) and an emoji the model's stream split
    between two events: the answer shows the emoji whole and a U+FFFD for the lone half, and is stored."""
    await discord_bridge.start()
    question = await discord_bridge.ask(world.general, world.alice, "hi \udc00 [[split-surrogate]]")
    thread = discord_sim.thread_of(question)
    assert thread is not None
    assert discord_sim.bot_texts(thread) == ["echo: hi \ufffd 😀 ok"]
    [chat] = [c["chat"] for c in discord_bridge.owui.chats.values() if "hi \ufffd [[split" in str(c["chat"])]
    assert [m["content"] for m in chat["messages"]] == ["hi \ufffd [[split-surrogate]]", "echo: hi \ufffd 😀 ok"]


async def test_one_huge_stream_event_becomes_a_few_messages_ending_with_a_note(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """A 10 MB event once made 741 messages in two minutes and went on; now the answer is cut at
    BRIDGE_MAX_ANSWER_CHARS (here 6,000) and says so."""
    discord_bridge.options = {"max_answer_chars": 6_000}
    await discord_bridge.start()
    question = await discord_bridge.ask(world.general, world.alice, "[[huge:10000000]]", timeout=30)
    thread = discord_sim.thread_of(question)
    assert thread is not None
    shown = discord_sim.bot_texts(thread)
    assert 3 <= len(shown) <= 5 and all(len(text) <= 2000 for text in shown)
    assert shown[-1].endswith(f"\n\n{answer_cut_long(6_000)}")
    assert reassemble(shown) == f"{long_reply(10_000_000, False)[:6_000]}\n\n{answer_cut_long(6_000)}"
