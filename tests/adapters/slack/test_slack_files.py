"""Files shared in a conversation reach the model: downloaded with the bot token, uploaded to OpenWebUI."""

from __future__ import annotations

import pytest

from adapters.slack.events import PLATFORM
from bridge.messages import ConversationKey
from simulators.documents import tiny_pdf
from simulators.recorder import Recorder
from simulators.slack.config import DEFAULT_BOT_SCOPES
from tests.adapters.slack.conftest import SlackBridge

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201a5d5b5b50000000049454e44ae426082"
)


async def test_a_text_file_and_a_pdf_reach_the_model(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    posted = await sim.user_mentions_app(
        CHANNEL, ALICE, "summarize these", files=[("notes.txt", b"meeting notes MARKER-txt1\n")]
    )
    await slack_bridge.settle()
    assert slack_bridge.asked("summarize these")[-1].markers == ["MARKER-txt1"]
    assert sim.bot_messages(CHANNEL, posted.ts) == [slack_bridge.reply_to("summarize these"), "Sources: notes.txt"]

    await sim.user_posts(
        CHANNEL, ALICE, "and this report", thread_ts=posted.ts, files=[("report.pdf", tiny_pdf("MARKER-pdf1"))]
    )
    await slack_bridge.settle()
    assert slack_bridge.asked("and this report")[-1].markers == ["MARKER-txt1", "MARKER-pdf1"]

    await sim.user_posts(CHANNEL, ALICE, "what was in the files?", thread_ts=posted.ts)
    await slack_bridge.settle()
    assert slack_bridge.asked("what was in the files?")[-1].markers == ["MARKER-txt1", "MARKER-pdf1"]
    assert all(d.authorized for d in sim.downloads) and len(sim.downloads) == 2
    replies = sim.bot_messages(CHANNEL, posted.ts)
    assert replies[-2:] == [slack_bridge.reply_to("what was in the files?"), "Sources: notes.txt, report.pdf"]


async def test_an_image_goes_to_a_vision_model(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    assert slack_bridge.app is not None
    await slack_bridge.app.core.set_model(ConversationKey(PLATFORM, sim.team_id, CHANNEL), "vision-1")
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "what is this picture", files=[("dot.png", PNG, "image/png")])
    await slack_bridge.settle()
    answer = slack_bridge.reply_to("what is this picture")
    assert "[saw 1 image(s)]" in answer
    assert sim.bot_messages(CHANNEL, posted.ts) == [answer]


async def test_without_files_read_the_user_is_told_which_file_and_why(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    sim.set_bot_scopes(set(DEFAULT_BOT_SCOPES) - {"files:read"})
    posted = await sim.user_mentions_app(
        CHANNEL, ALICE, "read my notes", files=[("notes.txt", b"secret MARKER-nope\n")]
    )
    await slack_bridge.settle()
    assert sim.downloads and not any(d.authorized for d in sim.downloads)
    assert slack_bridge.asked("read my notes")[-1].markers == []
    replies = sim.bot_messages(CHANNEL, posted.ts)
    assert replies[0] == slack_bridge.reply_to("read my notes")
    assert replies[-1].startswith("⚠️ notes.txt: the Slack app lacks the files:read scope")
    assert "an admin must add files:read" in replies[-1]


async def test_files_are_fetched_only_from_slack_and_the_token_goes_nowhere_else(slack_bridge: SlackBridge) -> None:
    """A file whose url_private points elsewhere (an internal service, plain http, or a redirect from Slack's
    host to elsewhere) gets a note naming it; nothing is fetched there and the token is never sent there."""
    sim = slack_bridge.sim
    async with Recorder() as internal:
        posted = await sim.user_mentions_app(
            CHANNEL,
            ALICE,
            "read these",
            files=[("meta.txt", b"x"), ("plain.txt", b"x"), ("moved.txt", b"x"), ("fine.txt", b"fine MARKER-ok\n")],
            file_urls={
                "meta.txt": internal.url("/latest/meta-data"),
                "plain.txt": "http://files.slack.com/files-pri/T0-F0/plain.txt",
                "moved.txt": sim.redirect_url(internal.url("/moved")),
            },
        )
        await slack_bridge.settle()
        assert internal.requests == []
    assert sim.file_host.redirects == [internal.url("/moved")]  # Slack's host was asked; its redirect not followed
    assert slack_bridge.asked("read these")[-1].markers == ["MARKER-ok"]
    replies = sim.bot_messages(CHANNEL, posted.ts)
    assert replies[0] == slack_bridge.reply_to("read these")
    notes = replies[-1].split("\n")
    for name in ("meta.txt", "plain.txt", "moved.txt"):
        assert f"⚠️ {name}: is not on Slack's file servers, so it was not downloaded." in notes


async def test_too_large_and_unreadable_files_are_named_and_the_rest_answered(slack_bridge: SlackBridge) -> None:
    sim = slack_bridge.sim
    files = [
        ("huge.txt", bytes(26 * 1024 * 1024 + 1), "text/plain"),
        ("tool.exe", b"MZ\x90\x00", "application/octet-stream"),
        ("ok.md", b"# fine MARKER-md1\n", "text/markdown"),
    ]
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "look at these", files=files)
    await slack_bridge.settle()
    assert slack_bridge.asked("look at these")[-1].markers == ["MARKER-md1"]
    replies = sim.bot_messages(CHANNEL, posted.ts)
    assert len(replies) == 3, replies
    answer, sources, notes = replies
    assert answer == slack_bridge.reply_to("look at these") and sources == "Sources: ok.md"
    huge, exe = notes.split("\n")
    assert huge.startswith("⚠️ huge.txt: too large (26.0 MB; the limit is 25.0 MB)")
    assert exe.startswith("⚠️ tool.exe: this type of file can't be read (application/octet-stream)")
    downloaded = {sim.ws.files[d.file_id].name for d in sim.downloads}
    assert downloaded == {"ok.md"}, "refused files are never downloaded"


@pytest.mark.contract
async def test_a_file_goes_to_a_real_openwebui_and_the_answer_names_its_source(
    slack_bridge_on_real_owui: SlackBridge,
) -> None:
    """Upload, processing and retrieval by OpenWebUI 0.12.4 itself, through slack-bolt and the adapter."""
    bridge = slack_bridge_on_real_owui
    sim = bridge.sim
    handbook = ("handbook.txt", b"The vault code word is MARKER-realsl1.\n", "text/plain")
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "what is the vault code word?", files=[handbook])
    await bridge.settle(timeout=90)
    assert bridge.asked("what is the vault code word?")[-1].markers == ["MARKER-realsl1"]
    answer = "echo: what is the vault code word? [markers: MARKER-realsl1]"
    assert sim.bot_messages(CHANNEL, posted.ts) == [answer, "Sources: handbook.txt"]

    await sim.user_posts(CHANNEL, ALICE, "say the code word again", thread_ts=posted.ts)
    await bridge.settle(timeout=90)
    assert sim.bot_messages(CHANNEL, posted.ts)[-2] == "echo: say the code word again [markers: MARKER-realsl1]"
