"""The Web API methods of the fake Slack, answering as Slack does: HTTP 200 with `{"ok": ...}`, 429 when over budget.

Each method is a small function of (params, token) that returns the body of a successful answer or raises
`ApiError`; `WebApi.call` adds what every method shares (authentication, scopes, rate limits, recording),
so the methods read like Slack's reference pages.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from simulators.faults import FaultPlan

from .actions import actions_block_ok
from .config import SimConfig
from .ratelimit import RateLimiter
from .state import Channel, HostedFile, Message, Token, Workspace, visible_text
from .views import ViewError, Views

Params = dict[str, Any]
Method = Callable[[Params, Token], Awaitable[dict[str, Any]]]
"""One Web API method: its parameters and the caller's token in, its answer's fields out."""


class ApiError(Exception):
    """A Slack `{"ok": false, "error": ...}` answer, with optional extra fields (e.g. `needed`)."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass(slots=True)
class CallRecord:
    """One Web API call as the fake saw it: when (time.monotonic()), what, and what it answered."""

    at: float
    method: str
    params: Params
    status: int
    response: dict[str, Any]
    token_kind: str | None = None

    @property
    def ok(self) -> bool:
        """True when the answer was `{"ok": true}`."""
        return bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        """Slack's error string, if any."""
        return self.response.get("error")


@dataclass(slots=True)
class ApiAnswer:
    """What the HTTP layer sends back for one call."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


# Scope each method needs from the token; `None` entries are checked per channel kind.
_SCOPES: dict[str, str | None] = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.startStream": "chat:write",
    "chat.appendStream": "chat:write",
    "chat.stopStream": "chat:write",
    "assistant.threads.setStatus": "assistant:write",
    "assistant.threads.setTitle": "assistant:write",
    "conversations.replies": None,
    "conversations.history": None,
    "conversations.info": None,
    "users.info": "users:read",
    "reactions.add": "reactions:write",
    "files.info": "files:read",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}
_HISTORY_SCOPE = {"public": "channels:history", "private": "groups:history", "im": "im:history"}
_READ_SCOPE = {"public": "channels:read", "private": "groups:read", "im": "im:read"}


class WebApi:
    """Slack's Web API over a `Workspace`, with the hooks the rest of the simulator needs.

    files_base: URL prefix of hosted files ("http://127.0.0.1:PORT/files-pri/").
    upload_base: URL prefix of upload URLs handed out by files.getUploadURLExternal.
    issue_socket_url: makes a fresh Socket Mode URL for apps.connections.open.
    on_bot_message: told about each new message the bot posts (the simulator echoes it as an event).
    """

    def __init__(
        self,
        ws: Workspace,
        config: SimConfig,
        *,
        files_base: Callable[[], str],
        upload_base: Callable[[], str],
        issue_socket_url: Callable[[], str],
        on_bot_message: Callable[[Message], None],
    ) -> None:
        self.ws = ws
        self.config = config
        self.calls: list[CallRecord] = []
        self.limiter = RateLimiter(lambda: self.config.rate_limits)
        self.faults = FaultPlan()
        """Failures a test orders: `sim.web_api.faults.add(method, status, count)`."""
        self.pending_uploads: dict[str, HostedFile] = {}
        self._files_base = files_base
        self._upload_base = upload_base
        self._issue_socket_url = issue_socket_url
        self._on_bot_message = on_bot_message
        self._methods: dict[str, Method] = {
            "auth.test": self.auth_test,
            "apps.connections.open": self.apps_connections_open,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.delete": self.chat_delete,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.startStream": self.chat_start_stream,
            "chat.appendStream": self.chat_append_stream,
            "chat.stopStream": self.chat_stop_stream,
            "assistant.threads.setStatus": self.assistant_set_status,
            "conversations.replies": self.conversations_replies,
            "conversations.history": self.conversations_history,
            "conversations.info": self.conversations_info,
            "users.info": self.users_info,
            "reactions.add": self.reactions_add,
            "files.info": self.files_info,
            "files.getUploadURLExternal": self.files_get_upload_url,
            "files.completeUploadExternal": self.files_complete_upload,
            "views.open": self.views_open,
        }
        self.views = Views(ws, config)
        """Modals: triggers from slash commands, and the views opened with them (`simulators.slack.views`)."""

    def add_methods(self, methods: dict[str, Method], scope: str) -> None:
        """Serve more methods (a surface kept in a module of its own), each needing `scope`."""
        self._methods.update(methods)
        _SCOPES.update(dict.fromkeys(methods, scope))

    # ------------------------------------------------------------------ dispatch

    async def call(self, method: str, params: Params, token_value: str | None) -> ApiAnswer:
        """Authenticate, check scope and rate limit, run the method, record the call."""
        token = self.ws.tokens.get(token_value) if token_value else None
        answer = await self._answer(method, params, token_value, token)
        self.calls.append(
            CallRecord(
                at=time.monotonic(),
                method=method,
                params=params,
                status=answer.status,
                response=answer.body,
                token_kind=token.kind if token else None,
            )
        )
        if token is not None and token.kind != "app":
            answer.headers["x-oauth-scopes"] = ",".join(sorted(token.scopes))
        return answer

    async def _answer(self, method: str, params: Params, token_value: str | None, token: Token | None) -> ApiAnswer:
        handler = self._methods.get(method)
        try:
            if handler is None:
                raise ApiError("unknown_method")
            if not token_value:
                raise ApiError("not_authed")
            if token is None:
                raise ApiError("invalid_auth")
            wants_app = method == "apps.connections.open"
            if (token.kind == "app") != wants_app:
                raise ApiError("not_allowed_token_type")
            self._check_scope(method, params, token)
            fault = self.faults.take(method)
            if fault is not None and fault.status == 429:
                retry = str(max(1, math.ceil(fault.retry_after)))
                return ApiAnswer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": retry})
            if fault is not None:
                return ApiAnswer(fault.status, {"ok": False, "error": "internal_error"})
            retry_after = self.limiter.admit(method, _str(params.get("channel") or params.get("channel_id")))
            if retry_after is not None:
                return ApiAnswer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})
            body = await handler(params, token)
            return ApiAnswer(200, {"ok": True, **body})
        except ApiError as err:
            return ApiAnswer(200, {"ok": False, "error": err.error, **err.extra})

    def _check_scope(self, method: str, params: Params, token: Token) -> None:
        if method not in _SCOPES:
            return
        needed = _SCOPES[method]
        if needed is None:
            channel = self.ws.channel(_str(params.get("channel")) or "")
            if channel is None:
                return  # the method itself answers channel_not_found
            table = _READ_SCOPE if method == "conversations.info" else _HISTORY_SCOPE
            needed = table[channel.kind]
        if needed not in token.scopes:
            raise ApiError("missing_scope", needed=needed, provided=",".join(sorted(token.scopes)))

    # ------------------------------------------------------------------ helpers

    def _channel(self, params: Params, key: str = "channel") -> Channel:
        channel_id = _str(params.get(key))
        if not channel_id:
            raise ApiError("channel_not_found")
        channel = self.ws.channel(channel_id)
        if channel is None:
            raise ApiError("channel_not_found")
        return channel

    def _member_channel(self, params: Params) -> Channel:
        """A channel the bot may post in: Slack answers `not_in_channel` outside its channels."""
        channel = self._channel(params)
        if channel.kind != "im" and self.ws.bot_user_id not in channel.members:
            raise ApiError("not_in_channel")
        return channel

    def _message(self, channel: Channel, ts: str | None) -> Message:
        message = self.ws.find_message(channel.id, ts or "")
        if message is None:
            raise ApiError("message_not_found")
        return message

    def _bot_message(self, channel: Channel, ts: str | None, error: str) -> Message:
        message = self._message(channel, ts)
        if message.user != self.ws.bot_user_id:
            raise ApiError(error)
        return message

    def _check_content(self, text: str, blocks: list[dict[str, Any]] | None, text_limit: int) -> None:
        """Slack's length rules shared by chat.postMessage and chat.update."""
        if len(text) > text_limit:
            raise ApiError("msg_too_long")
        if blocks is None:
            return
        if len(blocks) > self.config.max_blocks:
            raise ApiError("invalid_blocks")
        markdown_total = 0
        action_ids: set[str] = set()
        for block in blocks:
            kind = block.get("type")
            if kind == "actions":
                if not actions_block_ok(block, action_ids):
                    raise ApiError("invalid_blocks")
            elif kind == "markdown":
                size = len(str(block.get("text", "")))
                markdown_total += size
                if size > self.config.markdown_block_limit:
                    raise ApiError("invalid_blocks")
            elif kind == "section":
                text_obj = block.get("text") or {}
                if len(str(text_obj.get("text", ""))) > self.config.section_text_limit:
                    raise ApiError("invalid_blocks")
            elif kind == "context":
                elements = block.get("elements") or []
                if len(elements) > self.config.context_elements:
                    raise ApiError("invalid_blocks")
                if any(len(str(e.get("text", ""))) > self.config.section_text_limit for e in elements):
                    raise ApiError("invalid_blocks")
            elif not isinstance(kind, str):
                raise ApiError("invalid_blocks")
        if markdown_total > self.config.markdown_block_limit:
            raise ApiError("invalid_blocks")

    def _post(
        self,
        channel: Channel,
        text: str,
        blocks: list[dict[str, Any]] | None,
        thread_ts: str | None,
        method: str,
        files: list[dict[str, Any]] | None = None,
    ) -> Message:
        message = Message(
            channel=channel.id,
            ts=self.ws.clock.next(),
            user=self.ws.bot_user_id,
            text=text,
            blocks=blocks,
            thread_ts=thread_ts or None,
            bot_id=self.ws.bot_id,
            files=files or [],
        )
        self.ws.add_message(message, method)
        self._on_bot_message(message)
        return message

    def _stream_chunks(self, params: Params, message: Message | None = None) -> str:
        """The markdown text a streaming call adds to `message` (None: a new stream), checking Slack's limit
        per call and, since a streamed message is one markdown block, the block's limit on the whole."""
        added = ""
        markdown_text = params.get("markdown_text")
        if markdown_text is not None:
            if len(str(markdown_text)) > self.config.stream_text_limit:
                raise ApiError("msg_too_long")
            added += str(markdown_text)
        chunks = _json_arg(params.get("chunks"))
        if chunks is not None:
            if not isinstance(chunks, list):
                raise ApiError("invalid_chunks")
            for chunk in chunks:
                if not isinstance(chunk, dict) or "type" not in chunk:
                    raise ApiError("invalid_chunks")
                if chunk["type"] == "markdown_text":
                    text = str(chunk.get("text", ""))
                    if len(text) > self.config.stream_text_limit:
                        raise ApiError("msg_too_long")
                    added += text
        if len(message.text if message is not None else "") + len(added) > self.config.markdown_block_limit:
            raise ApiError("msg_too_long")
        return added

    def _streaming(self, message: Message) -> bool:
        """Whether the stream is still open, closing it when Slack's lifetime has passed."""
        started = message.stream_started_at
        if message.streaming and started is not None and time.monotonic() - started > self.config.stream_lifetime:
            message.streaming = False
        return message.streaming

    @staticmethod
    def _append_stream_text(message: Message, added: str, method: str) -> None:
        if not added:
            return
        message.text += added
        message.blocks = [{"type": "markdown", "text": message.text}]
        message.record_version(method)

    # ------------------------------------------------------------------ methods

    async def views_open(self, params: Params, token: Token) -> dict[str, Any]:
        try:
            return await self.views.open(params, token)
        except ViewError as error:
            extra = {"response_metadata": {"messages": error.messages}} if error.messages else {}
            raise ApiError(error.error, **extra) from None

    async def auth_test(self, params: Params, token: Token) -> dict[str, Any]:
        user = self.ws.users.get(token.user_id or "")
        return {
            "url": f"https://{self.ws.team_domain}.slack.com/",
            "team": self.ws.team_name,
            "user": user.name if user else "",
            "team_id": self.ws.team_id,
            "user_id": token.user_id,
            **({"bot_id": user.bot_id} if user and user.bot_id else {}),
            "is_enterprise_install": False,
        }

    async def apps_connections_open(self, params: Params, token: Token) -> dict[str, Any]:
        return {"url": self._issue_socket_url()}

    async def chat_post_message(self, params: Params, token: Token) -> dict[str, Any]:
        channel = self._member_channel(params)
        text = _str(params.get("text")) or ""
        blocks = _blocks(params) or None
        if not text and not blocks and not _json_arg(params.get("attachments")):
            raise ApiError("no_text")
        self._check_content(text, blocks, self.config.post_text_limit)
        message = self._post(channel, text, blocks, _str(params.get("thread_ts")), "chat.postMessage")
        return {"channel": channel.id, "ts": message.ts, "message": message.to_api()}

    async def chat_update(self, params: Params, token: Token) -> dict[str, Any]:
        channel = self._channel(params)
        message = self._bot_message(channel, _str(params.get("ts")), "cant_update_message")
        text = _str(params.get("text"))
        blocks = _blocks(params)
        if not text and not blocks:
            raise ApiError("no_text")
        self._check_content(text or "", blocks, self.config.update_text_limit)
        # Slack keeps the old blocks when `blocks` is absent and clears them on an empty list.
        if text is not None:
            message.text = text
        if blocks is not None:
            message.blocks = blocks or None
        message.record_version("chat.update")
        return {"channel": channel.id, "ts": message.ts, "text": message.text, "message": message.to_api()}

    async def chat_delete(self, params: Params, token: Token) -> dict[str, Any]:
        channel = self._channel(params)
        message = self._bot_message(channel, _str(params.get("ts")), "cant_delete_message")
        message.deleted = True
        return {"channel": channel.id, "ts": message.ts}

    async def chat_post_ephemeral(self, params: Params, token: Token) -> dict[str, Any]:
        channel = self._channel(params)
        user = _str(params.get("user"))
        if not user or user not in self.ws.users:
            raise ApiError("user_not_found")
        if channel.kind != "im" and user not in channel.members:
            raise ApiError("user_not_in_channel")
        text = _str(params.get("text")) or ""
        blocks = _blocks(params) or None
        if not text and not blocks:
            raise ApiError("no_text")
        self._check_content(text, blocks, self.config.post_text_limit)
        ts = self.ws.clock.next()
        self.ws.ephemerals.append(
            {
                "at": time.monotonic(),
                "channel": channel.id,
                "user": user,
                "ts": ts,
                "thread_ts": _str(params.get("thread_ts")),
                "text": text,
                "blocks": blocks,
                "visible_text": visible_text(text, blocks),
            }
        )
        return {"message_ts": ts}

    async def chat_start_stream(self, params: Params, token: Token) -> dict[str, Any]:
        channel = self._member_channel(params)
        if self.config.streaming_error:
            raise ApiError(self.config.streaming_error)
        thread_ts = _str(params.get("thread_ts"))
        if not thread_ts:
            raise ApiError("invalid_arguments", response_metadata={"messages": ["missing required field: thread_ts"]})
        if channel.kind != "im" or self.config.stream_recipients_required_in_dm:
            if not params.get("recipient_team_id"):
                raise ApiError("missing_recipient_team_id")
            if not params.get("recipient_user_id"):
                raise ApiError("missing_recipient_user_id")
        added = self._stream_chunks(params)
        message = self._post(channel, "", None, thread_ts, "chat.startStream")
        message.streaming = True
        message.stream_started_at = time.monotonic()
        self._append_stream_text(message, added, "chat.startStream")
        return {"channel": channel.id, "ts": message.ts}

    async def chat_append_stream(self, params: Params, token: Token) -> dict[str, Any]:
        channel = self._channel(params)
        message = self._bot_message(channel, _str(params.get("ts")), "cant_update_message")
        if not self._streaming(message):
            raise ApiError("message_not_in_streaming_state")
        added = self._stream_chunks(params, message)
        if params.get("markdown_text") is None and _json_arg(params.get("chunks")) is None:
            raise ApiError("invalid_arguments", response_metadata={"messages": ["missing markdown_text or chunks"]})
        self._append_stream_text(message, added, "chat.appendStream")
        return {"channel": channel.id, "ts": message.ts}

    async def chat_stop_stream(self, params: Params, token: Token) -> dict[str, Any]:
        channel = self._channel(params)
        message = self._bot_message(channel, _str(params.get("ts")), "cant_update_message")
        if not self._streaming(message):
            raise ApiError("message_not_in_streaming_state")
        added = self._stream_chunks(params, message)
        self._append_stream_text(message, added, "chat.stopStream")
        extra_blocks = _blocks(params)
        if extra_blocks:
            message.blocks = [*(message.blocks or []), *extra_blocks]
            message.record_version("chat.stopStream")
        message.streaming = False
        return {"channel": channel.id, "ts": message.ts, "message": message.to_api()}

    async def assistant_set_status(self, params: Params, token: Token) -> dict[str, Any]:
        channel = self._channel(params, "channel_id")
        thread_ts = _str(params.get("thread_ts"))
        if not thread_ts:
            raise ApiError("invalid_arguments")
        status = _str(params.get("status")) or ""
        self.ws.thread_status.setdefault((channel.id, thread_ts), []).append((time.monotonic(), status))
        return {}

    async def conversations_replies(self, params: Params, token: Token) -> dict[str, Any]:
        channel = self._channel(params)
        ts = _str(params.get("ts"))
        thread = self.ws.thread(channel.id, ts or "")
        if not thread:
            raise ApiError("thread_not_found")
        parent, replies = thread[0], thread[1:]
        api = [parent.to_api(replies if parent.ts == ts else None), *(m.to_api() for m in replies)]
        return _page(_window(api, params), params)

    async def conversations_history(self, params: Params, token: Token) -> dict[str, Any]:
        channel = self._channel(params)
        messages = []
        for m in reversed(self.ws.top_level(channel.id)):
            replies = [r for r in self.ws.thread(channel.id, m.ts) if r.ts != m.ts]
            messages.append(m.to_api(replies or None))
        return _page(_window(messages, params), params)

    async def conversations_info(self, params: Params, token: Token) -> dict[str, Any]:
        channel = self._channel(params)
        return {"channel": channel.to_api(self.ws.bot_user_id)}

    async def users_info(self, params: Params, token: Token) -> dict[str, Any]:
        user = self.ws.users.get(_str(params.get("user")) or "")
        if user is None:
            raise ApiError("user_not_found")
        return {"user": user.to_api(with_email="users:read.email" in token.scopes)}

    async def reactions_add(self, params: Params, token: Token) -> dict[str, Any]:
        channel = self._channel(params)
        message = self._message(channel, _str(params.get("timestamp")))
        name = (_str(params.get("name")) or "").strip(":")
        if not name:
            raise ApiError("invalid_name")
        users = message.reactions.setdefault(name, [])
        if self.ws.bot_user_id in users:
            raise ApiError("already_reacted")
        users.append(self.ws.bot_user_id)
        return {}

    async def files_info(self, params: Params, token: Token) -> dict[str, Any]:
        hosted = self.ws.files.get(_str(params.get("file")) or "")
        if hosted is None or hosted.content is None:
            raise ApiError("file_not_found")
        return {"file": hosted.to_api(self._files_base(), self.ws.team_id)}

    async def files_get_upload_url(self, params: Params, token: Token) -> dict[str, Any]:
        filename = _str(params.get("filename"))
        length = _str(params.get("length"))
        if not filename or not length or not length.isdigit():
            raise ApiError("invalid_arguments")
        hosted = HostedFile(
            id=self.ws.new_id("F"),
            name=filename,
            mimetype=_guess_mimetype(filename),
            user=token.user_id or "",
            content=None,
        )
        self.pending_uploads[hosted.id] = hosted
        return {"upload_url": f"{self._upload_base()}{hosted.id}", "file_id": hosted.id}

    async def files_complete_upload(self, params: Params, token: Token) -> dict[str, Any]:
        items = _json_arg(params.get("files"))
        if not isinstance(items, list) or not items:
            raise ApiError("invalid_arguments")
        done: list[HostedFile] = []
        for item in items:
            hosted = self.pending_uploads.get(str(item.get("id")))
            if hosted is None or hosted.content is None:
                raise ApiError("file_not_found")
            hosted.title = str(item.get("title") or hosted.name)
            done.append(hosted)
        channel_ids = [
            c for c in [_str(params.get("channel_id")), *(_str(params.get("channels")) or "").split(",")] if c
        ]
        for hosted in done:
            del self.pending_uploads[hosted.id]
            self.ws.files[hosted.id] = hosted
            hosted.shared_in.update(channel_ids)
        base = self._files_base()
        for channel_id in channel_ids:
            channel = self._channel({"channel": channel_id})
            files = [h.to_api(base, self.ws.team_id) for h in done]
            self._post(
                channel,
                _str(params.get("initial_comment")) or "",
                None,
                _str(params.get("thread_ts")),
                "files.completeUploadExternal",
                files=files,
            )
        return {"files": [h.to_api(base, self.ws.team_id) for h in done]}


# ---------------------------------------------------------------------- argument parsing


def _str(value: Any) -> str | None:
    """A parameter as a string (form bodies give strings, JSON bodies may give numbers)."""
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _json_arg(value: Any) -> Any:
    """Arrays arrive as JSON strings in form bodies and as lists in JSON bodies; accept both."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as err:
            raise ApiError("invalid_arguments") from err
    return value


def _blocks(params: Params) -> list[dict[str, Any]] | None:
    """Blocks as a list; None when absent. An empty list is kept: chat.update uses it to clear blocks."""
    blocks = _json_arg(params.get("blocks"))
    if blocks is None:
        return None
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        raise ApiError("invalid_blocks_format")
    return blocks


def _window(messages: list[dict[str, Any]], params: Params) -> list[dict[str, Any]]:
    oldest = float(_str(params.get("oldest")) or 0)
    latest = float(_str(params.get("latest")) or "inf")
    inclusive = _str(params.get("inclusive")) in ("1", "true", "True")

    def keep(m: dict[str, Any]) -> bool:
        ts = float(m["ts"])
        if inclusive:
            return oldest <= ts <= latest
        return (oldest < ts or oldest == 0) and ts < latest

    return [m for m in messages if keep(m)]


def _page(messages: list[dict[str, Any]], params: Params) -> dict[str, Any]:
    """Cursor pagination: the cursor is the offset of the next page."""
    limit = int(_str(params.get("limit")) or 100) or 100
    start = int(_str(params.get("cursor")) or 0)
    page = messages[start : start + limit]
    more = start + limit < len(messages)
    return {
        "messages": page,
        "has_more": more,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


_MIMETYPES = {
    "txt": "text/plain",
    "md": "text/markdown",
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "json": "application/json",
    "csv": "text/csv",
}


def _guess_mimetype(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return _MIMETYPES.get(ext, "application/octet-stream")
