"""The deterministic model upstream answers like an OpenAI server and follows its directives."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math
import time

import httpx
import pytest

from simulators.model_upstream import (
    BAD_EVENTS,
    LEAKED_DETAIL,
    LONE_SURROGATE_TAIL,
    ModelUpstream,
    UpstreamModel,
    embed,
    long_reply,
)

AUTH = {"Authorization": "Bearer sk-fake"}
PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()


async def _stream(client: httpx.AsyncClient, body: dict) -> list[str]:
    """The raw ``data:`` payloads of a streamed completion."""
    events: list[str] = []
    async with client.stream("POST", "/chat/completions", json={**body, "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                events.append(line[len("data: ") :])
    return events


def _text(events: list[str]) -> str:
    out = ""
    for event in events:
        if event != "[DONE]":
            for choice in json.loads(event).get("choices", []):
                out += choice["delta"].get("content") or ""
    return out


@pytest.fixture
async def upstream():
    async with ModelUpstream() as server:
        yield server


@pytest.fixture
async def client(upstream: ModelUpstream):
    async with httpx.AsyncClient(base_url=upstream.base_url, headers=AUTH, timeout=10) as c:
        yield c


async def test_models_and_auth(upstream: ModelUpstream, client: httpx.AsyncClient) -> None:
    assert upstream.base_url.endswith("/v1")
    ids = [m["id"] for m in (await client.get("/models")).json()["data"]]
    assert ids == ["echo-1", "vision-1"]
    bad = await client.get("/models", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


async def test_echo_markers_and_request_record(upstream: ModelUpstream, client: httpx.AsyncClient) -> None:
    messages = [
        {"role": "system", "content": "context: MARKER-abc1"},
        {"role": "assistant", "content": "MARKER-notme"},
        {"role": "user", "content": "hello there"},
    ]
    events = await _stream(client, {"model": "echo-1", "messages": messages})
    assert events[-1] == "[DONE]"
    assert json.loads(events[0])["object"] == "chat.completion.chunk"
    assert _text(events) == "echo: hello there [markers: MARKER-abc1]"
    record = upstream.last_request
    assert record.message_count == 3
    assert record.roles == ["system", "assistant", "user"]
    assert record.reply == "echo: hello there [markers: MARKER-abc1]"
    assert record.first_token_at is not None and record.last_token_at >= record.first_token_at
    plain = await client.post("/chat/completions", json={"model": "echo-1", "messages": messages[2:]})
    assert plain.json()["choices"][0]["message"]["content"] == "echo: hello there"


async def test_rag_template_is_not_echoed(client: httpx.AsyncClient) -> None:
    """OpenWebUI wraps the question in its RAG template; the echo keeps only the question."""
    wrapped = '### Task: answer\n<context>\n<source id="1">code MARKER-rag9</source>\n</context>\n\nWhat code?'
    response = await client.post(
        "/chat/completions", json={"model": "echo-1", "messages": [{"role": "user", "content": wrapped}]}
    )
    assert response.json()["choices"][0]["message"]["content"] == "echo: What code? [markers: MARKER-rag9]"


async def test_images_need_a_vision_model(client: httpx.AsyncClient) -> None:
    parts = [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": PNG}}]
    body = {"model": "vision-1", "messages": [{"role": "user", "content": parts}]}
    assert _text(await _stream(client, body)) == "echo: look [saw 1 image(s)]"
    refused = await client.post("/chat/completions", json={**body, "model": "echo-1"})
    assert refused.status_code == 400


async def test_long_reply_is_exact_and_keeps_code_whole(client: httpx.AsyncClient) -> None:
    body = {"model": "echo-1", "messages": [{"role": "user", "content": "[[reply:1500]] [[code]]"}]}
    text = _text(await _stream(client, body))
    assert len(text) == 1500
    assert text == long_reply(1500, with_code=True)
    assert text.count("```") == 2 and "\n\n" in text
    assert len(long_reply(37, with_code=False)) == 37


async def test_fail_directives(upstream: ModelUpstream, client: httpx.AsyncClient) -> None:
    failed = await client.post(
        "/chat/completions", json={"model": "echo-1", "messages": [{"role": "user", "content": "[[fail]]"}]}
    )
    assert failed.status_code == 500 and "error" in failed.json()
    words = "[[fail-mid:error]] " + "word " * 20
    events = await _stream(client, {"model": "echo-1", "messages": [{"role": "user", "content": words}]})
    assert "error" in json.loads(events[-2]) and events[-1] == "[DONE]"
    with pytest.raises(httpx.RemoteProtocolError):
        await _stream(
            client,
            {"model": "echo-1", "messages": [{"role": "user", "content": "[[fail-mid]] " + "word " * 20}]},
        )
    assert upstream.last_request.chunks_sent == 3


async def test_rate_and_delay_pace_the_stream(upstream: ModelUpstream, client: httpx.AsyncClient) -> None:
    body = {
        "model": "echo-1",
        "messages": [{"role": "user", "content": "[[rate:50]] [[delay:0.2]] a b c d e"}],
    }
    started = time.monotonic()
    await _stream(client, body)
    record = upstream.last_request
    assert record.first_token_at - started >= 0.2
    # "echo:" plus five words = 6 tokens, 5 gaps of 20 ms
    assert record.last_token_at - record.first_token_at >= 5 * 0.02 * 0.9


async def test_embeddings_rank_related_text_first(client: httpx.AsyncClient) -> None:
    docs = ["the secret password is swordfish", "bananas are yellow fruit", "trains run on rails"]
    response = await client.post("/embeddings", json={"model": "e", "input": docs})
    vectors = [d["embedding"] for d in response.json()["data"]]
    assert all(len(v) == 64 and math.isclose(sum(x * x for x in v), 1.0) for v in vectors)
    query = embed("what is the secret password")
    scores = [sum(a * b for a, b in zip(query, v, strict=True)) for v in vectors]
    assert max(range(3), key=scores.__getitem__) == 0


def test_running_in_thread_serves_any_loop() -> None:
    upstream = ModelUpstream([UpstreamModel("m")])
    with upstream.running_in_thread():
        response = httpx.get(f"{upstream.base_url}/models", headers=AUTH, timeout=5)
        assert [m["id"] for m in response.json()["data"]] == ["m"]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{upstream.base_url}/models", headers=AUTH, timeout=5)


async def _raw(client: httpx.AsyncClient, text: str, *, limit: int = 1 << 30, seconds: float = 5.0) -> bytes:
    """The raw body of a streamed completion, up to `limit` bytes or `seconds`."""
    body = {"model": "echo-1", "stream": True, "messages": [{"role": "user", "content": text}]}
    out = b""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds), client.stream("POST", "/chat/completions", json=body) as response:
            async for chunk in response.aiter_raw():
                out += chunk
                if len(out) >= limit:
                    break
    return out


def _data(raw: bytes, *, only_chunks: bool = False) -> list[str]:
    """The `data:` payloads of a raw body; `only_chunks`: the upstream's own chunks and `[DONE]`."""
    lines = [line[6:] for line in raw.split(b"\n") if line.startswith(b"data: ")]
    if only_chunks:
        lines = [line for line in lines if line.startswith(b'{"id"') or line == b"[DONE]"]
    return [line.decode() for line in lines]


async def test_hostile_text_directives(client: httpx.AsyncClient) -> None:
    """Surrogates go out as JSON escapes (valid JSON, invalid text); a split pair in two events."""
    split = await _raw(client, "hi [[split-surrogate]]")
    assert b'"content": "\\ud83d"}' in split and b'"content": "\\ude00 "}' in split
    assert _text(_data(split)) == "echo: hi \ud83d\ude00 ok"  # the halves joined as text, never as one emoji
    assert _text(_data(await _raw(client, "hi [[lone-surrogate]]"))) == "echo: hi" + LONE_SURROGATE_TAIL


async def test_hostile_stream_shapes(client: httpx.AsyncClient) -> None:
    huge = await _raw(client, "[[huge:300000]]")
    assert len(_data(huge)) == 4  # role, the whole text, stop, [DONE]
    assert _text(_data(huge)) == long_reply(300_000, False)
    keepalive = await _raw(client, "[[keepalive:0.05]]", seconds=0.5)
    assert keepalive.count(b": keep-alive\n\n") >= 3 and len(_data(keepalive)) == 1  # only the role chunk
    endless = await _raw(client, "[[endless]]", limit=200_000)
    assert len(endless) >= 200_000 and b"[DONE]" not in endless
    bad = await _raw(client, "one two three four five six seven eight nine ten [[bad-events]]")
    assert all(event in bad for event in BAD_EVENTS)
    assert _text(_data(bad, only_chunks=True)) == "echo: one two three four five six seven eight nine ten"
    leaked = await client.post(
        "/chat/completions", json={"model": "echo-1", "messages": [{"role": "user", "content": "[[fail-leak]]"}]}
    )
    assert leaked.status_code == 500 and leaked.json()["error"]["message"] == LEAKED_DETAIL


async def test_openwebuis_tool_and_query_tasks_are_answered_in_json(client: httpx.AsyncClient) -> None:
    """The prompts of OpenWebUI 0.12.4's legacy tool choice and search-query generation (`config.py`)."""
    spec = {
        "name": "vault_lookup",
        "parameters": {"properties": {"query": {"type": "string"}, "n": {"type": "integer"}}},
    }
    system = f"Available Tools: {json.dumps([spec])}\n\nYour task is to choose and return the correct tool(s)…"
    for query, calls in (
        ("use vault_lookup now", [{"name": "vault_lookup", "parameters": {"query": "use vault_lookup now"}}]),
        ("nothing to look up", []),
    ):
        messages = [{"role": "system", "content": system}, {"role": "user", "content": f"Query: {query}"}]
        answer = (await client.post("/chat/completions", json={"model": "echo-1", "messages": messages})).json()
        assert json.loads(answer["choices"][0]["message"]["content"]) == {"tool_calls": calls}
    template = (
        '### Task:\nRespond { "queries": [] }\n'
        "<chat_history>\nUSER: first\nASSISTANT: a\nUSER: second one\n</chat_history>"
    )
    answer = (
        await client.post(
            "/chat/completions", json={"model": "echo-1", "messages": [{"role": "user", "content": template}]}
        )
    ).json()
    assert json.loads(answer["choices"][0]["message"]["content"]) == {"queries": ["second one"]}


async def test_native_tool_calls_come_back_as_deltas_without_text(
    upstream: ModelUpstream, client: httpx.AsyncClient
) -> None:
    tools = [{"type": "function", "function": {"name": "vault_lookup", "parameters": {"properties": {}}}}]
    messages = [{"role": "user", "content": "please vault_lookup"}]
    events = await _stream(client, {"model": "echo-1", "messages": messages, "tools": tools})
    deltas = [json.loads(e)["choices"][0]["delta"] for e in events[:-1]]
    assert [call["function"]["name"] for d in deltas for call in d.get("tool_calls", [])] == ["vault_lookup"]
    assert _text(events) == "" and upstream.last_request.tool_calls == ["vault_lookup"]
    answered = [*messages, {"role": "tool", "content": "the result"}]
    assert _text(await _stream(client, {"model": "echo-1", "messages": answered, "tools": tools})).startswith("echo:")
    forced = await _stream(client, {"model": "echo-1", "messages": [{"role": "user", "content": "[[tool-call:fn_x]]"}]})
    assert upstream.last_request.tool_calls == ["fn_x"] and _text(forced) == ""
