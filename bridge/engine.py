"""The engine: one normalized message in, one answered turn in an OpenWebUI chat out.

Per turn: find or create the OpenWebUI chat of the conversation, read it back (so turns typed in the web
UI are part of the context), upload attachments, write the user message into the chat, stream the
completion into the adapter's live reply, and write the answer back as a finished message. Turns of one
conversation run one at a time in arrival order; different conversations run concurrently.

The completion runs in OpenWebUI's pass-through mode (no `chat_id`): it is the only mode that streams
over HTTP with an API key. The bridge therefore writes both messages of the turn itself, as the web UI
would, with a correct `parentId`/`childrenIds`/`currentId` tree.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bridge.filetypes import SUPPORTED, readable
from bridge.live_reply import LiveReply
from bridge.messages import Attachment, ConversationKey, IncomingMessage
from bridge.metrics import METRICS
from bridge.openwebui import Model, OpenWebUIClient, Sources, TextDelta, errors
from bridge.openwebui import chat as chats
from bridge.store import Conversation, Store, StoredFile, StoreError, Turn
from bridge.surface import ReplySurface, Source
from bridge.tasks import finish_or_cancel

log = logging.getLogger(__name__)

MODELS_TTL = 60.0
INTERRUPTED = "The answer was interrupted because the bridge restarted; send your message again."
RESTARTING = "The bridge is restarting; send your message again in a minute."


@dataclass(frozen=True, slots=True)
class EngineConfig:
    default_model: str = ""
    system_prompt: str = ""
    max_file_bytes: int = 25 * 1024 * 1024
    file_process_timeout: float = 300.0


@dataclass(slots=True)
class TurnOutcome:
    """What happened to one message; adapters and metrics read it."""

    status: str  # "answered", "failed", "duplicate", "interrupted", "refused"
    chat_id: str = ""
    text: str = ""
    error: str = ""
    notices: list[str] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)
    reply: LiveReply | None = None


class UserFacingError(Exception):
    """A request the bridge cannot serve, with the sentence to show the user."""


@dataclass(slots=True)
class _TurnState:
    """What a turn has done so far, so that a failure at any step can close it properly."""

    user_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    assistant_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    model: str = ""
    text: str = ""
    id: int | None = None
    chat: dict[str, Any] | None = None
    conversation: Conversation | None = None


class _KeyedLocks:
    """One FIFO lock per conversation, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[ConversationKey, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: ConversationKey) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class Engine:
    """Platform-agnostic turns and commands; adapters call it with normalized messages."""

    def __init__(self, client: OpenWebUIClient, store: Store, config: EngineConfig) -> None:
        self.client = client
        self.store = store
        self.config = config
        self._locks = _KeyedLocks()
        self._models: list[Model] = []
        self._models_at = float("-inf")
        self._running: set[asyncio.Task[object]] = set()
        self.draining = False

    # --- turns ----------------------------------------------------------------------------------

    async def handle(
        self, message: IncomingMessage, surface: ReplySurface, *, knowledge: tuple[str, ...] = ()
    ) -> TurnOutcome:
        """Answer `message` in its conversation through `surface`; never raises for a user's mistake.

        Redelivered events (same platform event id) are answered once. `knowledge` adds knowledge-base
        ids to search for this turn (`/kb ask`).
        """
        if self.draining:
            await _say(surface, f"⚠️ {RESTARTING}")
            return TurnOutcome("refused")
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            async with self._locks.hold(message.key):
                METRICS.active.set(len(self._locks))
                return await self._claimed_turn(message, surface, knowledge)
        finally:
            self._running.discard(task)  # type: ignore[arg-type]
            METRICS.active.set(len(self._locks))

    async def _claimed_turn(
        self, message: IncomingMessage, surface: ReplySurface, knowledge: tuple[str, ...]
    ) -> TurnOutcome:
        """The turn, unless the store has seen this event id before (a platform's redelivery)."""
        try:
            if not await self.store.claim_event(message.key.platform, message.event_id):
                log.info("duplicate event %s ignored", message.event_id)
                return TurnOutcome("duplicate")
        except StoreError as exc:
            log.error("store failed before a turn: %s", exc)
            await _say(surface, "⚠️ The bridge's database is not available; an admin must check its disk.")
            return TurnOutcome("failed", error=str(exc))
        platform = message.key.platform
        METRICS.turns_started.labels(platform).inc()
        started = time.monotonic()
        outcome = await self._turn(message, surface, knowledge)
        where = message.key.describe()
        log.info(
            "turn %s in %s (chat %s)",
            outcome.status,
            where,
            outcome.chat_id or "-",
            extra={"platform": platform, "conversation": where, "chat_id": outcome.chat_id},
        )
        METRICS.turns_finished.labels(platform, outcome.status).inc()
        METRICS.turn_duration.labels(platform).observe(time.monotonic() - started)
        if outcome.reply is not None:
            stats = outcome.reply.stats
            if stats.first_visible_at is not None:
                METRICS.first_text.labels(platform).observe(stats.first_visible_at - started)
            METRICS.edits.labels(platform, "post").inc(stats.posts)
            METRICS.edits.labels(platform, "edit").inc(stats.edits)
        return outcome

    async def _turn(self, message: IncomingMessage, surface: ReplySurface, knowledge: tuple[str, ...]) -> TurnOutcome:
        reply = LiveReply(surface)
        reply.start()
        outcome = TurnOutcome("failed", reply=reply)
        turn = _TurnState()
        try:
            settings = await self.store.scope_settings(message.key)
            turn.model = await self._resolve_model(message, settings.model)
            conversation, chat = await self._open_chat(message, turn.model)
            turn.conversation, turn.chat, outcome.chat_id = conversation, chat, conversation.chat_id
            files, images, outcome.notices = await self._attachments(message, conversation, turn.model)
            parent_id = chat.get("history", {}).get("currentId")
            files += [{"type": "image", "url": url} for url in images]
            user = chats.user_message(turn.user_id, parent_id, message.text, turn.model, files=files)
            patch = chats.attach(chat, user)
            context = chats.chain(chat)
            await self.client.update_chat(conversation.chat_id, patch)
            turn.id = await self.store.begin_turn(
                conversation, message.event_id, turn.user_id, turn.assistant_id, parent_id, turn.model
            )
            reply.on_message = partial(self.store.set_turn_messages, turn.id)
            body = await self._completion(conversation, context, turn.model, settings.system_prompt, knowledge)
            sources: list[dict[str, Any]] = []
            async for event in self.client.stream(body):
                if isinstance(event, TextDelta):
                    turn.text += event.text
                    reply.update(turn.text)
                elif isinstance(event, Sources):
                    sources = event.items
            outcome.message_ids = await reply.finish(turn.text)
            answer = chats.assistant_message(turn.assistant_id, turn.user_id, turn.text, turn.model, sources=sources)
            await self.client.update_chat(conversation.chat_id, chats.attach(chat, answer))
            await self.store.finish_turn(turn.id, "done")
            outcome.status, outcome.text = "answered", turn.text
            outcome.sources = source_names(sources)
            if outcome.sources:
                await surface.show_sources(outcome.sources)
            if outcome.notices:
                await _say(surface, "\n".join(outcome.notices))
            return outcome
        except asyncio.CancelledError:
            outcome.status, outcome.error = "interrupted", "cancelled"
            async with asyncio.timeout(10):
                await self._close_failed(turn, reply, INTERRUPTED, "interrupted", "shutdown", outcome)
            raise
        except Exception as exc:
            outcome.error = str(exc)
            if isinstance(exc, errors.OpenWebUIError):
                METRICS.openwebui_errors.labels(type(exc).__name__).inc()
            if isinstance(exc, errors.OpenWebUIError | StoreError | UserFacingError):
                log.warning("turn in %s failed: %s", message.key.describe(), exc)
            else:
                log.exception("turn in %s failed unexpectedly", message.key.describe())
            await self._close_failed(turn, reply, _hint(exc, turn.model), "failed", str(exc)[:500], outcome)
            return outcome

    async def _completion(
        self,
        conversation: Conversation,
        context: list[dict[str, Any]],
        model: str,
        system_prompt: str | None,
        knowledge: tuple[str, ...],
    ) -> dict[str, Any]:
        """The streamed completion request: the chat's context, and every file of the conversation."""
        stored = await self.store.files(conversation)
        body: dict[str, Any] = {
            "model": model,
            "messages": chats.completion_messages(context, self._system_prompt(system_prompt)),
            "stream": True,
        }
        refs = [{"type": "file", "id": f.file_id} for f in stored if not f.content_type.startswith("image/")]
        refs += [{"type": "collection", "id": kb} for kb in knowledge]
        if refs:
            body["files"] = refs
        return body

    async def _close_failed(
        self, turn: _TurnState, reply: LiveReply, hint: str, state: str, error: str, outcome: TurnOutcome
    ) -> None:
        """Show what arrived and why it stopped; close the turn in OpenWebUI (a finished answer carrying the
        error, so the chat stays whole) and in the store."""
        note = f"⚠️ {hint}"
        try:
            outcome.message_ids = await reply.finish(f"{turn.text}\n\n{note}" if turn.text.strip() else note)
        except Exception as exc:  # the platform is failing too; nothing more to show
            log.error("could not show the error to the user: %s", exc)
        chat, conversation = turn.chat, turn.conversation
        if chat is not None and conversation is not None and _current(chat) == turn.user_id:
            answer = chats.assistant_message(turn.assistant_id, turn.user_id, turn.text, turn.model, error=hint)
            await _quietly(self.client.update_chat(conversation.chat_id, chats.attach(chat, answer)))
        if turn.id is not None:
            await _quietly(self.store.finish_turn(turn.id, state, error))

    async def _open_chat(self, message: IncomingMessage, model: str) -> tuple[Conversation, dict[str, Any]]:
        """The conversation's chat, read back from OpenWebUI; a new one when there is none or it was deleted."""
        conversation = None if message.new_conversation else await self.store.conversation(message.key)
        if conversation is not None:
            try:
                return conversation, (await self.client.get_chat(conversation.chat_id))["chat"]
            except errors.NotFound:
                log.info("chat %s is gone from OpenWebUI; starting a new one", conversation.chat_id)
        title = (message.title_hint or message.text or "New chat").strip().splitlines()[0][:80]
        created = await self.client.new_chat(chats.new_chat(title, model))
        conversation = await self.store.start_conversation(message.key, str(created["id"]))
        return conversation, created.get("chat") or chats.new_chat(title, model)

    def _system_prompt(self, scoped: str | None) -> str:
        return scoped if scoped is not None else self.config.system_prompt

    # --- attachments ----------------------------------------------------------------------------

    async def _attachments(
        self, message: IncomingMessage, conversation: Conversation, model: str
    ) -> tuple[list[dict[str, Any]], list[str], list[str]]:
        """Upload what can be used; return (file refs for the chat, image data URLs, notices for refused files)."""
        files: list[dict[str, Any]] = []
        images: list[str] = []
        notices: list[str] = []
        vision = any(a.is_image for a in message.attachments) and await self._vision(model)
        for attachment in message.attachments:
            try:
                if attachment.is_image:
                    if not vision:
                        raise UserFacingError(f"`{model}` does not take images; choose a vision model (/model).")
                    images.append(await self._image_url(attachment))
                    continue
                uploaded = await self.upload(attachment)
                await self.store.add_file(conversation, uploaded)
                files.append({"type": "file", "id": uploaded.file_id, "name": uploaded.filename, "size": uploaded.size})
            except UserFacingError as exc:
                notices.append(f"⚠️ {attachment.filename}: {exc}")
            except errors.FileProcessingError as exc:
                notices.append(f"⚠️ {attachment.filename}: OpenWebUI could not read it ({exc}).")
        return files, images, notices

    def _check_size(self, attachment: Attachment) -> None:
        if attachment.size > self.config.max_file_bytes:
            raise UserFacingError(
                f"too large ({_megabytes(attachment.size)}; the limit is "
                f"{_megabytes(self.config.max_file_bytes)}). Send a smaller file or a link."
            )

    async def _download(self, attachment: Attachment) -> bytes:
        self._check_size(attachment)
        if not attachment.is_image and not readable(attachment.filename, attachment.content_type):
            raise UserFacingError(
                f"this type of file can't be read ({attachment.content_type or 'unknown'}); send {SUPPORTED}."
            )
        try:
            data = await attachment.fetch()
        except UserFacingError:
            raise
        except Exception as exc:
            raise UserFacingError(f"could not be downloaded ({type(exc).__name__}); try sending it again.") from exc
        if len(data) > self.config.max_file_bytes:
            raise UserFacingError(f"too large (the limit is {_megabytes(self.config.max_file_bytes)}).")
        if not data:
            raise UserFacingError("is empty.")
        return data

    async def _image_url(self, attachment: Attachment) -> str:
        data = await self._download(attachment)
        return f"data:{attachment.content_type};base64,{base64.b64encode(data).decode()}"

    async def upload(self, attachment: Attachment, knowledge_id: str | None = None) -> StoredFile:
        """Download `attachment`, upload it to OpenWebUI and wait until it is processed."""
        data = await self._download(attachment)
        uploaded = await self.client.upload_file(
            attachment.filename, data, attachment.content_type or "application/octet-stream"
        )
        await self.client.wait_processed(uploaded.id, self.config.file_process_timeout)
        return StoredFile(uploaded.id, attachment.filename, attachment.content_type, len(data))

    # --- models and settings --------------------------------------------------------------------

    async def models(self, *, refresh: bool = False) -> list[Model]:
        """The models OpenWebUI offers this key, cached for a minute."""
        if refresh or not self._models or time.monotonic() - self._models_at > MODELS_TTL:
            self._models = await self.client.models()
            self._models_at = time.monotonic()
        return self._models

    async def find_model(self, name: str) -> Model:
        """The model called `name` (id or display name); `UserFacingError` listing a few if none.

        A name missing from the cached list is looked up once more, fresh (a model added a moment ago).
        """
        for refresh in (False, True):
            models = await self.models(refresh=refresh)
            for model in models:
                if name in (model.id, model.name):
                    return model
        known = ", ".join(m.id for m in models[:10]) or "none"
        raise UserFacingError(f"There is no model `{name}` in OpenWebUI. Available: {known}.")

    async def _resolve_model(self, message: IncomingMessage, scoped: str | None) -> str:
        """The message's model, else its scope's, else the default, else OpenWebUI's first model."""
        if message.model:
            return (await self.find_model(message.model)).id
        if scoped:
            return scoped
        if self.config.default_model:
            return self.config.default_model
        models = await self.models()
        if not models:
            raise UserFacingError("OpenWebUI offers no models to this key; an admin must add or share one.")
        return models[0].id

    async def _vision(self, model: str) -> bool:
        try:
            return (await self.find_model(model)).vision
        except UserFacingError:
            return False

    async def set_model(self, scope: ConversationKey, name: str) -> Model:
        """Use model `name` in `scope` (checked against OpenWebUI); an empty name clears the setting."""
        if not name:
            await self.store.set_scope_settings(scope, model="")
            return Model(id=self.config.default_model or "", name="default")
        model = await self.find_model(name)
        await self.store.set_scope_settings(scope, model=model.id)
        return model

    async def set_system_prompt(self, scope: ConversationKey, prompt: str) -> None:
        """Set (or with "" clear) the system prompt of `scope`."""
        await self.store.set_scope_settings(scope, system_prompt=prompt)

    async def effective_settings(self, key: ConversationKey) -> tuple[str, str]:
        """(model, system prompt) in force for `key`, after inheritance and defaults."""
        scoped = await self.store.scope_settings(key)
        model = scoped.model or self.config.default_model
        if not model:
            models = await self.models()
            model = models[0].id if models else ""
        return model, self._system_prompt(scoped.system_prompt)

    async def new_conversation(self, key: ConversationKey) -> bool:
        """`/new`: the next message in `key` starts a new OpenWebUI chat (the old one stays there)."""
        return await self.store.archive_conversation(key)

    # --- restarts -------------------------------------------------------------------------------

    async def drain(self, grace: float) -> None:
        """Stop taking messages, let running turns finish for `grace` seconds, then interrupt the rest.

        An interrupted turn shows a visible note on the platform and is closed in OpenWebUI and the store.
        """
        self.draining = True
        if self._running:
            log.info("waiting up to %.0f s for %d turn(s) to finish", grace, len(self._running))
        interrupted = await finish_or_cancel(set(self._running), grace)
        if interrupted:
            log.info("interrupted %d turn(s)", interrupted)

    async def recover(self, platform: str, mark: Callable[[Turn], Awaitable[str]]) -> int:
        """Close turns a crash left in progress; returns how many.

        `mark` is the adapter's: it tells the user on the platform that the answer was interrupted and
        returns the text that had been shown. That text goes into the chat as the (finished) answer.
        """
        turns = await self.store.open_turns(platform)
        for turn in turns:
            try:
                shown = await mark(turn)
            except Exception as exc:
                log.warning("could not mark turn %s interrupted on %s: %s", turn.id, platform, exc)
                shown = ""
            try:
                chat = (await self.client.get_chat(turn.conversation.chat_id))["chat"]
                messages = (chat.get("history") or {}).get("messages") or {}
                if turn.user_message_id in messages and turn.assistant_message_id not in messages:
                    answer = chats.assistant_message(
                        turn.assistant_message_id, turn.user_message_id, shown, turn.model, error=INTERRUPTED
                    )
                    await self.client.update_chat(turn.conversation.chat_id, chats.attach(chat, answer))
            except errors.OpenWebUIError as exc:
                log.warning("could not close interrupted turn %s in OpenWebUI: %s", turn.id, exc)
            await self.store.finish_turn(turn.id, "interrupted", "found after a restart")
        return len(turns)

    # --- knowledge ------------------------------------------------------------------------------

    async def find_knowledge(self, name: str) -> str:
        """The id of the knowledge base called `name` (or with that id)."""
        bases = await self.client.knowledge_list()
        for base in bases:
            if name in (base.id, base.name):
                return base.id
        lowered = name.lower()
        for base in bases:
            if base.name.lower() == lowered:
                return base.id
        known = ", ".join(b.name for b in bases[:10]) or "none"
        raise UserFacingError(f"There is no knowledge base `{name}`. Available: {known}.")

    async def add_to_knowledge(self, name: str, attachments: list[Attachment]) -> list[str]:
        """Upload each file and add it to knowledge base `name`; one result line per file."""
        knowledge_id = await self.find_knowledge(name)
        lines = []
        for attachment in attachments:
            try:
                stored = await self.upload(attachment)
                await self.client.knowledge_add_file(knowledge_id, stored.file_id)
                lines.append(f"✅ {attachment.filename} added to {name}.")
            except UserFacingError as exc:
                lines.append(f"⚠️ {attachment.filename}: {exc}")
            except errors.OpenWebUIError as exc:
                lines.append(f"⚠️ {attachment.filename}: {exc.user_message}")
        return lines

    async def chat_link(self, key: ConversationKey) -> tuple[str, str]:
        """(chat id, web UI link) of the conversation at `key`, or ("", "") when it has none yet."""
        conversation = await self.store.conversation(key)
        if conversation is None:
            return "", ""
        return conversation.chat_id, f"{self.client.base_url}/c/{conversation.chat_id}"


def source_names(items: list[dict[str, Any]]) -> list[Source]:
    """The distinct documents named in OpenWebUI's `sources`, in order."""
    seen: dict[str, Source] = {}
    for item in items:
        source = item.get("source") or {}
        metas = item.get("metadata") or [{}]
        documents = item.get("document") or [""]
        for index, meta in enumerate(metas):
            meta = meta or {}
            name = str(meta.get("name") or meta.get("source") or source.get("name") or source.get("id") or "source")
            if name not in seen:
                excerpt = str(documents[index] if index < len(documents) else "")[:200]
                seen[name] = Source(name=name, url=str(source.get("url") or ""), excerpt=excerpt)
    return list(seen.values())


def _hint(exc: Exception, model: str) -> str:
    """The sentence a user sees for a failed turn."""
    if isinstance(exc, errors.ModelNotFound):
        return f"The model `{model}` is not available in OpenWebUI; choose another one (/model)."
    if isinstance(exc, errors.OpenWebUIError):
        return exc.user_message
    if isinstance(exc, StoreError):
        return "The bridge's database failed; an admin must check its disk."
    if isinstance(exc, UserFacingError):
        return str(exc)
    return "Something went wrong on the bridge's side; try again, and tell an admin if it keeps happening."


def _current(chat: dict[str, Any]) -> str | None:
    return (chat.get("history") or {}).get("currentId")


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


async def _say(surface: ReplySurface, text: str) -> None:
    """A short message outside the streamed reply (notices, errors)."""
    try:
        grant = await surface.pace("post", True)
        await surface.post(text, grant)
    except Exception as exc:
        log.error("could not post a notice: %s", exc)


async def _quietly(coro: Any) -> None:
    """Best effort for clean-up writes during a failure that is already being reported."""
    try:
        await coro
    except Exception as exc:
        log.warning("clean-up after a failed turn also failed: %s", exc)
