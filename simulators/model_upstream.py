"""A deterministic OpenAI-compatible model server for tests and the benchmark.

OpenWebUI talks to it as its only model provider (chat completions and RAG embeddings), so tests can
assert exactly what OpenWebUI sent to the model and what the model answered, and the benchmark can emit
tokens at a known rate and measure latencies against the recorded send times.

The reply is a pure function of the request:

* default: ``echo: <last user text>`` (directives removed; when OpenWebUI wrapped the question in its RAG
  template, only the question after ``</context>``), then ``[markers: M1 M2]`` when any
  ``MARKER-xxx`` token appears in a system or user message (including the RAG context OpenWebUI
  injects; assistant messages are ignored so a marker does not echo itself forward), then
  ``[saw N image(s)]`` when the last user message has image parts;
* directives in the last user message change it:

  ``[[reply:N]]``   an N-character text with paragraphs (``[[code]]`` adds a fenced code block)
  ``[[fail]]``      HTTP 500 with an OpenAI-style error body
  ``[[fail-mid]]``  streams a few chunks, then drops the connection
  ``[[fail-mid:error]]`` streams a few chunks, then sends an SSE ``{"error": ...}`` event and ``[DONE]``
  ``[[stall:S]]``   pauses S seconds halfway through the stream
  ``[[rate:R]]``    R tokens per second for this request (0 = as fast as possible)
  ``[[delay:S]]``   S seconds before the first token
  ``[[say:K]]``     exactly the text the test registered under K (``ModelUpstream.script``), nothing else
  ``[[tool-call:F]]`` only a call of tool function F (``delta.tool_calls``), no text, whatever tools were sent

  Hostile shapes, for the bridge's defences (each changes only the streamed answer):

  ``[[split-surrogate]]`` appends `` 😀 ok``; the emoji goes out as two events, one UTF-16 half each, as an
                    upstream that escapes JSON per chunk sends it (``"\\ud83d"``, then ``"\\ude00"``)
  ``[[lone-surrogate]]`` appends `` \\ud83d alone \\ude00``: two unpaired halves, escaped in JSON
  ``[[huge:N]]``    the N-character ``[[reply:N]]`` text in one single event
  ``[[endless]]``   words without end, until the client goes away (``[[rate:R]]`` paces them)
  ``[[keepalive:S]]`` after the first chunk, only SSE comments (``: keep-alive``) every S seconds, forever
  ``[[bad-events]]`` events of valid JSON of the wrong shape, non-JSON and invalid UTF-8 between the tokens
  ``[[fail-leak]]`` HTTP 500 whose error message plants a server path and a ``pass=…`` (``LEAKED_DETAIL``)

OpenWebUI's own tasks are answered as a model that follows their prompts would:

* choosing tools (legacy function calling: a system prompt starting ``Available Tools:``): every listed
  tool whose name is a word of the query is called, each string parameter given the query (directives
  removed); ``{"tool_calls": []}`` when none is named;
* search queries (the query-generation template, a ``<chat_history>``): ``{"queries": [<last user line>]}``;
* a request carrying ``tools`` (native function calling) whose question names one of them, and no tool
  result yet: the answer is that tool call (``delta.tool_calls``), with no text;
* a chat's title, tags and follow-up suggestions (its default templates for them) are answered with the
  JSON they ask for, made from the first words of the chat's first user message
  (``task_reply``).

``POST /v1/images/generations`` answers every prompt with the same small PNG (``TINY_PNG``) as
``b64_json``, as OpenAI's images API does, and records the prompt.

A model that is not marked ``vision`` answers 400 to a request whose last user message carries an
image, as real text-only providers do.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import math
import re
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from simulators.threaded import serve_in_thread, serve_on_loopback

EMBEDDING_DIM = 64
MARKER_RE = re.compile(r"MARKER-[A-Za-z0-9]+")
_DIRECTIVE_RE = re.compile(
    r"\[\[(reply|code|fail-mid|fail-leak|fail|stall|rate|delay|say|split-surrogate|lone-surrogate|huge|endless|tool-call"
    r"|keepalive|bad-events)(?::([A-Za-z0-9._]+))?\]\]"
)
_TOKEN_RE = re.compile(r"\s*\S+\s*|\s+")
_WORD_RE = re.compile(r"[a-z0-9]+")
_FAIL_MID_AFTER_CHUNKS = 3
ENDLESS_FOR = 300.0
"""Seconds after which an endless or keep-alive-only answer stops anyway, should its client never leave."""
# OpenWebUI's RAG template puts retrieved passages in <context>...</context> and the question after it.
_RAG_CONTEXT_END = "</context>"
_FILLER_TEXT = (
    "the quick brown fox jumps over the lazy dog while a bridge carries every message across "
    "from one platform to another and back again without losing a single word of the reply"
)
_FILLER_WORDS = tuple(_FILLER_TEXT.split(" "))
LEAKED_DETAIL = "KeyError in /srv/model/app/handlers.py line 42 (db pass=hunter2-planted)"
"""The error message of ``[[fail-leak]]``: what must never reach a user."""
SPLIT_SURROGATE_TAIL = " 😀 ok"
LONE_SURROGATE_TAIL = " \ud83d alone \ude00"
BAD_EVENTS = (
    b'data: {"choices":"abc"}\n\n',
    b'data: {"choices":[null]}\n\n',
    b'data: {"choices":[{"delta":"x"}]}\n\n',
    b'data: {"choices":[{"delta":{"content":5}}]}\n\n',
    b'data: {"choices":[{"delta":{"content":["a"]}}]}\n\n',
    b'data: {"sources":"not a list"}\n\n',
    b'data: {"sources":[{"source":"a name","metadata":{"name":"x"},"document":"text"}]}\n\n',
    b"data: [1, 2]\n\n",
    b"data: not json at all\n\n",
    b'data: {"choices":[{"delta":{"content":"\xff\xfe"}}]}\n\n',
)
"""What ``[[bad-events]]`` sends between the answer's tokens (the last is invalid UTF-8)."""


@dataclass(frozen=True)
class UpstreamModel:
    """One model the upstream lists; ``vision`` models accept image parts.

    ``name``, when set, is listed too: OpenWebUI shows it instead of the id (``bridge demo`` labels its
    stand-in model that way).
    """

    id: str
    vision: bool = False
    name: str | None = None


DEFAULT_MODELS = (UpstreamModel("echo-1"), UpstreamModel("vision-1", vision=True))


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A PNG of one colour, written by hand: a deterministic picture needs no imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


TINY_PNG = _png(4, 4, (200, 40, 40))
"""What the images endpoint draws, whatever it is asked."""

_TASK_FORMATS = {
    '{ "title"': "title",
    '{ "tags"': "tags",
    '{ "follow_ups"': "follow_ups",
}
"""How OpenWebUI's default task templates name the JSON they want (``JSON format: { "title": ...``)."""


def task_reply(prompt: str) -> str | None:
    """The answer to one of OpenWebUI's task prompts, or None for any other prompt. From the first user line
    of the ``<chat_history>`` the template quotes: title ``About <its first four words>``, tags
    ``["bridge", <its first word>]``, follow-ups ``More about <words>`` and ``Why <words>?``."""
    kind = next((kind for marker, kind in _TASK_FORMATS.items() if f"JSON format: {marker}" in prompt), None)
    if kind is None:
        return None
    history = prompt.split("<chat_history>", 1)[-1].split("</chat_history>", 1)[0]
    first = next((line[len("USER:") :] for line in history.splitlines() if line.startswith("USER:")), "")
    words = _DIRECTIVE_RE.sub("", first).split()[:4] or ["nothing"]
    topic = " ".join(words)
    answer: dict[str, Any] = {
        "title": {"title": f"About {topic}"},
        "tags": {"tags": ["bridge", words[0].lower()]},
        "follow_ups": {"follow_ups": [f"More about {topic}", f"Why {topic}?"]},
    }[kind]
    return json.dumps(answer)


@dataclass
class UpstreamRequest:
    """What one chat completion request carried and how it was answered.

    Times are ``time.monotonic()`` values of this process, so an in-process benchmark can subtract them
    from its own monotonic clock.
    """

    model: str
    stream: bool
    messages: list[dict[str, Any]]
    body: dict[str, Any]
    received_at: float
    status: int = 200
    reply: str = ""
    first_token_at: float | None = None
    last_token_at: float | None = None
    chunks_sent: int = 0
    progress: list[tuple[float, int]] = field(default_factory=list)
    """(monotonic time, characters sent so far) after each token: what the model had said when."""
    image_count: int = 0
    markers: list[str] = field(default_factory=list)
    tool_calls: list[str] = field(default_factory=list)
    """The tools this answer called by name (native function calling), if it did."""
    task: bool = False
    """One of OpenWebUI's task prompts (a title, tags, follow-ups), which quotes the chat but asks nothing."""

    @property
    def message_count(self) -> int:
        """How many messages OpenWebUI sent (system and RAG-injected ones included)."""
        return len(self.messages)

    @property
    def question(self) -> str:
        """The text of the last user message: what was asked (in OpenWebUI's RAG template when files were
        searched)."""
        users = [m for m in self.messages if m.get("role") == "user"]
        return message_text(users[-1]) if users else ""

    @property
    def roles(self) -> list[str]:
        return [str(m.get("role")) for m in self.messages]

    def text_of(self, index: int) -> str:
        """The plain text of message ``index`` (text parts joined for multi-part content)."""
        return message_text(self.messages[index])


@dataclass(frozen=True)
class _Directives:
    reply_chars: int | None = None
    code: bool = False
    fail: bool = False
    fail_mid: str | None = None  # "drop" or "error"
    stall: float = 0.0
    rate: float | None = None
    delay: float | None = None
    say: str | None = None
    fail_leak: bool = False
    surrogates: str | None = None  # "split" or "lone"
    huge: int | None = None
    endless: bool = False
    keepalive: float | None = None
    bad_events: bool = False
    tool_call: str | None = None


def message_text(message: dict[str, Any]) -> str:
    """Text of an OpenAI message whose content is a string or a list of typed parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _image_count(message: dict[str, Any]) -> int:
    content = message.get("content")
    if not isinstance(content, list):
        return 0
    return sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url")


def _parse_directives(text: str) -> _Directives:
    values: dict[str, Any] = {}
    for name, arg in _DIRECTIVE_RE.findall(text):
        if name == "reply":
            values["reply_chars"] = int(arg)
        elif name == "code":
            values["code"] = True
        elif name == "fail":
            values["fail"] = True
        elif name == "fail-mid":
            values["fail_mid"] = "error" if arg == "error" else "drop"
        elif name == "stall":
            values["stall"] = float(arg)
        elif name == "rate":
            values["rate"] = float(arg)
        elif name == "delay":
            values["delay"] = float(arg)
        elif name == "say":
            values["say"] = arg
        elif name == "fail-leak":
            values["fail_leak"] = True
        elif name in ("split-surrogate", "lone-surrogate"):
            values["surrogates"] = name.split("-")[0]
        elif name == "huge":
            values["huge"] = int(arg)
        elif name == "endless":
            values["endless"] = True
        elif name == "keepalive":
            values["keepalive"] = float(arg or 0.1)
        elif name == "bad-events":
            values["bad_events"] = True
        elif name == "tool-call":
            values["tool_call"] = arg
    return _Directives(**values)


def _filler(length: int, seed: int) -> str:
    """Exactly ``length`` characters of sentences, split into paragraphs every few sentences."""
    parts: list[str] = []
    size = 0
    i = seed
    sentence = 0
    while size < length:
        words = [_FILLER_WORDS[(i + k) % len(_FILLER_WORDS)] for k in range(6 + i % 7)]
        i += 5
        sentence += 1
        text = " ".join(words).capitalize() + "."
        sep = "\n\n" if sentence % 4 == 0 else " "
        parts.append(text + sep)
        size += len(text) + len(sep)
    out = "".join(parts)[:length]
    # A reply never ends in whitespace: platforms strip it and the length would no longer match.
    return out[:-1] + "." if out and out[-1].isspace() else out


def long_reply(length: int, with_code: bool) -> str:
    """The deterministic ``[[reply:N]]`` text: exactly ``length`` characters, code block kept whole."""
    if not with_code or length < 80:
        return _filler(length, seed=0)
    budget = length // 2 - len("```python\n```")
    lines: list[str] = []
    n = 0
    while True:
        line = f"value_{n} = {n} * {n}  # line {n} of the example\n"
        if sum(map(len, lines)) + len(line) > budget:
            break
        lines.append(line)
        n += 1
    code = "```python\n" + "".join(lines) + "```"
    rest = length - len(code) - 4  # two "\n\n" around the block
    before = max(rest // 3, 1)
    after = rest - before
    head = _filler(before, seed=1)
    return head[:-1] + "." + "\n\n" + code + "\n\n" + _filler(after, seed=2)


def embed(text: str) -> list[float]:
    """Hashed bag of words, L2-normalised, so texts sharing words score a high cosine similarity.

    blake2b rather than ``hash()`` keeps vectors identical across processes (hash randomisation).
    """
    vector = [0.0] * EMBEDDING_DIM
    for word in _WORD_RE.findall(text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "big") % EMBEDDING_DIM
        sign = 1.0 if digest[4] & 1 else -1.0
        vector[index] += sign
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0:
        vector[0] = 1.0
        return vector
    return [v / norm for v in vector]


def tokenize(text: str) -> list[str]:
    """Split a reply into stream chunks of one word each (with its surrounding whitespace)."""
    return _TOKEN_RE.findall(text)


class ModelUpstream:
    """The fake provider: an aiohttp server on 127.0.0.1 with a free port.

    ``tokens_per_second`` (None = no pacing) and ``first_token_delay`` set the default pace of streamed
    replies; the ``[[rate:R]]`` and ``[[delay:S]]`` directives override them per request. ``api_key``,
    when set, is required as the bearer token (OpenWebUI sends its configured ``OPENAI_API_KEYS``).
    """

    def __init__(
        self,
        models: tuple[UpstreamModel, ...] | list[UpstreamModel] = DEFAULT_MODELS,
        *,
        tokens_per_second: float | None = None,
        first_token_delay: float = 0.0,
        api_key: str | None = "sk-fake",
    ) -> None:
        self.models = list(models)
        self.tokens_per_second = tokens_per_second
        self.first_token_delay = first_token_delay
        self.api_key = api_key
        self.requests: list[UpstreamRequest] = []
        self.embedding_inputs: list[str] = []
        self.scripts: dict[str, str] = {}
        self.image_prompts: list[str] = []
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ---- lifecycle -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("ModelUpstream is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, ending in ``/v1``, as OpenWebUI's ``OPENAI_API_BASE_URLS`` wants it."""
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_post("/v1/images/generations", self._images)
        self._runner, self._port = await serve_on_loopback(app)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> ModelUpstream:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @contextlib.contextmanager
    def running_in_thread(self, timeout: float = 10.0) -> Iterator[ModelUpstream]:
        """Serve from a daemon thread with its own event loop.

        This makes one upstream usable from a session-scoped *sync* fixture by tests on any event loop
        (pytest-asyncio gives each test its own loop by default), which is why the contract suite uses it.
        """
        with serve_in_thread(self.start, self.stop, timeout):
            yield self

    def script(self, reply: str) -> str:
        """The directive that makes the model answer exactly `reply`: hostile text a test needs verbatim as
        model output, which a user's message could not carry (platforms rewrite and limit what people type)."""
        key = uuid.uuid4().hex
        self.scripts[key] = reply
        return f"[[say:{key}]]"

    # ---- inspection helpers for tests ---------------------------------------------------------------

    @property
    def last_request(self) -> UpstreamRequest:
        if not self.requests:
            raise AssertionError("the upstream has received no chat completion request")
        return self.requests[-1]

    def asked(self, text: str) -> list[UpstreamRequest]:
        """Chat requests whose question contains ``text``: what one test caused, where `last_request` may be
        another test's (tests share one session upstream), and earlier turns' texts in the context don't count,
        nor task prompts quoting the chat."""
        return [r for r in self.requests if text in r.question and not r.task]

    def requests_containing(self, text: str) -> list[UpstreamRequest]:
        """Chat requests whose messages contain ``text`` anywhere (tests share one session upstream)."""
        return [r for r in self.requests if any(text in message_text(m) for m in r.messages)]

    # ---- handlers ------------------------------------------------------------------------------------

    def _unauthorized(self, request: web.Request) -> web.Response | None:
        if self.api_key is None or request.headers.get("Authorization") == f"Bearer {self.api_key}":
            return None
        return _error(401, "invalid api key", "invalid_request_error")

    async def _models(self, request: web.Request) -> web.Response:
        if denied := self._unauthorized(request):
            return denied
        data = [
            {"id": m.id, "object": "model", "created": 1_700_000_000, "owned_by": "model-upstream"}
            | ({"name": m.name} if m.name else {})
            for m in self.models
        ]
        return web.json_response({"object": "list", "data": data})

    async def _embeddings(self, request: web.Request) -> web.Response:
        if denied := self._unauthorized(request):
            return denied
        body = await request.json()
        inputs = body.get("input", [])
        texts = [inputs] if isinstance(inputs, str) else [str(t) for t in inputs]
        self.embedding_inputs.extend(texts)
        data = [{"object": "embedding", "index": i, "embedding": embed(t)} for i, t in enumerate(texts)]
        usage = {"prompt_tokens": 0, "total_tokens": 0}
        return web.json_response({"object": "list", "data": data, "model": body.get("model", ""), "usage": usage})

    async def _images(self, request: web.Request) -> web.Response:
        """OpenAI's images API: ``n`` pictures as ``b64_json`` (OpenWebUI asks for that format)."""
        if denied := self._unauthorized(request):
            return denied
        body = await request.json()
        self.image_prompts.append(str(body.get("prompt", "")))
        picture = base64.b64encode(TINY_PNG).decode()
        data = [{"b64_json": picture} for _ in range(max(1, int(body.get("n") or 1)))]
        return web.json_response({"created": int(time.time()), "data": data})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        if denied := self._unauthorized(request):
            return denied
        body = await request.json()
        messages = list(body.get("messages") or [])
        record = UpstreamRequest(
            model=str(body.get("model", "")),
            stream=bool(body.get("stream", False)),
            messages=messages,
            body=body,
            received_at=time.monotonic(),
        )
        self.requests.append(record)
        model = next((m for m in self.models if m.id == record.model), None)
        if model is None:
            record.status = 404
            return _error(404, f"model {record.model!r} does not exist", "invalid_request_error")
        users = [m for m in messages if m.get("role") == "user"]
        last_user = users[-1] if users else {}
        task = task_reply(message_text(last_user)) if len(users) == 1 else None
        record.task = task is not None
        # a task prompt quotes the chat, directives included: they are the chat's, not the task's
        directives = _Directives() if task is not None else _parse_directives(message_text(last_user))
        record.image_count = _image_count(last_user)
        record.markers = _markers(messages)
        if record.image_count and not model.vision:
            record.status = 400
            return _error(400, f"model {model.id} does not accept images", "invalid_request_error")
        if directives.fail:
            record.status = 500
            return _error(500, "the model upstream failed ([[fail]])", "server_error")
        if directives.fail_leak:
            record.status = 500
            return _error(500, LEAKED_DETAIL, "server_error")
        if directives.say is not None:
            reply = self.scripts[directives.say]
        elif task is not None:
            reply = task
        elif (tool_task := _task_answer(messages)) is not None:
            reply = tool_task
        elif calls := _native_tool_calls(body, messages, directives.tool_call):
            return await self._tool_calls(request, record, calls)
        else:
            reply = _reply(message_text(last_user), directives, record)
        if not record.stream:
            record.first_token_at = record.last_token_at = time.monotonic()
            record.reply = reply
            return web.json_response(_completion(record.model, reply))
        return await self._stream(request, record, reply, directives)

    async def _tool_calls(
        self, request: web.Request, record: UpstreamRequest, calls: list[dict[str, Any]]
    ) -> web.StreamResponse:
        """Answer with tool calls only, as a model under native function calling does."""
        record.tool_calls = [call["function"]["name"] for call in calls]
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        if not record.stream:
            message = {"role": "assistant", "content": None, "tool_calls": calls}
            choice = {"index": 0, "message": message, "finish_reason": "tool_calls"}
            return web.json_response({"id": completion_id, "object": "chat.completion", "choices": [choice]})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        await _send(response, _chunk(completion_id, record.model, {"role": "assistant", "content": None}))
        streamed = [{"index": index, **call} for index, call in enumerate(calls)]
        await _send(response, _chunk(completion_id, record.model, {"tool_calls": streamed}))
        await _send(response, _chunk(completion_id, record.model, {}, finish_reason="tool_calls"))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _stream(
        self, request: web.Request, record: UpstreamRequest, reply: str, directives: _Directives
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        rate = self.tokens_per_second if directives.rate is None else directives.rate
        interval = 1.0 / rate if rate else 0.0
        delay = self.first_token_delay if directives.delay is None else directives.delay
        await _send(response, _chunk(completion_id, record.model, {"role": "assistant", "content": ""}))
        if delay:
            await asyncio.sleep(delay)
        if directives.keepalive is not None:
            return await _keep_alive_only(request, response, directives.keepalive)
        bad_events = iter(BAD_EVENTS if directives.bad_events else ())
        tokens = _tokens(reply, directives)
        halfway = len(tokens) // 2 if isinstance(tokens, list) else -1
        for index, token in enumerate(tokens):
            if index and interval:
                await asyncio.sleep(interval)
            if directives.stall and index == halfway:
                await asyncio.sleep(directives.stall)
            if directives.fail_mid and index == _FAIL_MID_AFTER_CHUNKS:
                return await _break_stream(request, response, record, directives.fail_mid)
            if directives.endless and _gone(request, record):
                return response
            if (bad := next(bad_events, None)) is not None:
                await response.write(bad)
            await _send(response, _chunk(completion_id, record.model, {"content": token}))
            now = time.monotonic()
            record.first_token_at = record.first_token_at or now
            record.last_token_at = now
            record.reply += token
            record.chunks_sent += 1
            record.progress.append((now, len(record.reply)))
            if directives.endless and not interval:
                await asyncio.sleep(0)  # let the server notice a client that went away
        await _send(response, _chunk(completion_id, record.model, {}, finish_reason="stop"))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def _tokens(reply: str, directives: _Directives) -> list[str] | Iterator[str]:
    """The stream's pieces: one word each; endless words; one piece (``[[huge]]``); astral characters
    cut between their UTF-16 halves (``[[split-surrogate]]``)."""
    if directives.endless:
        return (word + " " for word in itertools.cycle(_FILLER_WORDS))
    if directives.huge is not None:
        return [reply]
    if directives.surrogates == "split":
        return [piece for token in tokenize(reply) for piece in _utf16_halves(token)]
    return tokenize(reply)


def _utf16_halves(token: str) -> list[str]:
    """``token`` in pieces so that each character outside the BMP ends one piece with its high surrogate
    and starts the next with its low one."""
    pieces = [""]
    for char in token:
        code = ord(char) - 0x10000
        if code < 0:
            pieces[-1] += char
        else:
            pieces[-1] += chr(0xD800 + (code >> 10))
            pieces.append(chr(0xDC00 + (code & 0x3FF)))
    return [piece for piece in pieces if piece]


def _gone(request: web.Request, record: UpstreamRequest) -> bool:
    """Whether an endless answer should stop: its client went away, or it ran for `ENDLESS_FOR` seconds."""
    transport = request.transport
    return transport is None or transport.is_closing() or time.monotonic() - record.received_at > ENDLESS_FOR


async def _keep_alive_only(request: web.Request, response: web.StreamResponse, interval: float) -> web.StreamResponse:
    """Only SSE comments, as a proxy keeping an idle connection open sends, until the client goes away."""
    started = time.monotonic()
    with contextlib.suppress(ConnectionError):
        while request.transport is not None and not request.transport.is_closing():
            await response.write(b": keep-alive\n\n")
            await asyncio.sleep(interval)
            if time.monotonic() - started > ENDLESS_FOR:
                break
    return response


def _markers(messages: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for message in messages:
        if message.get("role") in ("system", "user"):
            for marker in MARKER_RE.findall(message_text(message)):
                if marker not in found:
                    found.append(marker)
    return found


_TOOLS_PROMPT = "Available Tools: "
_TOOLS_PROMPT_END = "\n\nYour task is to choose"
_QUERY_HISTORY = re.compile(r"<chat_history>\n(.*?)\n</chat_history>", re.DOTALL)


def _task_answer(messages: list[dict[str, Any]]) -> str | None:
    """The JSON answer to OpenWebUI's tool-choosing or query-generation task, or None for a chat."""
    system = next((message_text(m) for m in messages if m.get("role") == "system"), "")
    if system.startswith(_TOOLS_PROMPT) and _TOOLS_PROMPT_END in system:
        specs = json.loads(system[len(_TOOLS_PROMPT) : system.index(_TOOLS_PROMPT_END)])
        users = [message_text(m) for m in messages if m.get("role") == "user"]
        query = _DIRECTIVE_RE.sub("", users[-1].rpartition("Query: ")[2] if users else "").strip()
        words = set(re.findall(r"[\w-]+", query))
        calls = [
            {"name": spec["name"], "parameters": _arguments(spec, query)} for spec in specs if spec.get("name") in words
        ]
        return json.dumps({"tool_calls": calls})
    for message in messages:
        history = _QUERY_HISTORY.search(message_text(message))
        if history and '"queries"' in message_text(message):
            asked = [line.removeprefix("USER: ") for line in history.group(1).splitlines() if line.startswith("USER: ")]
            return json.dumps({"queries": [_DIRECTIVE_RE.sub("", asked[-1]).strip()] if asked else []})
    return None


def _native_tool_calls(
    body: dict[str, Any], messages: list[dict[str, Any]], forced: str | None = None
) -> list[dict[str, Any]]:
    """The calls of the tools in `body["tools"]` the question names, unless a tool already answered; or the
    call of function `forced` (``[[tool-call:F]]``), tools sent or not."""
    users = [message_text(m) for m in messages if m.get("role") == "user"]
    if forced:
        specs: list[dict[str, Any]] = [{"name": forced}]
        words = {forced}
    elif not body.get("tools") or any(m.get("role") == "tool" for m in messages):
        return []
    else:
        words = set(re.findall(r"[\w-]+", users[-1] if users else ""))
        specs = [tool.get("function") or {} for tool in body["tools"] if isinstance(tool, dict)]
    return [
        {
            "id": f"call_{uuid.uuid4().hex[:8]}",
            "type": "function",
            "function": {"name": spec["name"], "arguments": json.dumps(_arguments(spec, users[-1]))},
        }
        for spec in specs
        if spec.get("name") in words
    ]


def _arguments(spec: dict[str, Any], query: str) -> dict[str, Any]:
    """Every string parameter of a tool's spec given the query."""
    properties = (spec.get("parameters") or {}).get("properties") or {}
    return {name: query for name, schema in properties.items() if (schema or {}).get("type") == "string"}


def _reply(user_text: str, directives: _Directives, record: UpstreamRequest) -> str:
    if directives.reply_chars is not None or directives.huge is not None:
        return long_reply(directives.huge or directives.reply_chars or 0, directives.code)
    question = user_text.rsplit(_RAG_CONTEXT_END, 1)[-1]
    text = "echo: " + _DIRECTIVE_RE.sub("", question).strip()
    if record.markers:
        text += " [markers: " + " ".join(record.markers) + "]"
    if record.image_count:
        text += f" [saw {record.image_count} image(s)]"
    if directives.surrogates == "split":
        text += SPLIT_SURROGATE_TAIL
    elif directives.surrogates == "lone":
        text += LONE_SURROGATE_TAIL
    return text


def _error(status: int, message: str, kind: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind, "code": status}}, status=status)


def _chunk(completion_id: str, model: str, delta: dict[str, Any], finish_reason: str | None = None) -> dict:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def _completion(model: str, reply: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": len(tokenize(reply)), "total_tokens": 0},
    }


async def _send(response: web.StreamResponse, payload: dict[str, Any]) -> None:
    await response.write(f"data: {json.dumps(payload)}\n\n".encode())


async def _break_stream(
    request: web.Request, response: web.StreamResponse, record: UpstreamRequest, how: str
) -> web.StreamResponse:
    """End a stream badly: an SSE error event, or a dropped connection with no terminating chunk."""
    record.status = 500
    if how == "error":
        await _send(response, {"error": {"message": "the model upstream failed mid-stream", "code": 500}})
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response
    if request.transport is not None:
        request.transport.close()
    return response
