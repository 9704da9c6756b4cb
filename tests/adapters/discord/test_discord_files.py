"""Attachments from Discord reach OpenWebUI and the model; refused files are named, the rest is answered."""

from __future__ import annotations

import pytest

from bridge.messages import ConversationKey
from simulators.discord import DiscordSimulator, SimFile
from simulators.documents import tiny_pdf
from simulators.recorder import Recorder
from tests.adapters.discord.conftest import DiscordBridge, World

DOWNLOADS = "GET /attachments/{channel_id}/{attachment_id}/{filename}"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_a_text_file_and_a_pdf_reach_the_model_in_this_and_later_turns(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    files = [
        SimFile("notes.txt", b"meeting notes MARKER-text", "text/plain"),
        SimFile("report.pdf", tiny_pdf("quarterly MARKER-pdf figures"), "application/pdf"),
    ]
    question = await sim.user_says(world.general, world.alice, "summarize these", mentions_bot=True, attachments=files)
    await discord_bridge.wait_answered(question)
    thread = sim.thread_of(question)
    assert thread is not None
    assert sim.bot_texts(thread) == ["echo: summarize these [markers: MARKER-text MARKER-pdf]"]
    [sources] = sim.bot_messages(thread)[0].embeds
    assert sources["title"] == "Sources" and {"• notes.txt", "• report.pdf"} <= set(sources["description"].split("\n"))
    assert {f.filename for f in discord_bridge.owui.files.values()} >= {"notes.txt", "report.pdf"}

    later = await sim.user_says(thread, world.alice, "and the figures?")
    await discord_bridge.wait_answered(later)
    assert sim.bot_texts(thread)[-1] == "echo: and the figures? [markers: MARKER-text MARKER-pdf]"


async def test_an_image_reaches_a_vision_model(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    assert discord_bridge.app is not None
    channel = ConversationKey("discord", str(world.guild.id), str(world.general.id))
    await discord_bridge.app.core.set_model(channel, "vision-1")
    image = SimFile("cat.png", PNG, "image/png")
    question = await sim.user_says(world.general, world.alice, "what is this", mentions_bot=True, attachments=[image])
    await discord_bridge.wait_answered(question)
    thread = sim.thread_of(question)
    assert thread is not None
    assert sim.bot_texts(thread) == ["echo: what is this [saw 1 image(s)]"]
    assert discord_bridge.upstream.asked("what is this")[-1].model == "vision-1"


async def test_too_large_and_unreadable_files_are_named_and_the_rest_answered(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    sim = discord_sim
    await discord_bridge.start()
    files = [
        SimFile("huge.txt", bytes(30 * 1024 * 1024), "text/plain"),
        SimFile("tool.exe", b"MZ\x90\x00", "application/octet-stream"),
        SimFile("ok.md", b"# fine MARKER-md", "text/markdown"),
    ]
    question = await sim.user_says(world.general, world.alice, "look", mentions_bot=True, attachments=files)
    await discord_bridge.wait_answered(question, timeout=15)
    thread = sim.thread_of(question)
    assert thread is not None
    answer, notice = sim.bot_texts(thread)
    assert answer == "echo: look [markers: MARKER-md]"
    assert "huge.txt" in notice and "too large" in notice and "30.0 MB" in notice
    assert "tool.exe" in notice and "can't be read" in notice
    downloaded = {c.params["filename"] for c in sim.calls(DOWNLOADS)}
    assert downloaded == {"ok.md"}, "refused files are never downloaded"


async def test_attachments_are_fetched_only_from_discords_cdn(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """An attachment whose URL points elsewhere (an internal service, or Discord's CDN over plain http) gets a
    note naming it and is never fetched; the rest of the message is answered."""
    sim = discord_sim
    await discord_bridge.start()
    async with Recorder() as internal:
        files = [
            SimFile("meta.txt", b"x", "text/plain", url=internal.url("/latest/meta-data")),
            SimFile("plain.txt", b"x", "text/plain", url="http://cdn.discordapp.com/attachments/1/2/plain.txt"),
            SimFile("ok.md", b"# fine MARKER-md", "text/markdown"),
        ]
        question = await sim.user_says(world.general, world.alice, "look", mentions_bot=True, attachments=files)
        await discord_bridge.wait_answered(question)
        assert internal.requests == []
    thread = sim.thread_of(question)
    assert thread is not None
    answer, notice = sim.bot_texts(thread)
    assert answer == "echo: look [markers: MARKER-md]"
    for name in ("meta.txt", "plain.txt"):
        assert f"{name}: is not on Discord's file servers, so it was not downloaded." in notice


@pytest.mark.contract
async def test_a_file_goes_to_a_real_openwebui_and_the_answer_names_its_source(
    discord_bridge_on_real_owui: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """Upload, processing and retrieval by OpenWebUI 0.12.4 itself, through discord.py and the adapter."""
    bridge, sim = discord_bridge_on_real_owui, discord_sim
    await bridge.start()
    handbook = SimFile("handbook.txt", b"The vault code word is MARKER-realdc1.", "text/plain")
    question = await sim.user_says(
        world.general, world.alice, "what is the vault code word?", mentions_bot=True, attachments=[handbook]
    )
    await bridge.wait_answered(question, timeout=90)
    thread = sim.thread_of(question)
    assert thread is not None
    assert bridge.upstream.asked("what is the vault code word?")[-1].markers == ["MARKER-realdc1"]
    assert sim.bot_texts(thread) == ["echo: what is the vault code word? [markers: MARKER-realdc1]"]
    [sources] = sim.bot_messages(thread)[0].embeds
    assert sources["title"] == "Sources" and sources["description"].split("\n") == ["• handbook.txt"]

    later = await sim.user_says(thread, world.alice, "say the code word again")
    await bridge.wait_answered(later, timeout=90)
    assert sim.bot_texts(thread)[-1] == "echo: say the code word again [markers: MARKER-realdc1]"


async def test_notices_about_many_refused_files_fit_discord_messages(
    discord_bridge: DiscordBridge, discord_sim: DiscordSimulator, world: World
) -> None:
    """Ten refused files with long names make more than 2,000 characters of notices: they are split into
    messages Discord accepts, none is lost."""
    sim = discord_sim
    await discord_bridge.start()
    names = [f"{index}-" + "n" * 200 + ".exe" for index in range(10)]
    files = [SimFile(name, b"MZ\x90\x00", "application/octet-stream") for name in names]
    question = await sim.user_says(world.general, world.alice, "look", mentions_bot=True, attachments=files)
    await discord_bridge.wait_answered(question, timeout=15)
    thread = sim.thread_of(question)
    assert thread is not None
    answer, *notices = sim.bot_texts(thread)
    assert answer == "echo: look" and len(notices) > 1
    assert all(len(notice) <= 2000 for notice in notices)
    assert all(any(name in notice for notice in notices) for name in names)
