"""One turn run the web UI's way: OpenWebUI's whole pipeline answers, the socket carries it live.

The request is the one the web UI sends (its frontend's `generateOpenAIChatCompletion` call): the chat's id,
the new assistant message's `id`, the `user_message`, the socket's `session_id` and `background_tasks`, with
the model and messages. With a `session_id`, OpenWebUI 0.12.4 answers the POST at once with
`{"status": true, "task_ids": [...]}` (with a sign-in JWT and with an `sk-` key alike; checked in the
contract suite), adds the assistant message to the chat (`done: false`), runs native tool loops, the code
interpreter, filters, titles and follow-ups, and saves the answer itself; what it does meanwhile comes only as
socket events:

- `response:completion`: OpenAI Responses-style stream events (`response.output_text.delta` with `delta` and
  `output_index`, `response.output_item.added` / `.done`);
- `chat:completion`: the whole `output` so far (after a tool call), `sources`, `error`, and at the end
  `done: true`;
- `status` (a progress line), `source` / `citation` (one source each), `chat:message:error`,
  `chat:tasks:cancel` (someone stopped the answer, e.g. in the web UI).

The visible text is the text of the output's `message` items, as OpenWebUI's own `get_output_text` builds
the saved `content`: tool calls, their results and reasoning never reach a person. The final text is read
back from the saved chat. A turn that ends early (the socket dropped, a limit, a shutdown) stops OpenWebUI's
task for the chat, so that it does not go on writing an answer nobody sees: the bridge then writes what was
shown, as on the pass-through path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from bridge.openwebui import errors
from bridge.openwebui.client import (
    CompletionEvent,
    OpenWebUIClient,
    PipelineExtras,
    Progress,
    SavedAnswer,
    Sources,
    TextDelta,
    _is_source,
)
from bridge.openwebui.signin import ServiceSession
from bridge.openwebui.socket import EventSocket, Inbox
from bridge.openwebui.surrogates import valid_json

log = logging.getLogger(__name__)

COMPLETIONS_PATH = "/api/chat/completions"
STOP_SECONDS = 5.0
"""How long stopping OpenWebUI's task may take when a turn ends early (it waits for the task to save): short,
as a turn cancelled at shutdown has `tasks.CLEAN_UP_SECONDS` in all to close."""


class AnswerText:
    """The answer's visible text, rebuilt from the socket's events: each output item's type and text by its
    index; the text is the `message` items' texts joined by newlines (blank ones left out), as the server's
    `get_output_text` does."""

    def __init__(self) -> None:
        self._items: dict[int, tuple[str, str]] = {}

    @property
    def text(self) -> str:
        texts = (text for _, (kind, text) in sorted(self._items.items()) if kind == "message")
        return "\n".join(text for text in texts if text.strip())

    def stream_event(self, data: dict[str, Any]) -> None:
        """One Responses-style stream event (`response:completion`)."""
        kind, index = data.get("type"), data.get("output_index")
        if not isinstance(index, int):
            return
        if kind in ("response.output_item.added", "response.output_item.done") and isinstance(data.get("item"), dict):
            self._items[index] = _item(data["item"])
        elif kind == "response.output_text.delta" and isinstance(data.get("delta"), str):
            item_kind, text = self._items.get(index, ("message", ""))
            self._items[index] = (item_kind, text + data["delta"])

    def whole_output(self, output: list[Any]) -> None:
        """The whole output so far (`chat:completion` with `output`)."""
        self._items = {index: _item(item) for index, item in enumerate(output) if isinstance(item, dict)}


class TurnEvents:
    """One turn's socket events (each `{"type": ..., "data": ...}`) as the `CompletionEvent`s the engine reads;
    `finished` once OpenWebUI says the answer is done (or was stopped elsewhere, e.g. in the web UI)."""

    def __init__(self) -> None:
        self.finished = False
        self.saved: SavedAnswer | None = None
        """The answer as OpenWebUI saved it, when its end carried the whole output (which it saved just
        before): the saved `content` is that output's text, so the chat need not be read back."""
        self._answer = AnswerText()
        self._shown = ""
        self._sources: list[dict[str, Any]] = []

    def feed(self, event: dict[str, Any]) -> list[CompletionEvent]:
        """What one event adds; raises `UpstreamError` for a failure OpenWebUI reports."""
        kind, data = event.get("type"), event.get("data")
        data = data if isinstance(data, dict) else {}
        out: list[CompletionEvent] = []
        if kind == "response:completion":
            self._answer.stream_event(data)
        elif kind == "chat:completion":
            if data.get("error"):
                raise errors.UpstreamError(f"the model failed: {str(data['error'])[:300]}")
            if isinstance(data.get("output"), list):
                self._answer.whole_output(data["output"])
            if isinstance(data.get("sources"), list):
                self._sources = [s for s in valid_json(data["sources"]) if _is_source(s)]
                out.append(Sources(self._sources))
            self.finished = bool(data.get("done"))
            if self.finished and isinstance(data.get("output"), list):
                self.saved = SavedAnswer(self._answer.text, self._sources)
        elif kind in ("source", "citation") and data.get("type") is None and _is_source(data):
            self._sources = [*self._sources, valid_json(data)]
            out.append(Sources(self._sources))
        elif kind == "status" and not data.get("hidden") and isinstance(data.get("description"), str):
            out.append(Progress(data["description"]))
        elif kind == "chat:message:error":
            error = data.get("error")
            detail = str(error.get("content", error) if isinstance(error, dict) else error)[:300]
            raise errors.UpstreamError(f"the model failed: {detail}", detail=detail)
        elif kind == "chat:tasks:cancel":
            self.finished = True  # stopped elsewhere: what OpenWebUI saved is the answer
        text = self._answer.text
        if text.startswith(self._shown) and len(text) > len(self._shown):
            out.append(TextDelta(text[len(self._shown) :]))
            self._shown = text
        return out


def _item(item: dict[str, Any]) -> tuple[str, str]:
    parts = item.get("content") if isinstance(item.get("content"), list) else []
    text = "".join(str(p["text"]) for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str))
    return str(item.get("type") or ""), text


async def run(
    client: OpenWebUIClient,
    session: ServiceSession,
    socket: EventSocket,
    *,
    chat_id: str,
    assistant_id: str,
    user_message: dict[str, Any],
    body: dict[str, Any],
    idle: float,
) -> AsyncIterator[CompletionEvent]:
    """The turn's events: `Progress`, `Sources` and `TextDelta`s while OpenWebUI works, then `SavedAnswer`.

    Raises `ConnectionLost` when the socket drops, `Timeout` after `idle` seconds without an event,
    `UpstreamError` when OpenWebUI reports the answer failed.
    """
    inbox = await socket.subscribe(chat_id, assistant_id)
    handed_on = False  # once the answer is yielded, its reader owns the inbox (the title and follow-ups to come)
    try:
        first_turn = user_message.get("parentId") is None
        request = {
            **body,
            "stream": True,
            "chat_id": chat_id,
            "id": assistant_id,
            "parent_id": user_message.get("parentId"),
            "user_message": user_message,
            "session_id": inbox.session_id,
            "background_tasks": _background_tasks(first_turn=first_turn),
        }
        try:
            started = await signed_in_call(client, session, "POST", COMPLETIONS_PATH, json=request)
        except errors.NotFound:
            await _check_chat_is_ours(client, session, chat_id)
            raise
        if not isinstance(started, dict) or not started.get("task_ids"):
            raise errors.UpstreamError(f"OpenWebUI did not start the answer: {str(started)[:200]}")
        events = TurnEvents()
        try:
            while not events.finished:
                for event in events.feed(await inbox.next(idle)):
                    yield event
        finally:
            if not events.finished:
                await _stop(client, session, chat_id)
        # Read back only when the end did not carry the answer (stopped elsewhere): under load every request
        # to OpenWebUI waits behind its streams, and the final text would wait for it.
        answer = events.saved or await _saved_answer(client, session, chat_id, assistant_id)
        handed_on = True
        yield replace(answer, later=LateEvents(inbox, titled=first_turn))
    finally:
        if not handed_on:
            inbox.close()


class LateEvents:
    """What OpenWebUI's background tasks send after the answer's end (`background_tasks_handler`): the
    follow-ups (`chat:message:follow_ups`, `{"follow_ups": [...]}`), then for a first turn the title
    (`chat:title`, a string; when the title task is off, OpenWebUI names the chat after the question) and tags
    (`chat:tags`, stored by OpenWebUI, nothing to show). `chat:active` `{"active": false}` ends its work on
    the chat."""

    def __init__(self, inbox: Inbox, *, titled: bool) -> None:
        self._inbox = inbox
        self._titled = titled

    def close(self) -> None:
        self._inbox.close()

    async def wait(self, within: float) -> PipelineExtras:
        title, follow_ups = "", None
        try:
            async with asyncio.timeout(within):
                while follow_ups is None or (self._titled and not title):
                    event = await self._inbox.next(within)
                    kind, data = event.get("type"), event.get("data")
                    if kind == "chat:title" and isinstance(data, str):
                        title = data
                    elif kind == "chat:message:follow_ups" and isinstance(data, dict):
                        found = data.get("follow_ups")
                        follow_ups = tuple(found) if isinstance(found, list) else ()
                    elif kind == "chat:active" and isinstance(data, dict) and data.get("active") is False:
                        break
        except (TimeoutError, errors.Timeout, errors.ConnectionLost) as exc:
            log.info("OpenWebUI's title and follow-ups: stopped waiting (%s)", type(exc).__name__)
        finally:
            self.close()
        return PipelineExtras(title, follow_ups or ())


def _background_tasks(*, first_turn: bool) -> dict[str, bool]:
    """What OpenWebUI does after the answer, as its web UI asks: a title and tags for a chat's first turn only
    (OpenWebUI would title the chat again at every turn it is asked to), follow-ups every time. Each runs only
    when the admin enables that task."""
    titling = {"title_generation": True, "tags_generation": True} if first_turn else {}
    return {**titling, "follow_up_generation": True}


async def signed_in_call(
    client: OpenWebUIClient, session: ServiceSession, method: str, path: str, **kwargs: Any
) -> Any:
    """A call as the signed-in account; after a 401 it signs in again, once, and repeats the call."""
    token = await session.token()
    try:
        return await client.call(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
    except errors.Unauthorized:
        token = await session.renew_after_refusal(token)
        return await client.call(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)


async def _check_chat_is_ours(client: OpenWebUIClient, session: ServiceSession, chat_id: str) -> None:
    """After a completion OpenWebUI refused as not found (the model, or the chat): `AccountMismatch` when the
    signed-in account cannot read the chat the bridge wrote with its API key (the two name different users,
    and such a user often does not see the key's models either)."""
    try:
        await signed_in_call(client, session, "GET", f"/api/v1/chats/{chat_id}")
    except errors.NotFound as exc:
        raise errors.AccountMismatch(f"the signed-in account cannot open chat {chat_id}", status=exc.status) from None


async def _saved_answer(client: OpenWebUIClient, session: ServiceSession, chat_id: str, message_id: str) -> SavedAnswer:
    """The answer as OpenWebUI saved it (its `content` is built from the output's message items)."""
    response = await signed_in_call(client, session, "GET", f"/api/v1/chats/{chat_id}")
    chat = response.get("chat") if isinstance(response, dict) else None
    messages = ((chat or {}).get("history") or {}).get("messages") or {}
    message = messages.get(message_id) if isinstance(messages, dict) else None
    if not isinstance(message, dict):
        raise errors.UpstreamError("OpenWebUI ended the answer without saving it")
    content = message.get("content")
    sources = message.get("sources")
    return SavedAnswer(
        content if isinstance(content, str) else "",
        [s for s in valid_json(sources) if _is_source(s)] if isinstance(sources, list) else [],
    )


async def _stop(client: OpenWebUIClient, session: ServiceSession, chat_id: str) -> None:
    """Stop OpenWebUI's task for the chat (best effort: OpenWebUI may be the thing that failed). It then saves
    what it had as a finished message, which the bridge's own write of the shown answer replaces."""
    try:
        async with asyncio.timeout(STOP_SECONDS):
            await signed_in_call(client, session, "POST", f"/api/tasks/chat/{chat_id}/stop")
    except (errors.OpenWebUIError, TimeoutError) as exc:
        log.warning("could not stop OpenWebUI's answer in chat %s: %s", chat_id, type(exc).__name__)
