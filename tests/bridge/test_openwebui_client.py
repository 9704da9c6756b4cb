"""The OpenWebUI client's calls and typed errors, against the fake and (contract suite) the real server."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.openwebui import OpenWebUIClient, Sources, TextDelta, errors
from bridge.openwebui import chat as chats
from bridge.openwebui.client import BUSY_WAITS, _unless_busy
from simulators.model_upstream import long_reply
from simulators.openwebui_server import RealOpenWebUI
from simulators.processes import free_port
from tests import openwebui_extras as extras
from tests.clock import in_virtual_time
from tests.conftest import OwuiTarget


async def collect(client: OpenWebUIClient, body: dict) -> tuple[str, list]:
    text, sources = "", []
    async for event in client.stream(body):
        if isinstance(event, TextDelta):
            text += event.text
        elif isinstance(event, Sources):
            sources = event.items
    return text, sources


async def test_models_and_completions(client: OpenWebUIClient) -> None:
    assert {"echo-1", "vision-1"} <= {m.id for m in await client.models()}
    assert await client.health()
    body = {"model": "echo-1", "messages": [{"role": "user", "content": "ping"}]}
    text, _ = await collect(client, body)
    assert text == "echo: ping"
    answer = await extras.complete(client, body)
    assert answer["choices"][0]["message"]["content"] == "echo: ping"


async def test_chat_lifecycle(client: OpenWebUIClient) -> None:
    created = await client.new_chat(chats.new_chat("lifecycle", "echo-1"))
    chat_id = created["id"]
    chat = created["chat"]
    user = chats.user_message("u1", None, "hi", "echo-1")
    await client.update_chat(chat_id, chats.attach(chat, user))
    await client.update_chat(chat_id, chats.attach(chat, chats.assistant_message("a1", "u1", "hello", "echo-1")))
    stored = await client.get_chat(chat_id)
    assert stored["title"] == "lifecycle"
    assert stored["chat"]["history"]["currentId"] == "a1"
    assert stored["chat"]["history"]["messages"]["u1"]["childrenIds"] == ["a1"]
    assert stored["chat"]["models"] == ["echo-1"]  # keys not sent on update are kept
    assert await extras.delete_chat(client, chat_id)
    with pytest.raises(errors.NotFound):
        await client.get_chat(chat_id)


async def test_files_and_knowledge(client: OpenWebUIClient) -> None:
    uploaded = await client.upload_file("facts.txt", b"MARKER-CLIENT9 is the answer.", "text/plain")
    await client.wait_processed(uploaded.id, timeout=60)
    text, sources = await collect(
        client,
        {
            "model": "echo-1",
            "messages": [{"role": "user", "content": "what is the answer?"}],
            "files": [{"type": "file", "id": uploaded.id}],
        },
    )
    assert "MARKER-CLIENT9" in text
    assert sources and sources[0]["metadata"][0]["name"] == "facts.txt"
    kb = await extras.knowledge_create(client, f"kb-{uuid.uuid4().hex[:6]}")
    await client.knowledge_add_file(kb.id, uploaded.id)
    assert kb.id in {k.id for k in await client.knowledge_list()}
    result = await extras.query_collection(client, [kb.id], "answer")
    assert any("MARKER-CLIENT9" in doc for doc in result["documents"][0])
    assert await extras.knowledge_delete(client, kb.id)


async def test_image_file_fails_processing(client: OpenWebUIClient) -> None:
    uploaded = await client.upload_file("pic.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "image/png")
    with pytest.raises(errors.FileProcessingError):
        await client.wait_processed(uploaded.id, timeout=60)


async def test_wrong_key_is_unauthorized(owui: OwuiTarget) -> None:
    async with OpenWebUIClient(owui.url, "sk-" + "0" * 32) as client:
        with pytest.raises(errors.Unauthorized):
            await client.models()


async def test_web_ui_page_is_not_the_api(owui: OwuiTarget) -> None:
    async with OpenWebUIClient(owui.url + "/ui", owui.api_key) as client:
        with pytest.raises(errors.NotAnAPI):
            await client.models()
        with pytest.raises(errors.NotAnAPI):
            await client.new_chat({})


async def test_unknown_chat_is_not_found(client: OpenWebUIClient) -> None:
    with pytest.raises(errors.NotFound):
        await client.get_chat(str(uuid.uuid4()))


async def test_unknown_model(client: OpenWebUIClient) -> None:
    with pytest.raises(errors.ModelNotFound):
        await collect(client, {"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]})


async def test_model_failures_are_upstream_errors(client: OpenWebUIClient) -> None:
    with pytest.raises(errors.UpstreamError) as failed:
        await collect(client, {"model": "echo-1", "messages": [{"role": "user", "content": "x [[fail]]"}]})
    assert failed.value.detail
    with pytest.raises(errors.UpstreamError):
        await collect(
            client, {"model": "echo-1", "messages": [{"role": "user", "content": "[[reply:300]] [[fail-mid]]"}]}
        )


async def test_silence_times_out_but_a_slow_healthy_stream_does_not(owui: OwuiTarget) -> None:
    async with OpenWebUIClient(owui.url, owui.api_key, idle_timeout=1.0) as client:
        with pytest.raises(errors.Timeout):
            await collect(
                client, {"model": "echo-1", "messages": [{"role": "user", "content": "[[reply:200]] [[stall:3]]"}]}
            )
        # 40 tokens at 20/s: 2 s in all, longer than the idle timeout, never silent for a second
        text, _ = await collect(
            client, {"model": "echo-1", "messages": [{"role": "user", "content": "[[reply:200]] [[rate:20]]"}]}
        )
        assert len(text) == 200


async def test_an_event_over_the_cap_ends_the_stream_with_a_clear_error(owui: OwuiTarget) -> None:
    """A huge single event is read whole up to the cap (a big `sources` event must fit) and refused past it."""

    def asking(text: str) -> dict:
        return {"model": "echo-1", "messages": [{"role": "user", "content": text}]}

    async with OpenWebUIClient(owui.url, owui.api_key, max_event_bytes=100_000) as client:
        assert (await collect(client, asking("[[huge:90000]]")))[0] == long_reply(90_000, False)
        with pytest.raises(errors.UpstreamError, match="over 100,000 bytes"):
            await collect(client, asking("[[huge:300000]]"))


async def test_unreachable_server() -> None:
    async with OpenWebUIClient(f"http://127.0.0.1:{free_port()}", "sk-x", connect_timeout=2) as client:
        with pytest.raises(errors.Unreachable):
            await client.models()


@pytest.mark.contract
async def test_key_without_api_permission_is_forbidden(real_owui) -> None:  # type: ignore[no-untyped-def]
    user = real_owui.create_user(api_key=True)
    real_owui.allow_user_api_keys(False)  # the server's default: the key exists but may not be used
    async with OpenWebUIClient(real_owui.base_url, user.api_key) as client:
        with pytest.raises(errors.Forbidden):
            await client.models()


@contextlib.contextmanager
def write_lock_held(database: Path, seconds: float) -> Iterator[None]:
    """Another process's write on OpenWebUI's SQLite file, held `seconds` from entry (then committed)."""
    locked = threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(str(database), timeout=10, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            locked.set()
            time.sleep(seconds)
            connection.execute("COMMIT")
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10), "could not take the write lock"
        yield
    finally:
        holder.join()


@pytest.mark.contract
async def test_a_turn_started_while_openwebui_s_database_is_locked_starts_once_it_is_free(
    real_owui: RealOpenWebUI, caplog: pytest.LogCaptureFixture
) -> None:
    """Another write holds OpenWebUI's SQLite past its 5 s busy timeout (CI once saw it after a model failure):
    the signed-in turn's start answers 400 "database is locked". The client sends it again, and the turn
    starts, once: the chat holds the question and one answer."""
    assert real_owui.data_dir is not None
    async with OpenWebUIClient(real_owui.base_url, real_owui.api_key) as client:
        chat_id = (await client.new_chat(chats.new_chat("locked", "echo-1")))["id"]
        question = chats.user_message("q-locked", None, "ping", "echo-1")
        request = {
            "model": "echo-1",
            "messages": [{"role": "user", "content": "ping"}],
            "stream": True,
            "chat_id": chat_id,
            "id": "a-locked",
            "user_message": question,
            "session_id": "no-socket",  # OpenWebUI answers with task ids (its events go to no one)
            "background_tasks": {},
        }
        caplog.set_level(logging.INFO, logger="bridge.openwebui.client")
        with write_lock_held(real_owui.data_dir / "webui.db", seconds=8):
            started = await client.call(
                "POST", "/api/chat/completions", json=request, headers={"Authorization": f"Bearer {real_owui.jwt}"}
            )
        assert started.get("task_ids")
        assert [r for r in caplog.records if "database is locked" in r.getMessage()], "the lock was never met"
        messages = (await client.get_chat(chat_id))["chat"]["history"]["messages"]
        assert set(messages) == {"q-locked", "a-locked"}
        assert messages["q-locked"]["childrenIds"] == ["a-locked"]


@in_virtual_time
async def test_a_database_locked_for_good_is_told_as_busy_after_the_waits() -> None:
    tries: list[float] = []
    loop = asyncio.get_running_loop()

    async def send() -> None:
        tries.append(loop.time())
        raise errors.Busy("POST /api/chat/completions: 400 database is locked", status=400)

    with pytest.raises(errors.Busy) as refused:
        await _unless_busy(send)
    assert [round(b - a, 3) for a, b in itertools.pairwise(tries)] == list(BUSY_WAITS)
    assert refused.value.user_message == "OpenWebUI's database was busy; try again in a moment."
