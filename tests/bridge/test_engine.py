"""The engine against OpenWebUI — the in-process fake and (contract suite) a real 0.12.4 server.

Each test talks to the deterministic model upstream through OpenWebUI and checks what a user sees on
the reply surface, what the model was given, and what the OpenWebUI chat holds afterwards.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid

from bridge.engine import Engine
from bridge.messages import Attachment
from bridge.openwebui import OpenWebUIClient
from bridge.openwebui import chat as chats
from bridge.store import Store
from tests import openwebui_extras as extras
from tests.conftest import OwuiTarget
from tests.messages import key, message
from tests.surfaces import RecordingSurface


def attachment(name: str, data: bytes, content_type: str) -> Attachment:
    async def fetch() -> bytes:
        return data

    return Attachment(filename=name, content_type=content_type, size=len(data), fetch=fetch)


def assert_tree(chat: dict) -> list[dict]:
    """The stored chat is a well-formed single chain the web UI can render; returns it."""
    history = chat["history"]
    messages = history["messages"]
    path = chats.chain(chat)
    assert path and path[-1]["id"] == history["currentId"]
    assert path[0]["parentId"] is None
    for parent, child in itertools.pairwise(path):
        assert child["parentId"] == parent["id"]
        assert child["id"] in parent["childrenIds"]
    for m in messages.values():
        if m["role"] == "assistant":
            assert m["done"] is True
    return path


async def test_multi_turn_conversation_reads_back(engine: Engine, client: OpenWebUIClient, owui: OwuiTarget) -> None:
    k = key()
    first = RecordingSurface()
    outcome = await engine.handle(message(k, "hello there"), first)
    assert outcome.status == "answered", outcome.error
    assert first.visible(outcome.message_ids) == "echo: hello there"
    second = RecordingSurface()
    outcome2 = await engine.handle(message(k, "and again"), second)
    assert outcome2.chat_id == outcome.chat_id
    assert second.visible(outcome2.message_ids) == "echo: and again"
    # the model saw the first turn as context
    request = owui.upstream.requests_containing("and again")[-1]
    assert [m for m in request.roles if m != "system"] == ["user", "assistant", "user"]

    chat = (await client.get_chat(outcome.chat_id))["chat"]
    path = assert_tree(chat)
    assert [(m["role"], m["content"]) for m in path] == [
        ("user", "hello there"),
        ("assistant", "echo: hello there"),
        ("user", "and again"),
        ("assistant", "echo: and again"),
    ]
    listed = await extras.list_chats(client)
    assert outcome.chat_id in {c["id"] for c in listed}


async def test_turn_added_in_web_ui_is_context(engine: Engine, client: OpenWebUIClient, owui: OwuiTarget) -> None:
    k = key()
    outcome = await engine.handle(message(k, "first"), RecordingSurface())
    chat = (await client.get_chat(outcome.chat_id))["chat"]
    # someone continues the chat in the web UI: a user message and its answer, through the API
    parent = chat["history"]["currentId"]
    web_user = chats.user_message("web-u-" + uuid.uuid4().hex, parent, "typed in the web UI MARKER-WEB1", "echo-1")
    await client.update_chat(outcome.chat_id, chats.attach(chat, web_user))
    web_answer = chats.assistant_message("web-a-" + uuid.uuid4().hex, web_user["id"], "web answer", "echo-1")
    await client.update_chat(outcome.chat_id, chats.attach(chat, web_answer))

    surface = RecordingSurface()
    third = await engine.handle(message(k, "what did I type?"), surface)
    assert "MARKER-WEB1" in surface.visible(third.message_ids)
    path = assert_tree((await client.get_chat(outcome.chat_id))["chat"])
    assert [m["content"] for m in path][2:4] == ["typed in the web UI MARKER-WEB1", "web answer"]


async def test_file_reaches_the_model_in_this_and_later_turns(engine: Engine, owui: OwuiTarget) -> None:
    k = key()
    doc = attachment("notes.txt", b"The secret code is MARKER-FILE42.\n", "text/plain")
    surface = RecordingSurface()
    outcome = await engine.handle(message(k, "what is in the file?", attachments=(doc,)), surface)
    assert outcome.status == "answered", outcome.error
    assert "MARKER-FILE42" in surface.visible(outcome.message_ids)
    later = RecordingSurface()
    outcome2 = await engine.handle(message(k, "say it again"), later)
    assert "MARKER-FILE42" in later.visible(outcome2.message_ids)


async def test_image_goes_to_a_vision_model(engine: Engine, owui: OwuiTarget) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    surface = RecordingSurface()
    outcome = await engine.handle(
        message(key(), "describe", attachments=(attachment("cat.png", png, "image/png"),), model="vision-1"), surface
    )
    assert outcome.status == "answered", outcome.error
    assert "saw 1 image" in surface.visible(outcome.message_ids)


async def test_knowledge_base_answer_names_its_sources(
    engine: Engine, client: OpenWebUIClient, owui: OwuiTarget
) -> None:
    kb = await extras.knowledge_create(client, f"handbook-{uuid.uuid4().hex[:6]}", "test handbook")
    try:
        doc = attachment("policy.md", b"# Policy\nVacation days: MARKER-KB7 per year.\n", "text/markdown")
        lines = await engine.catalog.add_to_knowledge(kb.name, [doc])
        assert lines == [f"✅ policy.md added to {kb.name}."]
        assert "policy.md" in [f.filename for f in await extras.knowledge_files(client, kb.id)]
        surface = RecordingSurface()
        outcome = await engine.handle(
            message(key(), "How many vacation days?", new_conversation=True),
            surface,
            knowledge=(await engine.catalog.find_knowledge(kb.name),),
        )
        assert "MARKER-KB7" in surface.visible(outcome.message_ids)
        assert "policy.md" in [s.name for s in surface.sources]
    finally:
        await extras.knowledge_delete(client, kb.id)


async def test_oversized_and_unreadable_files_are_refused_and_the_rest_answered(
    engine: Engine, owui: OwuiTarget
) -> None:
    engine.catalog.intake.max_bytes = 1000
    big = attachment("huge.log", b"x" * 5000, "text/plain")
    binary = attachment("blob.bin", bytes(range(256)) * 4, "application/octet-stream")
    surface = RecordingSurface()
    outcome = await engine.handle(message(key(), "hi", attachments=(big, binary)), surface)
    assert outcome.status == "answered"
    assert surface.visible(outcome.message_ids) == "echo: hi"
    notice = "\n".join(surface.texts)
    assert "huge.log: too large" in notice
    assert "blob.bin" in notice


async def test_unknown_model_is_explained_and_mapping_kept(engine: Engine, store: Store, owui: OwuiTarget) -> None:
    k = key()
    first = await engine.handle(message(k, "hello"), RecordingSurface())
    surface = RecordingSurface()
    outcome = await engine.handle(message(k, "hi", model="no-such-model"), surface)
    assert outcome.status == "failed"
    assert "no-such-model" in surface.texts[0] and "⚠️" in surface.texts[0]
    assert (await store.conversation(k)).chat_id == first.chat_id  # type: ignore[union-attr]
    again = await engine.handle(message(k, "still here?"), RecordingSurface())
    assert again.status == "answered" and again.chat_id == first.chat_id


async def test_model_failure_mid_stream_leaves_chat_consistent(
    engine: Engine, client: OpenWebUIClient, owui: OwuiTarget
) -> None:
    k = key()
    await engine.handle(message(k, "hello"), RecordingSurface())
    surface = RecordingSurface()
    outcome = await engine.handle(message(k, "break please [[reply:300]] [[fail-mid:error]]"), surface)
    assert outcome.status == "failed"
    shown = "\n".join(surface.texts)
    assert "⚠️" in shown and "model failed" in shown
    path = assert_tree((await client.get_chat(outcome.chat_id))["chat"])
    assert path[-1]["role"] == "assistant" and path[-1].get("error")
    after = RecordingSurface()
    ok = await engine.handle(message(k, "next one"), after)
    assert ok.status == "answered" and after.visible(ok.message_ids) == "echo: next one"


async def test_redelivered_event_is_answered_once(engine: Engine, owui: OwuiTarget) -> None:
    m = message(key(), "only once")
    surface = RecordingSurface()
    results = await asyncio.gather(engine.handle(m, surface), engine.handle(m, surface))
    assert sorted(r.status for r in results) == ["answered", "duplicate"]
    assert len(surface.messages) == 1


async def test_turns_of_one_conversation_run_in_arrival_order(
    engine: Engine, client: OpenWebUIClient, owui: OwuiTarget
) -> None:
    k = key()
    texts = [f"number {i} [[delay:0.{3 - i}]]" for i in range(3)]
    outcomes = await asyncio.gather(*(engine.handle(message(k, t), RecordingSurface()) for t in texts))
    path = assert_tree((await client.get_chat(outcomes[0].chat_id))["chat"])
    assert [m["content"] for m in path if m["role"] == "user"] == texts


async def test_shutdown_drain_interrupts_visibly_and_keeps_the_chat_whole(
    engine: Engine, client: OpenWebUIClient, store: Store, owui: OwuiTarget
) -> None:
    k = key()
    surface = RecordingSurface()
    turn = asyncio.create_task(engine.handle(message(k, "a long one [[reply:2000]] [[rate:20]]"), surface))
    async with asyncio.timeout(10):  # the answer's first text
        while not surface.ops:
            await asyncio.sleep(0.05)
    # the platform message is known to the store while the answer streams (a crash could mark it)
    assert [t.platform_message_ids for t in await store.open_turns()] == [["m1"]]
    await engine.drain(grace=0.2)
    assert turn.done() and turn.cancelled()
    shown = "\n".join(surface.texts)
    assert "interrupted" in shown and shown.startswith(surface.ops[0].text)
    conversation = await store.conversation(k)
    path = assert_tree((await client.get_chat(conversation.chat_id))["chat"])  # type: ignore[union-attr]
    assert path[-1]["role"] == "assistant" and "interrupted" in path[-1]["error"]["content"]
    assert await store.open_turns() == []
    late = RecordingSurface()
    refused = await engine.handle(message(k, "anyone there?"), late)
    assert refused.status == "refused" and "restarting" in late.texts[0]


async def test_recovery_after_a_crash_closes_the_open_turn(
    engine: Engine, client: OpenWebUIClient, store: Store, owui: OwuiTarget
) -> None:
    k = key()
    first = await engine.handle(message(k, "before the crash"), RecordingSurface())
    # what a crash mid-stream leaves: the user message written, the turn open, no answer
    chat = (await client.get_chat(first.chat_id))["chat"]
    user = chats.user_message("crash-u-" + uuid.uuid4().hex, chat["history"]["currentId"], "crashing", "echo-1")
    await client.update_chat(first.chat_id, chats.attach(chat, user))
    conversation = await store.conversation(k)
    assert conversation is not None
    await store.begin_turn(conversation, "ev-crash", user["id"], "crash-a-" + uuid.uuid4().hex, None, "echo-1")
    marked = []

    async def mark(turn, note):  # type: ignore[no-untyped-def]
        marked.append(turn.key)
        return ["echo: crash"]

    assert await engine.recover("test", mark) == 1
    assert marked == [k]
    path = assert_tree((await client.get_chat(first.chat_id))["chat"])
    assert (path[-1]["content"], path[-2]["content"]) == ("echo: crash", "crashing")
    assert await store.open_turns() == []
    after = RecordingSurface()
    again = await engine.handle(message(k, "after the crash"), after)
    assert again.status == "answered" and after.visible(again.message_ids) == "echo: after the crash"
