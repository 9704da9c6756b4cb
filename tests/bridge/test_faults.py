"""Faults around a turn: the database locked or full, OpenWebUI failing, hostile input.

Each ends with a clear message for the user, a consistent store, and a conversation that goes on.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

import bridge.engine
from bridge.errors import SOMETHING_WENT_WRONG
from bridge.openwebui import OpenWebUIClient
from bridge.store import Store
from bridge.surface import Grant
from simulators.openwebui_fake import FakeOpenWebUI
from tests.conftest import make_app
from tests.messages import key, message
from tests.surfaces import RecordingSurface


@pytest.fixture
async def fault_engine(fake_owui: FakeOpenWebUI, tmp_path: Path):  # type: ignore[no-untyped-def]
    store = await Store.open(tmp_path / "bridge.db", busy_timeout=0.3)
    async with OpenWebUIClient(fake_owui.url, fake_owui.api_key) as client:
        yield make_app(client, store).engine, store, tmp_path / "bridge.db"
    await store.close()


async def test_database_locked_by_another_process(fault_engine) -> None:  # type: ignore[no-untyped-def]
    engine, _, path = fault_engine
    conversation = key()
    assert (await engine.handle(message(conversation, "first"), RecordingSurface())).status == "answered"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        surface = RecordingSurface()
        outcome = await engine.handle(message(conversation, "while locked"), surface)
        assert outcome.status == "failed"
        assert "database" in surface.texts[0] and "⚠️" in surface.texts[0]
    finally:
        other.execute("ROLLBACK")
        other.close()
    after = RecordingSurface()
    again = await engine.handle(message(conversation, "after"), after)
    assert again.status == "answered" and after.visible(again.message_ids) == "echo: after"
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_disk_full_mid_turn(fault_engine, fake_owui: FakeOpenWebUI) -> None:  # type: ignore[no-untyped-def]
    engine, store, path = fault_engine
    conversation = key()
    first = await engine.handle(message(conversation, "first"), RecordingSurface())
    pages = await store._run(lambda: store._sql.execute("PRAGMA page_count").fetchone()[0])
    await store._run(lambda: store._sql.execute(f"PRAGMA max_page_count = {pages}"))
    surface = RecordingSurface()
    big_event = message(conversation, "full?", event_id="e" * 20000)
    outcome = await engine.handle(big_event, surface)  # its event row needs pages the database may not grow
    assert outcome.status == "failed" and "full" in outcome.error
    assert "database" in "\n".join(surface.texts)
    await store._run(lambda: store._sql.execute("PRAGMA max_page_count = 1073741823"))
    again = await engine.handle(message(conversation, "room again"), RecordingSurface())
    assert again.status == "answered" and again.chat_id == first.chat_id
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_openwebui_down_then_back(fault_engine, fake_owui: FakeOpenWebUI) -> None:  # type: ignore[no-untyped-def]
    engine, store, _ = fault_engine
    conversation = key()
    first = await engine.handle(message(conversation, "first"), RecordingSurface())
    fake_owui.down = True
    try:
        surface = RecordingSurface()
        outcome = await engine.handle(message(conversation, "are you there?"), surface)
        assert outcome.status == "failed" and "try again" in surface.texts[0]
    finally:
        fake_owui.down = False
    assert (await store.conversation(conversation)).chat_id == first.chat_id  # type: ignore[union-attr]
    assert (await engine.handle(message(conversation, "back?"), RecordingSurface())).status == "answered"


async def test_a_stalled_stream_times_out_with_a_message(fake_owui: FakeOpenWebUI, tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "b.db")
    try:
        async with OpenWebUIClient(fake_owui.url, fake_owui.api_key, idle_timeout=0.5) as client:
            engine = make_app(client, store).engine
            surface = RecordingSurface()
            conversation = key()
            outcome = await engine.handle(message(conversation, "[[reply:300]] [[stall:3]]"), surface)
            assert outcome.status == "failed"
            shown = "\n".join(surface.texts)
            assert "took too long" in shown
    finally:
        await store.close()


async def test_hostile_text_is_passed_through_safely(fault_engine) -> None:  # type: ignore[no-untyped-def]
    engine, _, _ = fault_engine
    conversation = key()
    hostile = "\x00\x07 @everyone <script>alert(1)</script> " + "🙂" * 3000 + "\u202e"
    surface = RecordingSurface()
    outcome = await engine.handle(message(conversation, hostile), surface)
    assert outcome.status == "answered"
    assert surface.visible(outcome.message_ids) == f"echo: {hostile}"
    assert all(len(text) <= surface.limits.max_chars for text in surface.texts)


async def test_a_platform_that_refuses_the_answer_still_leaves_the_turn_closed(fault_engine) -> None:  # type: ignore[no-untyped-def]
    engine, store, _ = fault_engine

    class Refusing(RecordingSurface):
        async def post(self, text: str, grant: Grant) -> str:
            raise RuntimeError("platform answered 500")

    conversation = key()
    outcome = await engine.handle(message(conversation, "hello"), Refusing())
    assert outcome.status == "failed" and "500" in outcome.error
    chat = (await engine.client.get_chat(outcome.chat_id))["chat"]
    answer = chat["history"]["messages"][chat["history"]["currentId"]]
    assert answer["role"] == "assistant" and answer["done"] is True and answer["content"] == "echo: hello"
    assert await store.open_turns() == []
    ok = RecordingSurface()
    assert (await engine.handle(message(conversation, "again"), ok)).status == "answered"


async def test_an_unexpected_error_still_ends_the_turn_with_an_outcome_and_a_note(  # type: ignore[no-untyped-def]
    fault_engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug or a fault nothing else catches (here: the store raising something it never raises) must not
    escape `Engine.handle`: adapters rely on getting an outcome, and the person on getting an answer."""
    engine, store, _ = fault_engine

    def broken(platform: str, event_id: str) -> bool:  # the claim, in the transaction that queues the message
        raise RuntimeError("an error nobody expected")

    monkeypatch.setattr(store, "_claim", broken)
    surface = RecordingSurface()
    outcome = await engine.handle(message(key(), "hi"), surface)
    assert outcome.status == "failed" and "nobody expected" in outcome.error
    assert surface.texts == [f"⚠️ {SOMETHING_WENT_WRONG}"]


class Hanging(RecordingSurface):
    """A platform that takes the first post, then never answers again."""

    async def post(self, text: str, grant: Grant) -> str:
        if self.messages:
            await asyncio.Event().wait()
        return await super().post(text, grant)

    async def edit(self, message_id: str, text: str, grant: Grant) -> None:
        await asyncio.Event().wait()


async def test_a_shutdown_whose_clean_up_runs_out_of_time_still_ends_the_turn_cancelled(  # type: ignore[no-untyped-def]
    fault_engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The note cannot be shown (the platform hangs): the clean-up gives up (the next start recovers the
    turn), and the turn ends as the cancellation it is, not as an error of its own that posted more."""
    engine, _, _ = fault_engine
    monkeypatch.setattr(bridge.engine, "CLOSE_INTERRUPTED_SECONDS", 0.2)
    surface = Hanging()
    turn = asyncio.create_task(engine.handle(message(key(), "[[reply:3000]] [[rate:50]]"), surface))
    while not surface.ops:
        await asyncio.sleep(0.01)
    await engine.drain(grace=0.1)
    assert turn.done() and turn.cancelled()
    assert len(surface.messages) == 1
