"""An async client for the real OpenWebUI 0.12 HTTP API (see README, "OpenWebUI paths used").

One `httpx.AsyncClient` per process, so connections are pooled across every conversation. Answer streams
are read with an `aiohttp.ClientSession` instead: with hundreds of answers streaming at once, reading
their server-sent events is most of the bridge's work, and aiohttp does it for less than half of httpx's
CPU per event (measured: 80 µs against 180 µs with 200 streams of 30 events a second; httpx reached a
whole core there). Streams are bounded by the connect timeout and by the silence allowed between two
events, never by a total time, so a long but healthy answer is never cut off here (the engine bounds a
turn's length and duration).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import aiohttp
import httpx

from bridge.openwebui import errors
from bridge.openwebui.acting import acting
from bridge.openwebui.surrogates import PairJoiner, json_body, parsed, valid_json, valid_text

log = logging.getLogger(__name__)
_Sent = TypeVar("_Sent")

MAX_EVENT_BYTES = 16 * 1024 * 1024
"""The longest line, or data of one event, an answer stream may send: room for a retrieval `sources`
event with many long passages, while a runaway line ends the answer instead of filling the bridge's
memory (a 100 MB line once cost 18.7 s of CPU and 200 MB before anything failed)."""
BUSY_WAITS = (1.0, 3.0)
"""Seconds before each new try of a request OpenWebUI refused with `errors.Busy`: each refusal already
waited OpenWebUI's own busy timeout, so two more tries cover a write held for about 19 s."""


FEATURES = ("web_search", "image_generation", "code_interpreter", "memory")
"""The `features` of a completion request an admin may switch per place (OpenWebUI's own names)."""


@dataclass(frozen=True, slots=True)
class Model:
    """A model as `/api/models` lists it, with the defaults its OpenWebUI admin gave it (`info.meta`):
    `tool_ids` its default tools (`toolIds`), `features` its default features (`defaultFeatureIds` the
    model has the capability for, as OpenWebUI's own headless runs resolve them in
    `utils/automations._resolve_model_defaults`)."""

    id: str
    name: str
    vision: bool = True  # OpenWebUI treats a model without declared capabilities as vision-capable
    tool_ids: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    filter_ids: tuple[str, ...] = ()
    """Its toggleable filters switched on by default (`defaultFilterIds`): a turn names them, as the web UI does."""
    suggestions: tuple[str, ...] = ()
    """The prompts the web UI suggests on a new chat with this model (`meta.suggestion_prompts`' contents)."""


@dataclass(frozen=True, slots=True)
class Prompt:
    """A prompt of OpenWebUI's prompt library (`GET /api/v1/prompts/`): typed as `/command` in the web UI,
    its `content` a template whose `{{variables}}` the web UI asks for."""

    command: str
    name: str
    content: str


@dataclass(frozen=True, slots=True)
class Tool:
    """A tool OpenWebUI offers this key (`GET /api/v1/tools/`): a Python tool, a tool server, an MCP server."""

    id: str
    name: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer, in order."""

    text: str


@dataclass(frozen=True, slots=True)
class Sources:
    """OpenWebUI's retrieval results for this answer (its first SSE event when RAG ran)."""

    items: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ToolCalls:
    """The model asked for tools by name in the stream (`delta.tool_calls`): OpenWebUI passed the request
    through without running them (native function calling in pass-through mode). Never shown as text."""

    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MalformedEvent:
    """An event the stream sent that is not one the bridge can use (not JSON, not UTF-8, or JSON of another
    shape). It is skipped, and the answer goes on; the engine counts it."""

    reason: str


@dataclass(frozen=True, slots=True)
class Progress:
    """What OpenWebUI says it is doing (a `status` event: searching the web, calling a tool), shown until the
    answer's first words."""

    description: str


@dataclass(frozen=True, slots=True)
class SavedAnswer:
    """The answer as OpenWebUI saved it in the chat, once a turn it ran itself has ended: its text is the
    final one (what streamed live may lack what a filter changed), and the bridge does not write it again."""

    text: str
    sources: list[dict[str, Any]]
    later: AfterAnswer | None = None
    """What OpenWebUI's own background tasks send after the answer (its title, its follow-ups): they come
    after the answer's end, so they are awaited apart from the turn (the reader must `wait` or `close` it)."""


@dataclass(frozen=True, slots=True)
class PipelineExtras:
    """A chat's title and an answer's follow-up suggestions as OpenWebUI's pipeline sent them (raw: the
    reader bounds them as it bounds its own tasks' results); empty when a task is off or was not asked."""

    title: str = ""
    follow_ups: tuple[Any, ...] = ()


class AfterAnswer(Protocol):
    def close(self) -> None:
        """Stop listening (idempotent)."""
        ...

    async def wait(self, within: float) -> PipelineExtras:
        """What arrives within `within` seconds, or until OpenWebUI says its work on the answer ended; then
        closes."""
        ...


CompletionEvent = TextDelta | Sources | ToolCalls | MalformedEvent | Progress | SavedAnswer


@dataclass(frozen=True, slots=True)
class UploadedFile:
    id: str
    filename: str
    status: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FileContent:
    """A file's bytes as OpenWebUI serves them; `data` holds at most the `limit` asked for plus one byte, so a
    longer file shows as `len(data) > limit` without being read whole."""

    data: bytes
    content_type: str
    name: str


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    id: str
    name: str
    description: str = ""


class OpenWebUIClient:
    """Typed calls to OpenWebUI; every failure is an `errors.OpenWebUIError` subclass."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        connect_timeout: float = 10.0,
        idle_timeout: float = 120.0,
        request_timeout: float = 300.0,
        max_event_bytes: int = MAX_EVENT_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        self._request = httpx.Timeout(request_timeout, connect=connect_timeout)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=self._headers,
            timeout=self._request,
            # every conversation streaming at once holds a connection, and other calls still need some
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=100),
        )
        self._stream_timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_connect=connect_timeout, sock_read=idle_timeout
        )
        self._streams: aiohttp.ClientSession | None = None  # made on first use, inside the running loop
        self._max_event_bytes = max_event_bytes
        self._idle_timeout = idle_timeout

    async def aclose(self) -> None:
        await self._http.aclose()
        if self._streams is not None:
            await self._streams.close()

    async def __aenter__(self) -> OpenWebUIClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- plumbing -------------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        *,
        timeout: httpx.Timeout | None = None,
        not_found: type[errors.OpenWebUIError] = errors.NotFound,
        **kwargs: Any,
    ) -> Any:
        """One request whose answer must be JSON; maps every failure onto a typed error. The methods below
        are the calls the bridge makes; tests and tools reach other endpoints through this one. Text is
        made valid both ways (`surrogates`): what is sent, and what comes back (a chat another client wrote)."""
        headers = _person_auth() | kwargs.pop("headers", {})
        if "json" in kwargs:
            kwargs["content"] = json_body(kwargs.pop("json"))
            headers["Content-Type"] = "application/json"

        async def send() -> httpx.Response:
            try:
                response = await self._http.request(
                    method, path, timeout=timeout or self._request, headers=headers or None, **kwargs
                )
            except httpx.TransportError as exc:
                raise _transport_error(exc, self.base_url) from None
            _raise_for_status(response, path, not_found)
            return response

        return _json(await _unless_busy(send), path)

    # --- health and models ----------------------------------------------------------------------

    async def health(self) -> bool:
        """`GET /health`: the server process answers (no key needed)."""
        return bool((await self.call("GET", "/health")).get("status"))

    async def version(self) -> str:
        return str((await self.call("GET", "/api/version")).get("version", ""))

    async def models(self) -> list[Model]:
        """`GET /api/models`: the models this key's user may use."""
        data = await self.call("GET", "/api/models")
        return [_model(item) for item in data.get("data", [])]

    async def tools(self) -> list[Tool]:
        """`GET /api/v1/tools/`: the tools this key's user may use."""
        data = await self.call("GET", "/api/v1/tools/")
        return [_tool(item) for item in data if isinstance(item, dict) and item.get("id")]

    async def prompts(self) -> list[Prompt]:
        """`GET /api/v1/prompts/`: the prompt library as this key's user may read it."""
        data = await self.call("GET", "/api/v1/prompts/")
        return [_prompt(item) for item in data if isinstance(item, dict) and item.get("command")]

    # --- chats ----------------------------------------------------------------------------------

    async def new_chat(self, chat: dict[str, Any]) -> dict[str, Any]:
        """`POST /api/v1/chats/new`: store a chat object; returns the ChatResponse (with its `id`)."""
        return await self.call("POST", "/api/v1/chats/new", json={"chat": chat})

    async def get_chat(self, chat_id: str) -> dict[str, Any]:
        """`GET /api/v1/chats/{id}`. The server answers 401 for an unknown or foreign chat: `NotFound`."""
        return await self.call("GET", f"/api/v1/chats/{chat_id}", not_found=errors.NotFound)

    async def update_chat(self, chat_id: str, chat: dict[str, Any]) -> dict[str, Any]:
        """`POST /api/v1/chats/{id}`: top-level keys replace, `history.messages` merge by message id."""
        return await self.call("POST", f"/api/v1/chats/{chat_id}", json={"chat": chat})

    # --- evaluations ----------------------------------------------------------------------------

    async def create_feedback(self, feedback: dict[str, Any]) -> str:
        """`POST /api/v1/evaluations/feedback`: a rating of one answer (what the web UI's 👍/👎 send); its id."""
        created = await self.call("POST", "/api/v1/evaluations/feedback", json=feedback)
        return str(created["id"])

    async def update_feedback(self, feedback_id: str, feedback: dict[str, Any]) -> None:
        """`POST /api/v1/evaluations/feedback/{id}`: change a rating; `NotFound` when it was deleted."""
        await self.call("POST", f"/api/v1/evaluations/feedback/{feedback_id}", json=feedback)

    # --- completions ----------------------------------------------------------------------------

    async def stream(self, body: dict[str, Any]) -> AsyncIterator[CompletionEvent]:
        """`POST /api/chat/completions` as SSE: `Sources` first when RAG ran, then `TextDelta`s, and a
        `MalformedEvent` for each event that could not be used.

        An in-stream `{"error": ...}` event raises `UpstreamError`; silence longer than the idle timeout
        raises `Timeout`; a stream that ends without `[DONE]`, or sends an event over `max_event_bytes`,
        raises `UpstreamError`.
        """
        path = "/api/chat/completions"
        text = PairJoiner()
        try:
            async with self._stream_session().post(
                self.base_url + path,
                data=json_body({**body, "stream": True}),
                headers={"Accept": "text/event-stream", "Content-Type": "application/json", **_person_auth()},
            ) as response:
                if response.status >= 400 or "text/event-stream" not in response.headers.get("Content-Type", ""):
                    refusal = httpx.Response(
                        response.status,
                        headers=dict(response.headers),
                        content=await response.read(),
                        request=httpx.Request("POST", self.base_url + path),
                    )
                    _raise_for_status(refusal, path, errors.ModelNotFound)
                    _json(refusal, path)  # raises NotAnAPI for HTML
                    raise errors.UpstreamError("OpenWebUI answered without a stream", status=response.status)
                async for data in sse_data(response.content, self._max_event_bytes, self._idle_timeout):
                    if data == b"[DONE]":
                        if rest := text.flush():
                            yield TextDelta(rest)
                        return
                    event = _stream_event(data)
                    if isinstance(event, TextDelta):
                        if piece := text.feed(event.text):
                            yield TextDelta(piece)
                    elif event is not None:
                        yield event
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _transport_error(exc, self.base_url) from None
        raise errors.UpstreamError("the answer stream ended before it was complete")

    def _stream_session(self) -> aiohttp.ClientSession:
        if self._streams is None:
            self._streams = aiohttp.ClientSession(
                headers=self._headers,
                timeout=self._stream_timeout,
                connector=aiohttp.TCPConnector(limit=1000),  # one connection per answer streaming at once
            )
        return self._streams

    # --- files ----------------------------------------------------------------------------------

    async def upload_file(
        self, filename: str, data: bytes, content_type: str, metadata: dict[str, Any] | None = None
    ) -> UploadedFile:
        """`POST /api/v1/files/` (multipart `file`); processing continues in the background."""
        form = {"metadata": json.dumps(valid_json(metadata))} if metadata else None
        file = (valid_text(filename), data, content_type)
        item = await self.call("POST", "/api/v1/files/", files={"file": file}, data=form)
        return _file(item)

    async def file_status(self, file_id: str) -> tuple[str, str]:
        """`GET /api/v1/files/{id}/process/status` → (status, error text if it failed)."""
        data = await self.call("GET", f"/api/v1/files/{file_id}/process/status")
        return str(data.get("status", "")), str(data.get("error", "") or "")

    async def wait_processed(self, file_id: str, timeout: float, interval: float = 0.5) -> None:
        """Poll until OpenWebUI has extracted and embedded the file; `FileProcessingError` if it failed."""
        deadline = time.monotonic() + timeout
        while True:
            status, error = await self.file_status(file_id)
            if status == "completed":
                return
            if status == "failed":
                raise errors.FileProcessingError(error or "OpenWebUI could not process the file")
            if time.monotonic() >= deadline:
                raise errors.Timeout(f"file {file_id} still {status or 'pending'} after {timeout:.0f} s")
            await asyncio.sleep(interval)
            interval = min(interval * 1.5, 3.0)

    # --- knowledge ------------------------------------------------------------------------------

    async def knowledge_list(self) -> list[KnowledgeBase]:
        """`GET /api/v1/knowledge/`, every page."""
        bases: list[KnowledgeBase] = []
        page = 1
        while True:
            data = await self.call("GET", "/api/v1/knowledge/", params={"page": page})
            items = data.get("items", []) if isinstance(data, dict) else data
            bases.extend(_knowledge(item) for item in items)
            total = data.get("total", len(bases)) if isinstance(data, dict) else len(bases)
            if not items or len(bases) >= total:
                return bases
            page += 1

    async def knowledge_add_file(self, knowledge_id: str, file_id: str) -> KnowledgeBase:
        """The file must be processed first (`wait_processed`), else OpenWebUI answers 400."""
        item = await self.call("POST", f"/api/v1/knowledge/{knowledge_id}/file/add", json={"file_id": file_id})
        return _knowledge(item)

    async def file_content(self, file_id: str, limit: int) -> FileContent:
        """`GET /api/v1/files/{id}/content`, read up to `limit` + 1 bytes (a generated image, a file a model
        linked): the rest of a larger file is never downloaded."""
        path = f"/api/v1/files/{file_id}/content"
        try:
            async with self._http.stream("GET", path, headers=_person_auth()) as response:
                if response.status_code >= 400 or "text/html" in response.headers.get("content-type", ""):
                    await response.aread()
                    _raise_for_status(response, path, errors.NotFound)
                    _json(response, path)  # raises NotAnAPI for HTML
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > limit:
                        break
                data = b"".join(chunks)[: limit + 1]
                content_type = response.headers.get("content-type", "application/octet-stream").split(";")[0]
                name = _disposition_name(response.headers.get("content-disposition", "")) or file_id
        except httpx.TransportError as exc:
            raise _transport_error(exc, self.base_url) from None
        return FileContent(data, content_type, name)

    # --- tasks: titles, tags, follow-ups; image generation ----------------------------------------

    async def task(self, kind: str, model: str, messages: list[dict[str, Any]], chat_id: str = "") -> str | None:
        """`POST /api/v1/tasks/{kind}/completions` (`title`, `tags`, `follow_up`): the task model's answer,
        which holds the result as JSON somewhere in its text; None when the admin turned the task off
        (OpenWebUI then answers 200 with only a `detail`)."""
        body: dict[str, Any] = {"model": model, "messages": messages}
        if chat_id:
            body["chat_id"] = chat_id
        data = await self.call("POST", f"/api/v1/tasks/{kind}/completions", json=body, not_found=errors.ModelNotFound)
        if not isinstance(data, dict) or "choices" not in data:
            return None
        choices = data.get("choices")
        if not isinstance(choices, list) or len(choices) != 1 or not isinstance(choices[0], dict):
            return ""
        message = choices[0].get("message")
        if not isinstance(message, dict):
            return ""
        return str(message.get("content") or message.get("reasoning_content") or "")

    async def set_chat_title(self, chat_id: str, title: str) -> None:
        """The chat's title: a chat update with only `title` (top-level keys replace; the history is untouched)."""
        await self.update_chat(chat_id, {"title": title})

    async def add_chat_tag(self, chat_id: str, name: str) -> None:
        """`POST /api/v1/chats/{id}/tags`: OpenWebUI keeps the tag as its id (lower case, `_` for spaces)."""
        await self.call("POST", f"/api/v1/chats/{chat_id}/tags", json={"name": name})

    async def generate_images(self, prompt: str) -> list[dict[str, Any]]:
        """`POST /api/v1/images/generations`: OpenWebUI's image engine draws `prompt` and stores each picture
        as a file; returns `[{id, url, name, content_type}]` (`url`: `/api/v1/files/{id}/content`). 403 when
        the admin turned image generation off or the user may not use it."""
        items = await self.call("POST", "/api/v1/images/generations", json={"prompt": prompt})
        return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


# --- mapping answers onto types ---------------------------------------------------------------------


_FILENAME_STAR = re.compile(r"filename\*=(?:UTF-8|utf-8)''([^;]+)")
_FILENAME = re.compile(r'filename="?([^";]+)"?')


def _disposition_name(header: str) -> str:
    """The file name a `Content-Disposition` header gives (RFC 5987's `filename*` first), or ""."""
    if found := _FILENAME_STAR.search(header):
        return urllib.parse.unquote(found.group(1).strip())
    found = _FILENAME.search(header)
    return found.group(1).strip() if found else ""


def _person_auth() -> dict[str, str]:
    """The Authorization header of the person the current scope acts as (`acting`); none for the service
    key, which the sessions carry."""
    person = acting()
    return {"Authorization": f"Bearer {person.api_key}"} if person is not None else {}


async def _unless_busy(send: Callable[[], Awaitable[_Sent]]) -> _Sent:
    """`send()`, tried again after each of `BUSY_WAITS` while OpenWebUI answers `errors.Busy`: the locked
    write did not apply, and every request the bridge makes may be sent again (a turn's messages keep their
    ids, and OpenWebUI fills a turn it already holds instead of adding one)."""
    for wait in BUSY_WAITS:
        try:
            return await send()
        except errors.Busy as exc:
            log.info("%s; trying again in %g s", exc, wait)
            await asyncio.sleep(wait)
    return await send()


def _transport_error(
    exc: httpx.TransportError | aiohttp.ClientError | TimeoutError, base_url: str
) -> errors.OpenWebUIError:
    """A failure to talk to OpenWebUI at all: httpx's for calls, aiohttp's for answer streams."""
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        connecting = isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout | aiohttp.ConnectionTimeoutError)
        kind = "connecting" if connecting else "waiting for data"
        return errors.Timeout(f"timed out {kind} from OpenWebUI at {base_url}")
    return errors.Unreachable(f"cannot reach OpenWebUI at {base_url} ({type(exc).__name__})")


async def sse_data(
    content: aiohttp.StreamReader, limit: int = MAX_EVENT_BYTES, idle: float = math.inf
) -> AsyncIterator[bytes]:
    """The `data` of each server-sent event in a `text/event-stream` body, in order, as bytes: an event
    that is not UTF-8 is the caller's to skip, and must not end the stream.

    The format's other fields (`event`, `id`, `retry`) and comments are skipped, as the completions
    stream does not use them; the lines of a multi-line `data` are joined with newlines, and an event
    the stream ends in the middle of is dropped. Lines are split here rather than with aiohttp's
    `readline`, which refuses lines over 128 KiB: a retrieval `sources` event can be that long. A line, or
    the data of one event, over `limit` bytes raises `UpstreamError` as soon as it gets there. Each byte is
    looked at once: an unfinished line is kept as a list of its pieces, joined when its newline comes.

    Only events end a silence: bytes that complete none for `idle` seconds (comments only, the keep-alives a
    proxy sends, which once held a conversation forever) raise `Timeout` when the next of them comes; a
    silence without any bytes is the read timeout of the caller's connection. One clock reading per chunk,
    not a timer per event: this loop is most of the bridge's work when many answers stream at once.
    """
    clock = asyncio.get_running_loop().time
    quiet_since = clock()
    pending: list[bytes] = []  # the pieces of a line whose newline has not come yet
    pending_size = 0
    data: list[bytes] = []
    data_size = 0
    async for chunk in content.iter_any():
        start = 0
        while (newline := chunk.find(b"\n", start)) != -1:
            raw = chunk[start:newline]
            start = newline + 1
            if pending:
                raw = b"".join((*pending, raw))
                pending, pending_size = [], 0
            if len(raw) > limit:
                raise _too_long(limit)
            line = raw.removesuffix(b"\r")
            if not line:
                if data:
                    quiet_since = clock()
                    yield b"\n".join(data)
                    data, data_size = [], 0
            elif line.startswith(b"data:"):
                value = line[5:]
                value = value[1:] if value.startswith(b" ") else value
                data_size += len(value) + 1
                if data_size > limit + 1:
                    raise _too_long(limit)
                data.append(value)
        if start < len(chunk):
            pending.append(chunk[start:])
            pending_size += len(chunk) - start
            if pending_size > limit:
                raise _too_long(limit)
        if clock() - quiet_since > idle:
            raise errors.Timeout(f"the answer stream sent no event for {idle:g} s (only keep-alives)")


def _too_long(limit: int) -> errors.UpstreamError:
    return errors.UpstreamError(f"the answer stream sent an event over {limit:,} bytes; the answer ends here")


def _detail(response: httpx.Response) -> str:
    """The server's own explanation, trimmed; never the request or its headers.

    OpenWebUI answers `{"detail": ...}` for its own errors and passes a model provider's
    `{"error": {"message": ...}}` through with the provider's status.
    """
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", body["error"]))[:300]
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, list):  # FastAPI validation errors
        detail = "; ".join(str(item.get("msg", item)) for item in detail if isinstance(item, dict)) or detail
    return str(detail)[:300]


def _raise_for_status(response: httpx.Response, path: str, not_found: type[errors.OpenWebUIError]) -> None:
    status = response.status_code
    if status < 400:
        return
    detail = _detail(response)
    message = f"{response.request.method} {path}: {status} {detail}"
    kind: type[errors.OpenWebUIError] = errors.BadRequest
    if "database is locked" in detail.lower():
        kind = errors.Busy
    elif status == 401:
        # an unknown or foreign chat is 401 too; a refused key says "not authenticated" or "token is invalid"
        refused_key = any(text in detail.lower() for text in ("not authenticated", "token", "unauthorized"))
        kind = errors.NotFound if path.startswith("/api/v1/chats/") and not refused_key else errors.Unauthorized
        person = acting()
        if kind is errors.Unauthorized and person is not None:
            person.refused = True
            kind = errors.LinkRefused
    elif status == 403:
        kind = errors.Forbidden
    elif status == 404 or (status == 400 and "model not found" in detail.lower()):
        kind = not_found
    elif status == 405:
        kind = errors.NotAnAPI
    elif status in (502, 503, 504) and not path.endswith("/chat/completions"):
        kind = errors.Unreachable  # a proxy in front of OpenWebUI answering for it: OpenWebUI is down
    elif status >= 500:
        kind = errors.UpstreamError
    raise kind(message, status=status, detail=detail)


def _json(response: httpx.Response, path: str) -> Any:
    content_type = response.headers.get("content-type", "")
    if "text/html" in content_type:
        raise errors.NotAnAPI(
            f"{path} answered a web page, not JSON: wrong OPENWEBUI_URL or not an API path",
            status=response.status_code,
        )
    try:
        return parsed(response.content)
    except ValueError:
        raise errors.UpstreamError(f"{path} answered something that is not JSON", status=response.status_code) from None


def _stream_event(data: bytes) -> CompletionEvent | None:
    """One event of the completions stream; None for events that carry nothing for the bridge (the role
    chunk, `finish_reason`, usage), `MalformedEvent` for what no OpenAI-style stream sends. Only an
    explicit `{"error": ...}` ends the answer."""
    try:
        payload = json.loads(data)
    except ValueError:  # UnicodeDecodeError is one
        return MalformedEvent("not JSON in UTF-8")
    if not isinstance(payload, dict):
        return MalformedEvent("not a JSON object")
    if payload.get("error"):
        error = payload["error"]
        message = error.get("message", error) if isinstance(error, dict) else error
        raise errors.UpstreamError(f"the model failed: {str(message)[:300]}", detail=str(message)[:300])
    choices = payload.get("choices")
    if "sources" in payload and not choices:
        items = payload["sources"] or []
        if not isinstance(items, list) or not all(_is_source(item) for item in items):
            return MalformedEvent("sources of another shape")
        return Sources(valid_json(items))
    if not choices:
        return None
    if not isinstance(choices, list) or not isinstance(choices[0], dict):
        return MalformedEvent("choices of another shape")
    delta = choices[0].get("delta") or {}
    if not isinstance(delta, dict):
        return MalformedEvent("a delta of another shape")
    content = delta.get("content")
    if isinstance(content, str) and content:
        return TextDelta(content)
    if delta.get("tool_calls"):
        return _tool_calls(delta["tool_calls"])
    if isinstance(content, str):
        return None
    return None if content is None else MalformedEvent("a delta of another shape")


def _tool_calls(calls: Any) -> ToolCalls | MalformedEvent:
    """The tools named in a `tool_calls` delta (a call's later deltas carry only argument pieces)."""
    if not isinstance(calls, list) or not all(isinstance(call, dict) for call in calls):
        return MalformedEvent("tool_calls of another shape")
    names = [(call.get("function") or {}).get("name") for call in calls]
    return ToolCalls(tuple(str(name) for name in names if name))


def _is_source(item: Any) -> bool:
    """The shape `source_names` and the web UI read: an object, its `source` an object, its `metadata`
    a list of objects and its `document` a list."""
    if not isinstance(item, dict):
        return False
    metadata, document = item.get("metadata", []), item.get("document", [])
    return (
        isinstance(item.get("source", {}), dict)
        and isinstance(metadata, list)
        and all(isinstance(meta, dict) for meta in metadata)
        and isinstance(document, list)
    )


def _model(item: dict[str, Any]) -> Model:
    info = item.get("info") or {}
    meta = info.get("meta") or {}
    capabilities = meta.get("capabilities") or {}
    return Model(
        id=str(item["id"]),
        name=str(item.get("name") or item["id"]),
        vision=bool(capabilities.get("vision", True)),
        tool_ids=_ids(meta.get("toolIds")),
        features=tuple(f for f in _ids(meta.get("defaultFeatureIds")) if f in FEATURES and capabilities.get(f)),
        filter_ids=_ids(meta.get("defaultFilterIds")),
        suggestions=_suggestions(meta.get("suggestion_prompts")),
    )


def _suggestions(value: Any) -> tuple[str, ...]:
    """The contents of a model's suggested prompts (`[{"title": [...], "content": "..."}]`, the model editor's
    shape); anything else an older or hand-edited model stored there is left out."""
    if not isinstance(value, list):
        return ()
    return tuple(str(s["content"]) for s in value if isinstance(s, dict) and str(s.get("content") or "").strip())


def _prompt(item: dict[str, Any]) -> Prompt:
    """A command is stored as its author typed it, with or without the web UI's leading slash: one form here."""
    command = str(item["command"]).lstrip("/")
    name = str(item.get("name") or item.get("title") or command)
    return Prompt(command=command, name=name, content=str(item.get("content") or ""))


def _ids(value: Any) -> tuple[str, ...]:
    """A list of ids from a model's `meta`, whatever else an older or hand-edited model stored there."""
    return tuple(str(v) for v in value if isinstance(v, str) and v) if isinstance(value, list) else ()


def _tool(item: dict[str, Any]) -> Tool:
    meta = item.get("meta") or {}
    return Tool(
        id=str(item["id"]), name=str(item.get("name") or item["id"]), description=str(meta.get("description") or "")
    )


def _knowledge(item: dict[str, Any]) -> KnowledgeBase:
    return KnowledgeBase(
        id=str(item["id"]), name=str(item.get("name", "")), description=str(item.get("description", ""))
    )


def _file(item: dict[str, Any]) -> UploadedFile:
    meta = item.get("meta") or {}
    return UploadedFile(
        id=str(item["id"]),
        filename=str(meta.get("name") or item.get("filename", "")),
        status=str((item.get("data") or {}).get("status", "")),
        meta=meta,
    )
