"""The signed-in path (OPENWEBUI_EMAIL / OPENWEBUI_PASSWORD) against a real OpenWebUI 0.12.4, through the real
discord.py client and the Discord simulator: turns run the web UI's way, their events come over OpenWebUI's
socket, and OpenWebUI saves the answers.

The bridge reaches OpenWebUI through a TCP proxy the tests cut (`TcpProxy.drop`), as a failing network or a
restarting OpenWebUI would. Each test's service account is an admin of its own: OpenWebUI allows 15 sign-ins
per email in 3 minutes, which one shared account would exhaust across the suite.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge import texts
from bridge.engine import source_names
from bridge.messages import ConversationKey
from bridge.openwebui import OpenWebUIClient
from bridge.turn_paths import SignedInPath
from simulators.discord import DiscordSimulator, SimChannel, SimFile, SimMessage
from simulators.model_upstream import ModelUpstream
from simulators.openwebui_server import OwuiUser, RealOpenWebUI
from simulators.tcp_proxy import TcpProxy
from tests import openwebui_extras as extras
from tests.adapters.discord.conftest import DiscordBridge, World
from tests.conftest import OwuiTarget

pytestmark = pytest.mark.contract


@pytest.fixture
def proxy(real_owui: RealOpenWebUI) -> Iterator[TcpProxy]:
    with TcpProxy("127.0.0.1", real_owui.port).running_in_thread() as running:
        yield running


@pytest.fixture
def account(real_owui: RealOpenWebUI) -> OwuiUser:
    """The test's service account: a new admin with an API key and a password."""
    return real_owui.create_user(role="admin")


@pytest.fixture
async def signed_in(
    discord_sim: DiscordSimulator,
    world: World,
    real_owui: RealOpenWebUI,
    account: OwuiUser,
    model_upstream: ModelUpstream,
    proxy: TcpProxy,
    tmp_path: Path,
) -> AsyncIterator[DiscordBridge]:
    """A Discord bridge whose service account (`account`, its key and its sign-in) signs in, through `proxy`."""
    assert account.api_key is not None
    target = OwuiTarget("real", proxy.url, account.api_key, model_upstream, real=real_owui)
    bridge = DiscordBridge(discord_sim, target, model_upstream, tmp_path / "bridge.db")  # type: ignore[arg-type]
    bridge.sign_in = (account.email, account.password)
    try:
        yield bridge
    finally:
        await bridge.stop()


@pytest.fixture
async def admin(real_owui: RealOpenWebUI, account: OwuiUser) -> AsyncIterator[OpenWebUIClient]:
    """The service account's own client (its JWT), straight to OpenWebUI: to read chats and change settings."""
    async with OpenWebUIClient(real_owui.base_url, account.jwt) as client:
        yield client


def _path(bridge: DiscordBridge) -> SignedInPath:
    assert bridge.app is not None
    path = bridge.app.engine.path
    assert isinstance(path, SignedInPath)
    return path


async def _chat_of(bridge: DiscordBridge, admin: OpenWebUIClient, world: World, thread: SimChannel) -> dict:
    """The thread's chat, as OpenWebUI stored it."""
    assert bridge.app is not None
    key = ConversationKey("discord", str(world.guild.id), str(world.general.id), str(thread.id))
    chat_id, _ = await bridge.app.core.chat_link(key)
    return (await admin.get_chat(chat_id))["chat"]


async def _answer_in_chat(bridge: DiscordBridge, admin: OpenWebUIClient, world: World, thread: SimChannel) -> dict:
    """The thread's chat's newest assistant message, as OpenWebUI stored it."""
    chat = await _chat_of(bridge, admin, world, thread)
    return chat["history"]["messages"][chat["history"]["currentId"]]


async def _reply_in(bridge: DiscordBridge, thread: SimChannel, world: World, text: str) -> str:
    """Alice says `text` in `thread`; the bot's newest message there once it is answered."""
    await bridge.ask(thread, world.alice, text, timeout=90)
    return bridge.sim.bot_texts(thread)[-1]


async def _wait_for_text(sim: DiscordSimulator, thread: SimChannel, words: int, timeout: float = 60) -> SimMessage:
    """The bot's first message in `thread` once it shows at least `words` words of an answer."""

    def shown() -> bool:
        messages = sim.bot_messages(thread)
        return bool(messages) and len(messages[0].content.split()) >= words

    await sim.wait_until(shown, timeout, f"{words} words of the answer")
    return sim.bot_messages(thread)[0]


async def test_a_signed_in_turn_streams_into_the_thread_and_openwebui_saves_it(
    signed_in: DiscordBridge, discord_sim: DiscordSimulator, world: World, admin: OpenWebUIClient
) -> None:
    sim = discord_sim
    await signed_in.start()
    question = await signed_in.ask(world.general, world.alice, "tell me [[reply:900]][[rate:60]]", timeout=90)
    thread = sim.thread_of(question)
    assert thread is not None
    [answer] = sim.bot_messages(thread)
    assert len(answer.versions) >= 3, "the answer grew in several edits while OpenWebUI streamed it"
    assert len(answer.content) > 800
    stored = await _answer_in_chat(signed_in, admin, world, thread)
    # OpenWebUI wrote this message itself (its `output` and task id); the bridge only read it back
    assert stored["content"] == answer.content and stored["done"] is True
    assert isinstance(stored.get("output"), list) and stored["meta"]["task_id"]
    assert signed_in.upstream.asked("tell me")

    assert (
        await _reply_in(signed_in, thread, world, "and once more MARKER-sock1")
        == "echo: and once more MARKER-sock1 [markers: MARKER-sock1]"
    )
    assert [m["role"] for m in signed_in.upstream.asked("once more")[-1].messages][-3:] == ["user", "assistant", "user"]


async def test_openwebui_adds_the_question_itself_and_the_bridge_writes_no_chat_in_a_turn(
    signed_in: DiscordBridge, discord_sim: DiscordSimulator, world: World, admin: OpenWebUIClient
) -> None:
    """On the web UI's way OpenWebUI writes the question (with the empty answer) as the turn starts, so the
    bridge's own whole-chat write before each turn is left out (README, Benchmark: it was the larger part of
    the wait the bridge added under load); the chat keeps the asker's name and its chain of messages."""
    await signed_in.start()
    assert signed_in.app is not None
    client = signed_in.app.engine.client
    writes: list[str] = []
    update_chat = client.update_chat

    async def counted(chat_id: str, chat: dict[str, Any]) -> dict[str, Any]:
        writes.append(chat_id)
        return await update_chat(chat_id, chat)

    client.update_chat = counted  # type: ignore[method-assign]
    question = await signed_in.ask(world.general, world.alice, "first zq8one", timeout=90)
    thread = discord_sim.thread_of(question)
    assert thread is not None
    assert await _reply_in(signed_in, thread, world, "second zq8two") == "echo: second zq8two"
    assert writes == [], "the bridge wrote the chat during a turn OpenWebUI saves itself"
    chat = await _chat_of(signed_in, admin, world, thread)
    messages = chat["history"]["messages"]
    second_answer = messages[chat["history"]["currentId"]]
    second = messages[second_answer["parentId"]]
    first_answer = messages[second["parentId"]]
    first = messages[first_answer["parentId"]]
    assert [first["content"], second["content"]] == ["first zq8one", "second zq8two"]
    assert first["name"] == second["name"] == "alice" and first["parentId"] is None
    assert second["id"] in first_answer["childrenIds"] and second_answer["id"] in second["childrenIds"]


async def test_openwebui_status_is_the_progress_line_until_the_answer_starts(
    signed_in: DiscordBridge, discord_sim: DiscordSimulator, world: World, admin: OpenWebUIClient
) -> None:
    """A filter installed through OpenWebUI's API reports a status before the model answers: it is the
    reply's text until the first words replace it."""
    sim = discord_sim
    async with extras.global_filter(admin, "status_line", extras.STATUS_FILTER):
        await signed_in.start()
        question = await signed_in.ask(world.general, world.alice, "slowly please [[delay:3]]", timeout=90)
    thread = sim.thread_of(question)
    assert thread is not None
    [answer] = sim.bot_messages(thread)
    shown = [version.content for version in answer.versions]
    assert shown[0] == "-# Consulting the archive"  # the reply's progress line, as for an API-key turn's activity
    assert shown[-1] == "echo: slowly please"


async def test_a_filter_function_changes_the_answer_on_the_signed_in_path(
    signed_in: DiscordBridge, discord_sim: DiscordSimulator, world: World, admin: OpenWebUIClient
) -> None:
    """The filter of tests/bridge/test_tools_and_features.py (the API-key path), installed through the API and
    named by a workspace model: OpenWebUI's own pipeline runs its inlet too, and the answer changes the same way."""
    await extras.create_filter(admin, "stamp", extras.STAMP_FILTER)
    await extras.create_model(admin, "filtered-1", "echo-1", {"filterIds": ["stamp"]})
    await signed_in.start()
    assert signed_in.app is not None
    await signed_in.app.core.set_model(
        ConversationKey("discord", str(world.guild.id), str(world.general.id)), "filtered-1"
    )
    question = await signed_in.ask(world.general, world.alice, "hello filter", timeout=90)
    thread = discord_sim.thread_of(question)
    assert thread is not None
    assert discord_sim.bot_texts(thread) == ["echo: hello filter MARKER-filter1 [markers: MARKER-filter1]"]


async def test_a_socket_dropped_mid_answer_ends_it_with_what_arrived_and_the_next_turn_works(
    signed_in: DiscordBridge,
    discord_sim: DiscordSimulator,
    world: World,
    admin: OpenWebUIClient,
    proxy: TcpProxy,
) -> None:
    sim = discord_sim
    await signed_in.start()
    question = await sim.user_says(
        world.general, world.alice, "long one zq7drop [[reply:3000]][[rate:15]]", mentions_bot=True
    )
    await sim.wait_until(lambda: sim.thread_of(question) is not None, 30, "the thread")
    thread = sim.thread_of(question)
    assert thread is not None
    await _wait_for_text(sim, thread, 8)
    proxy.drop()
    await signed_in.wait_answered(question, timeout=60)
    shown = "\n".join(sim.bot_texts(thread))
    partial, note = shown.rsplit("\n\n", 1)
    assert note == f"⚠️ {texts.CONNECTION_LOST}"
    assert 0 < len(partial) < 3000
    stored = await _answer_in_chat(signed_in, admin, world, thread)
    assert stored["content"] == partial and stored["error"]["content"] == texts.CONNECTION_LOST
    await asyncio.sleep(3)  # OpenWebUI's task was stopped: nothing goes on writing the answer
    assert (await _answer_in_chat(signed_in, admin, world, thread))["content"] == partial

    messages_before = len(sim.bot_messages(thread))
    later = await signed_in.ask(thread, world.alice, "still there MARKER-sock2", timeout=90)
    assert later is not None
    assert sim.bot_texts(thread)[messages_before:] == ["echo: still there MARKER-sock2 [markers: MARKER-sock2]"]
    assert _path(signed_in).socket.connections == 2, "the socket was opened again"
    assert len(signed_in.upstream.asked("long one zq7drop")) == 1, "the dropped turn was not asked again"


async def test_openwebui_away_then_back(
    signed_in: DiscordBridge, discord_sim: DiscordSimulator, world: World, proxy: TcpProxy
) -> None:
    """OpenWebUI unreachable (restarting): the turn says so; once it is back, the socket opens again and the
    next turn is answered."""
    sim = discord_sim
    await signed_in.start()
    first = await signed_in.ask(world.general, world.alice, "hello MARKER-away1", timeout=90)
    thread = sim.thread_of(first)
    assert thread is not None
    proxy.down = True
    proxy.drop()
    assert (await _reply_in(signed_in, thread, world, "are you there")).startswith("⚠️ OpenWebUI is unreachable")
    proxy.down = False
    assert (
        await _reply_in(signed_in, thread, world, "back now MARKER-away2")
        == "echo: back now MARKER-away2 [markers: MARKER-away1 MARKER-away2]"
    )


@pytest.mark.slow
async def test_the_token_is_renewed_before_it_expires_and_the_socket_keeps_it(
    signed_in: DiscordBridge, discord_sim: DiscordSimulator, world: World, admin: OpenWebUIClient
) -> None:
    """With a 12 s JWT lifetime, the bridge signs in again ahead of each expiry and hands the new token to
    the open socket: OpenWebUI, which checks every socket's token every 30 s and disconnects one whose token
    expired, never drops it, and a turn after several expiries works."""
    config: dict[str, Any] = await admin.call("GET", "/api/v1/auths/admin/config")
    await admin.call("POST", "/api/v1/auths/admin/config", json={**config, "JWT_EXPIRES_IN": "12s"})
    try:
        sim = discord_sim
        await signed_in.start()
        first = await signed_in.ask(world.general, world.alice, "hello MARKER-jwt1", timeout=90)
        path = _path(signed_in)
        signed = path.session.current
        assert signed is not None and signed.expires_at is not None
        assert signed.expires_at - signed.issued_at == pytest.approx(12, abs=2)
        await asyncio.sleep(40)
    finally:
        await admin.call("POST", "/api/v1/auths/admin/config", json=config)
    thread = sim.thread_of(first)
    assert thread is not None
    assert (
        await _reply_in(signed_in, thread, world, "later MARKER-jwt2")
        == "echo: later MARKER-jwt2 [markers: MARKER-jwt1 MARKER-jwt2]"
    )
    renewed = path.session.current
    assert renewed is not None and renewed.token != signed.token
    assert path.socket.connections == 1, "the socket was never dropped for an expired token"


async def test_a_wrong_password_is_named_in_the_answer_and_the_chat_keeps_the_question(
    signed_in: DiscordBridge, discord_sim: DiscordSimulator, world: World, account: OwuiUser, admin: OpenWebUIClient
) -> None:
    signed_in.sign_in = (account.email, "not-the-password")
    await signed_in.start()
    question = await signed_in.ask(world.general, world.alice, "hello", timeout=90)
    thread = discord_sim.thread_of(question)
    assert thread is not None
    [answer] = discord_sim.bot_texts(thread)
    assert "OPENWEBUI_EMAIL and OPENWEBUI_PASSWORD" in answer and "not-the-password" not in answer
    # OpenWebUI never started the turn, so it never added the question: the bridge wrote it with the note
    chat = await _chat_of(signed_in, admin, world, thread)
    note = chat["history"]["messages"].get(chat["history"]["currentId"] or "")
    assert note is not None, "the chat has no answer with the note"
    assert note["done"] is True and "OPENWEBUI_EMAIL" in str(note.get("error"))
    assert chat["history"]["messages"][note["parentId"]]["content"] == "hello"


async def test_openwebui_titles_the_chat_after_its_first_turn_only(
    signed_in: DiscordBridge, discord_sim: DiscordSimulator, world: World, admin: OpenWebUIClient
) -> None:
    """The web UI asks for a title (and tags) on a chat's first turn only; so does the bridge, or OpenWebUI
    would ask the model for a new title at every turn."""
    config: dict[str, Any] = await admin.call("GET", "/api/v1/tasks/config")
    await admin.call("POST", "/api/v1/tasks/config/update", json={**config, "ENABLE_TITLE_GENERATION": True})
    upstream = signed_in.upstream

    def title_requests() -> int:
        asked = upstream.requests_containing("Generate a concise title")
        return len([r for r in asked if any("MARKER-title1" in str(m.get("content")) for m in r.messages)])

    try:
        await signed_in.start()
        first = await signed_in.ask(world.general, world.alice, "first MARKER-title1", timeout=90)
        await discord_sim.wait_until(lambda: title_requests() == 1, 30, "the title request")
        thread = discord_sim.thread_of(first)
        assert thread is not None
        await signed_in.ask(thread, world.alice, "second turn", timeout=90)
        await asyncio.sleep(3)  # a title request would follow the answer at once
    finally:
        await admin.call("POST", "/api/v1/tasks/config/update", json=config)
    assert title_requests() == 1


@pytest.mark.parametrize("failure", ["[[reply:400]][[fail-mid:error]]", "[[fail]]"])
async def test_a_model_failure_reported_on_the_socket_ends_the_turn_with_a_note(
    signed_in: DiscordBridge, discord_sim: DiscordSimulator, world: World, admin: OpenWebUIClient, failure: str
) -> None:
    """The model fails, mid-answer (OpenWebUI's `chat:completion` with an error) or at once (HTTP 500: its
    `chat:message:error`): the answer ends with what arrived and the failure named, the chat keeps it as a
    finished answer, and the next turn works."""
    sim = discord_sim
    await signed_in.start()
    question = await signed_in.ask(world.general, world.alice, f"break zq7fail {failure}", timeout=90)
    thread = sim.thread_of(question)
    assert thread is not None
    [answer] = sim.bot_texts(thread)
    assert answer.endswith("⚠️ The model failed while answering; try again in a moment.")
    stored = await _answer_in_chat(signed_in, admin, world, thread)
    assert stored["done"] is True and stored.get("error")
    assert await _reply_in(signed_in, thread, world, "fine now zq7ok") == "echo: fine now zq7ok"


async def test_a_file_is_searched_and_its_source_named_on_the_signed_in_path(
    signed_in: DiscordBridge, discord_sim: DiscordSimulator, world: World, admin: OpenWebUIClient
) -> None:
    """A file on the message: OpenWebUI's pipeline searches it, its `sources` come over the socket and are
    saved with the answer; the reply names the file as on the API-key way."""
    sim = discord_sim
    await signed_in.start()
    handbook = SimFile("handbook.txt", b"The vault code word is MARKER-sockfile.", "text/plain")
    question = await sim.user_says(
        world.general, world.alice, "what is the vault code word?", mentions_bot=True, attachments=[handbook]
    )
    await signed_in.wait_answered(question, timeout=90)
    thread = sim.thread_of(question)
    assert thread is not None
    assert sim.bot_texts(thread) == ["echo: what is the vault code word? [markers: MARKER-sockfile]"]
    [sources] = sim.bot_messages(thread)[0].embeds
    assert sources["title"] == "Sources" and sources["description"].split("\n") == ["• handbook.txt"]
    stored = await _answer_in_chat(signed_in, admin, world, thread)
    assert [source.name for source in source_names(stored["sources"])] == ["handbook.txt"]


async def test_openwebui_s_title_names_the_thread_and_its_follow_ups_reach_the_reply(
    signed_in: DiscordBridge,
    discord_sim: DiscordSimulator,
    world: World,
    real_owui: RealOpenWebUI,
    account: OwuiUser,
) -> None:
    """OpenWebUI's own pipeline makes the title and follow-ups and sends them over the socket after the
    answer's end: the thread the bot opened takes the title (its first answer only, as on the API-key way),
    and the follow-ups become buttons under each answer."""
    follow_ups = ["More about Bridges over rivers explained", "Why Bridges over rivers explained?"]

    def labels(thread: SimChannel) -> list[str]:
        last = discord_sim.bot_messages(thread)[-1]
        return [b.get("label", "") for row in last.components for b in row["components"]]

    assert account.api_key is not None
    async with extras.tasks_turned_on(real_owui.base_url, account.api_key):
        await signed_in.start()
        question = await signed_in.ask(world.general, world.alice, "Bridges over rivers explained please", timeout=90)
        assert signed_in.app is not None
        await extras.after_answers(signed_in.app.engine)
        thread = discord_sim.thread_of(question)
        assert thread is not None and discord_sim.channel(thread).name == "About Bridges over rivers explained"
        assert set(follow_ups) <= set(labels(thread))
        await signed_in.ask(thread, world.alice, "and in winter?", timeout=90)
        await extras.after_answers(signed_in.app.engine)
        assert set(follow_ups) <= set(labels(thread)), "the second answer has its own"
    assert len(discord_sim.calls(route="PATCH /channels/{channel_id}")) == 1, "renamed after the first answer only"
