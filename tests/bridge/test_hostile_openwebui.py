"""Hostile model output and odd chats, through OpenWebUI (the fake and, as contract tests, a real 0.12.4).

Every shape here once broke a turn (issue 14): the answer must come out whole or end with a note, be stored
in OpenWebUI as shown, and the conversation must go on.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bridge import texts
from bridge.engine import Engine
from bridge.messages import Attachment, ConversationKey, IncomingMessage
from bridge.metrics import METRICS
from bridge.openwebui import OpenWebUIClient, errors
from bridge.openwebui import chat as chats
from bridge.store import Store
from simulators.model_upstream import BAD_EVENTS, LEAKED_DETAIL, ModelUpstream, long_reply
from simulators.openwebui_fake import FakeOpenWebUI
from tests.conftest import OwuiTarget, make_app
from tests.surfaces import RecordingSurface


def key() -> ConversationKey:
    return ConversationKey("test", "guild", "channel", uuid.uuid4().hex)


def message(k: ConversationKey, text: str, *attachments: Attachment) -> IncomingMessage:
    return IncomingMessage(
        key=k, event_id=uuid.uuid4().hex, author_id="u1", author_name="Ada", text=text, attachments=attachments
    )


async def stored_chain(client: OpenWebUIClient, chat_id: str) -> list[dict]:
    return chats.chain((await client.get_chat(chat_id))["chat"])


async def first_turn_in_the_fake(
    engine: Engine, fake: FakeOpenWebUI, k: ConversationKey, text: str
) -> tuple[str, dict, dict]:
    """Answer `text` at `k`; returns the chat's id, and the question and the answer as the fake stores them
    (to be tampered with)."""
    outcome = await engine.handle(message(k, text), RecordingSurface())
    messages = fake.chats[outcome.chat_id]["chat"]["history"]["messages"].values()
    [question] = [m for m in messages if m["role"] == "user"]
    [answer] = [m for m in messages if m["role"] == "assistant"]
    return outcome.chat_id, question, answer


@pytest.fixture
async def fake_engine(fake_owui: FakeOpenWebUI, tmp_path: Path) -> AsyncIterator[Engine]:
    """An engine on the fake OpenWebUI only, for chats the real server would not store."""
    store = await Store.open(tmp_path / "bridge.db")
    async with OpenWebUIClient(fake_owui.url, fake_owui.api_key) as client:
        yield make_app(client, store).engine
    await store.close()


# --- item 3: text that is not valid Unicode ---------------------------------------------------------------


async def test_an_emoji_split_between_two_stream_events_arrives_whole(
    engine: Engine, client: OpenWebUIClient, owui: OwuiTarget
) -> None:
    surface = RecordingSurface()
    outcome = await engine.handle(message(key(), "hi [[split-surrogate]]"), surface)
    assert outcome.status == "answered", outcome.error
    assert surface.visible(outcome.message_ids) == "echo: hi 😀 ok"
    assert (await stored_chain(client, outcome.chat_id))[-1]["content"] == "echo: hi 😀 ok"


async def test_lone_surrogates_become_replacement_characters_and_the_chat_goes_on(
    engine: Engine, client: OpenWebUIClient, owui: OwuiTarget
) -> None:
    """In the model's answer and in the user's own text (a platform's JSON can carry one too)."""
    k = key()
    surface = RecordingSurface()
    outcome = await engine.handle(message(k, "hi \udc00 there [[lone-surrogate]]"), surface)
    assert outcome.status == "answered", outcome.error
    expected = "echo: hi \ufffd there \ufffd alone \ufffd"
    assert surface.visible(outcome.message_ids) == expected
    path = await stored_chain(client, outcome.chat_id)
    assert [m["content"] for m in path] == ["hi \ufffd there [[lone-surrogate]]", expected]
    after = RecordingSurface()
    again = await engine.handle(message(k, "and now?"), after)
    assert again.status == "answered" and after.visible(again.message_ids) == "echo: and now?"


async def test_a_chat_holding_a_lone_surrogate_is_read_back_valid(
    fake_engine: Engine, fake_owui: FakeOpenWebUI, model_upstream: ModelUpstream
) -> None:
    """Another client (or an older server) stored one: the real 0.12.4 drops them, so only the fake can."""
    k = key()
    _, question, _ = await first_turn_in_the_fake(fake_engine, fake_owui, k, "first")
    question["content"] = "written elsewhere \ud83d MARKER-lone"
    surface = RecordingSurface()
    outcome = await fake_engine.handle(message(k, "next"), surface)
    assert outcome.status == "answered", outcome.error
    assert surface.visible(outcome.message_ids) == "echo: next [markers: MARKER-lone]"
    sent = model_upstream.requests_containing("MARKER-lone")[-1]
    assert "written elsewhere \ufffd MARKER-lone" in [m["content"] for m in sent.messages]


# --- item 11: valid JSON of an unexpected shape ------------------------------------------------------------


def skipped_events() -> float:
    return METRICS.registry.get_sample_value("bridge_stream_events_skipped_total") or 0.0


async def test_malformed_stream_events_are_skipped_counted_and_the_answer_goes_on(
    engine: Engine, client: OpenWebUIClient, owui: OwuiTarget
) -> None:
    """Wrong shapes, non-JSON and bytes that are not UTF-8 between the tokens (`BAD_EVENTS`)."""
    before = skipped_events()
    surface = RecordingSurface()
    question = "one two three four five six seven eight nine ten [[bad-events]]"
    outcome = await engine.handle(message(key(), question), surface)
    assert outcome.status == "answered", outcome.error
    expected = "echo: one two three four five six seven eight nine ten"
    assert surface.visible(outcome.message_ids) == expected
    assert (await stored_chain(client, outcome.chat_id))[-1]["content"] == expected
    assert outcome.sources == [] and surface.sources == []
    assert skipped_events() - before == len(BAD_EVENTS)


@pytest.mark.parametrize(
    "history",
    [
        [],
        "a text",
        {"currentId": ["not", "an", "id"], "messages": ["a", "list"]},
        {"currentId": "m1", "messages": {"m1": "a text", "m2": {"id": "m2", "parentId": {"x": 1}, "content": 5}}},
    ],
)
async def test_a_chat_of_an_unusable_shape_is_left_and_the_conversation_goes_on_in_a_new_one(
    fake_engine: Engine, fake_owui: FakeOpenWebUI, history: object
) -> None:
    """What another client (or a broken server) may have stored; the real 0.12.4 refuses to store these and
    answers 500 to every update of such a chat, so only the fake can hold them. `Engine.handle` once raised
    out of its clean-up for a list."""
    k = key()
    first = await fake_engine.handle(message(k, "first"), RecordingSurface())
    fake_owui.chats[first.chat_id]["chat"]["history"] = history
    surface = RecordingSurface()
    outcome = await fake_engine.handle(message(k, "still there?"), surface)
    assert outcome.status == "answered", outcome.error
    assert surface.visible(outcome.message_ids) == "echo: still there?"
    assert outcome.chat_id != first.chat_id and fake_owui.chats[first.chat_id]["chat"]["history"] == history
    after = RecordingSurface()
    again = await fake_engine.handle(message(k, "and again?"), after)
    assert again.status == "answered" and after.visible(again.message_ids) == "echo: and again?"
    assert again.chat_id == outcome.chat_id


async def test_messages_with_odd_fields_are_read_as_far_as_they_make_sense(
    fake_engine: Engine, fake_owui: FakeOpenWebUI, model_upstream: ModelUpstream
) -> None:
    """A usable chat whose messages carry fields of other types: the conversation goes on in it."""
    k = key()
    chat_id, question, answer = await first_turn_in_the_fake(fake_engine, fake_owui, k, "first MARKER-odd")
    question["parentId"] = {"not": "an id"}
    answer.update(content=5, childrenIds="not a list")
    surface = RecordingSurface()
    outcome = await fake_engine.handle(message(k, "next"), surface)
    assert outcome.status == "answered" and outcome.chat_id == chat_id, outcome.error
    assert surface.visible(outcome.message_ids) == "echo: next [markers: MARKER-odd]"
    sent = model_upstream.requests_containing("MARKER-odd")[-1].messages
    assert [(m["role"], m["content"]) for m in sent] == [
        ("user", "first MARKER-odd"),
        ("assistant", ""),
        ("user", "next"),
    ]


async def test_a_chat_created_elsewhere_without_a_history_is_continued(
    engine: Engine, client: OpenWebUIClient, store: Store, owui: OwuiTarget
) -> None:
    """A chat with no `history` at all is a valid empty chat (the real server stores one as it came)."""
    created = await client.new_chat({"title": "made elsewhere", "messages": []})
    k = key()
    await store.start_conversation(k, str(created["id"]))
    surface = RecordingSurface()
    outcome = await engine.handle(message(k, "hello"), surface)
    assert outcome.status == "answered" and outcome.chat_id == created["id"], outcome.error
    assert [m["content"] for m in await stored_chain(client, outcome.chat_id)] == ["hello", "echo: hello"]


# --- item 13: OpenWebUI's internals stay in the log ------------------------------------------------------


async def test_openwebui_s_error_detail_goes_to_the_log_and_the_person_gets_a_sentence(
    engine: Engine, client: OpenWebUIClient, owui: OwuiTarget, caplog: pytest.LogCaptureFixture
) -> None:
    """OpenWebUI relays a model provider's 500 body as it came; here it names a server path and a password."""
    surface = RecordingSurface()
    with caplog.at_level(logging.WARNING, logger="bridge.engine"):
        outcome = await engine.handle(message(key(), "x [[fail-leak]]"), surface)
    assert outcome.status == "failed"
    assert surface.texts == [f"⚠️ {errors.UpstreamError.hint}"]
    stored = (await stored_chain(client, outcome.chat_id))[-1]
    assert stored["role"] == "assistant" and stored["error"]["content"] == errors.UpstreamError.hint
    assert LEAKED_DETAIL in caplog.text  # for the admin, through the log's secret mask


async def test_a_file_openwebui_cannot_read_is_named_with_a_sentence_not_its_error(
    engine: Engine, owui: OwuiTarget, caplog: pytest.LogCaptureFixture
) -> None:
    """A PDF without text: OpenWebUI's processing error (its own words) goes to the log."""

    async def fetch() -> bytes:
        return b"%PDF-1.4\n%%EOF\n"

    pdf = Attachment(filename="empty.pdf", content_type="application/pdf", size=15, fetch=fetch)
    surface = RecordingSurface()
    with caplog.at_level(logging.WARNING, logger="bridge.engine"):
        outcome = await engine.handle(message(key(), "hi", pdf), surface)
    assert outcome.status == "answered"
    assert surface.texts[-1] == f"⚠️ empty.pdf: {errors.FileProcessingError.hint}"
    assert "empty.pdf" in caplog.text


# --- item 4: bounds on an answer -------------------------------------------------------------------------


@pytest.fixture
async def bounded(owui: OwuiTarget, store: Store) -> AsyncIterator[Engine]:
    """An engine whose answers may be 5,000 characters and 1.5 seconds long, and silent for 1 second."""
    async with OpenWebUIClient(owui.url, owui.api_key, idle_timeout=1.0) as client:
        yield make_app(client, store, max_answer_chars=5_000, max_turn_seconds=1.5).engine


async def test_a_huge_single_event_is_cut_at_the_answer_limit_and_saved_cut(bounded: Engine, owui: OwuiTarget) -> None:
    """One 2 MB event (a 10 MB one once made 741 messages in two minutes, and counting)."""
    surface = RecordingSurface()
    outcome = await bounded.handle(message(key(), "[[huge:2000000]]"), surface)
    assert outcome.status == "answered", outcome.error
    shown = f"{long_reply(2_000_000, False)[:5_000]}\n\n{texts.answer_cut_long(5_000)}"
    assert surface.visible(outcome.message_ids) == shown
    assert len(surface.ops) <= 10 and all(len(op.text) <= 2_000 for op in surface.ops)
    assert (await stored_chain(bounded.client, outcome.chat_id))[-1]["content"] == shown


async def test_endless_output_is_cut_at_the_answer_limit_and_the_stream_closed(
    fake_owui: FakeOpenWebUI, model_upstream: ModelUpstream, store: Store
) -> None:
    """The fake only: whether a real OpenWebUI stops reading its provider when the bridge leaves is its own
    business, and an endless provider would run on."""
    async with OpenWebUIClient(fake_owui.url, fake_owui.api_key) as client:
        engine = make_app(client, store, max_answer_chars=20_000).engine
        surface = RecordingSurface()
        outcome = await engine.handle(message(key(), "MARKER-endless [[endless]]"), surface)
    assert outcome.status == "answered", outcome.error
    text = surface.visible(outcome.message_ids)
    assert len(text) == 20_000 + len(f"\n\n{texts.answer_cut_long(20_000)}")
    assert text.endswith(texts.answer_cut_long(20_000))
    [request] = model_upstream.requests_containing("MARKER-endless")
    sent = request.chunks_sent
    await asyncio.sleep(0.3)
    assert request.chunks_sent - sent <= 1, "the upstream kept streaming after the answer was cut"


async def test_an_answer_that_takes_too_long_is_cut_at_the_turn_limit(bounded: Engine, owui: OwuiTarget) -> None:
    """Words arrive often enough never to be silent, forever."""
    surface = RecordingSurface()
    started = time.monotonic()
    outcome = await bounded.handle(message(key(), "[[endless]] [[rate:20]]"), surface)
    assert outcome.status == "answered", outcome.error
    assert time.monotonic() - started < 5
    shown = surface.visible(outcome.message_ids)
    assert shown.endswith(f"\n\n{texts.answer_cut_slow(1.5)}") and len(shown) > 100
    assert (await stored_chain(bounded.client, outcome.chat_id))[-1]["content"] == shown


async def test_keep_alive_comments_are_silence(bounded: Engine, owui: OwuiTarget) -> None:
    """A stream of SSE comments only (a proxy's keep-alives) once held the conversation forever."""
    surface = RecordingSurface()
    async with asyncio.timeout(10):
        outcome = await bounded.handle(message(key(), "[[keepalive:0.1]]"), surface)
    assert outcome.status == "failed"
    assert surface.texts == [f"⚠️ {errors.Timeout.hint}"]
