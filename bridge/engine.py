"""The engine: one normalized message in, one answered turn in an OpenWebUI chat out.

Per turn: find or create the OpenWebUI chat of the conversation, read it back (so turns typed in the web
UI are part of the context), upload attachments, write the user message into the chat, stream the
completion into the adapter's live reply, and write the answer back as a finished message. Turns of one
conversation run one at a time in arrival order, also across replicas sharing a database
(`bridge.conversation_order`); different conversations run concurrently.

How the completion is produced is the `CompletionPath`'s (`bridge.turn_paths`): by default OpenWebUI's
pass-through mode (no `chat_id`), the only mode that streams over HTTP with an API key, in which the bridge
writes both messages of the turn itself, as the web UI would, with a correct `parentId`/`childrenIds`/
`currentId` tree; with a signed-in service account, the web UI's own way, in which OpenWebUI saves the answer.

What a place uses (model, system prompt) and what OpenWebUI offers comes from the `Catalog`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from bridge import assistant, texts
from bridge.branching import Branch, place_question
from bridge.catalog import Catalog
from bridge.chat_tasks import Answered, ChatTasks
from bridge.conversation_order import ConversationOrder
from bridge.errors import StoreError, UserFacingError, explain
from bridge.generated import GeneratedFiles, refs_in_text, web_ui_files
from bridge.live_reply import LiveReply
from bridge.messages import ConversationKey, IncomingMessage, InterruptedTurn
from bridge.metrics import METRICS
from bridge.openwebui import (
    AfterAnswer,
    CompletionEvent,
    MalformedEvent,
    OpenWebUIClient,
    Progress,
    SavedAnswer,
    Sources,
    TextDelta,
    ToolCalls,
    errors,
)
from bridge.openwebui import chat as chats
from bridge.openwebui.acting import Acting, acting, acting_as
from bridge.outcomes import TurnOutcome, TurnState, TurnStatus
from bridge.remote_stops import RemoteStops
from bridge.splitting import reassemble, split_message
from bridge.stopping import RunningTurns, StopSignal
from bridge.store import Conversation, Store, Turn
from bridge.surface import ReplySurface, Source
from bridge.tasks import BackgroundTasks, finish_or_cancel
from bridge.turn_paths import CompletionPath, PassThrough, TurnRequest

log = logging.getLogger(__name__)

CLOSE_INTERRUPTED_SECONDS = 10.0
"""How long a cancelled turn may try to show its note and close itself (within `tasks.CLEAN_UP_SECONDS`)."""

MarkInterrupted = Callable[[InterruptedTurn, str], Awaitable[list[str]]]
"""An adapter's way to show that a crash cut an answer off: it adds the note where the answer was and
returns the texts of the answer's messages that were still there."""


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
    tool_calls: list[str] = field(default_factory=list)  # tools the model asked for that nobody ran
    later: AfterAnswer | None = None  # OpenWebUI's title and follow-ups still to come (signed-in way)


class Engine:
    """Platform-agnostic turns; adapters reach it through the core with normalized messages."""

    def __init__(
        self,
        client: OpenWebUIClient,
        store: Store,
        catalog: Catalog,
        *,
        max_answer_chars: int,
        max_turn_seconds: float,
        path: CompletionPath | None = None,
        replica: str = "local",
        lease_seconds: float = 15.0,
    ) -> None:
        self.client = client
        self.path = path or PassThrough(client)
        self._pass_through = PassThrough(client)
        self.store = store
        self.catalog = catalog
        self.max_answer_chars = max_answer_chars
        self.max_turn_seconds = max_turn_seconds
        self.order = ConversationOrder(store, replica, lease_seconds)
        self._running: set[asyncio.Task[object]] = set()
        self._open_turns: set[int] = set()  # turn ids this process is running (recovery leaves them alone)
        self._marks: dict[str, MarkInterrupted] = {}  # each launched platform's way to mark a turn interrupted
        self.running = RunningTurns()  # what a Stop button can stop
        self.stops = RemoteStops(store, self.running, replica, lease_seconds)  # ... also from another replica
        self.draining = False
        self.background = BackgroundTasks("after answers")  # titles, tags, follow-ups: never in a turn's way
        self.chat_tasks = ChatTasks(client, self.background)
        self.generated = GeneratedFiles(client, catalog.intake.max_bytes)
        self.owner_of: Callable[[str], Awaitable[Acting | None]] = _service
        """Whose key reaches a chat outside a turn (recovery): its owner's when people link (`bridge.core`)."""

    # --- turns ----------------------------------------------------------------------------------

    async def handle(
        self,
        message: IncomingMessage,
        surface: ReplySurface,
        *,
        knowledge: tuple[str, ...] = (),
        branch: Branch | None = None,
    ) -> TurnOutcome:
        """Answer `message` in its conversation through `surface`; never raises (but for cancellation):
        whatever fails, the adapter gets an outcome and the person a note.

        Redelivered events (same platform event id) are answered once. `knowledge` adds knowledge-base
        ids to search for this turn (`/kb ask`); `branch` makes it a regenerated answer or an edited
        question (`bridge.branching`).
        """
        if self.draining:
            await _say(surface, f"⚠️ {texts.RESTARTING}")
            return TurnOutcome(TurnStatus.REFUSED)
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            try:  # claimed and queued at once: a duplicate is refused wherever it arrives
                place = await self.order.arrive(message.key, message.event_id, claim=message.key.platform)
            except StoreError as exc:
                log.error("store failed before a turn: %s", exc)
                await _say(surface, "⚠️ The bridge's database is not available; an admin must check its disk.")
                return TurnOutcome(TurnStatus.FAILED, error=str(exc))
            if place is None:
                log.info("duplicate event %s ignored", message.event_id)
                return TurnOutcome(TurnStatus.DUPLICATE)
            async with self.order.turn(place):
                METRICS.active.set(len(self.order))
                await self._close_dead_turns(message.key)
                return await self._counted_turn(message, surface, knowledge, branch)
        except Exception as exc:  # a fault no step expected (a bug): the turn still ends, visibly
            log.exception("turn in %s failed outside its own error handling", message.key.describe())
            await _say(surface, f"⚠️ {explain(exc)}")
            return TurnOutcome(TurnStatus.FAILED, error=str(exc)[:500])
        finally:
            self._running.discard(task)  # type: ignore[arg-type]
            METRICS.active.set(len(self.order))

    async def _counted_turn(
        self, message: IncomingMessage, surface: ReplySurface, knowledge: tuple[str, ...], branch: Branch | None
    ) -> TurnOutcome:
        """The turn, with its metrics and its log line."""
        platform = message.key.platform
        METRICS.turns_started.labels(platform).inc()
        started = time.monotonic()
        stop_id = branch.stop_id if branch else message.event_id
        with self.running.track(platform, stop_id, message.author_id) as stop:
            self.stops.watch()
            outcome = await self._turn(message, surface, knowledge, branch, stop)
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

    async def _turn(
        self,
        message: IncomingMessage,
        surface: ReplySurface,
        knowledge: tuple[str, ...],
        branch: Branch | None,
        stop: StopSignal,
    ) -> TurnOutcome:
        deadline = asyncio.get_running_loop().time() + self.max_turn_seconds
        reply = LiveReply(surface)
        reply.start()
        outcome = TurnOutcome(TurnStatus.FAILED, reply=reply)
        turn = _TurnState()
        try:
            settings = await self.catalog.scope_settings(message.key)
            ask = assistant.read_prefix(message.text)
            message = replace(message, text=ask.text)  # the question goes on without its prefix
            turn.model = await self.catalog.resolve_model(message.model, settings.model)
            # At once: a person's first turn in a minute fetches their own model list (`Catalog.models`).
            assistance, (conversation, chat) = await asyncio.gather(
                self.catalog.assistance(turn.model, settings, ask.features), self._open_chat(message, turn.model)
            )
            if activity := assistance.activity(await self.catalog.tool_names() if assistance.tool_ids else {}):
                reply.announce(activity)
            turn.conversation, turn.chat, outcome.chat_id = conversation, chat, conversation.chat_id
            files, images, outcome.notices = await self._attachments(message, conversation, turn.model)
            files += [{"type": "image", "url": url} for url in images]
            question = place_question(
                chat, turn.user_id, message.text, turn.model, files, branch, name=message.author_name
            )
            turn.user_id, reply.heading = question.user_id, question.heading or message.heading
            context = chats.chain(chat)
            # a linked person's turn runs with their key, which the service account's socket cannot serve
            path = self.path if acting() is None else self._pass_through
            if question.patch is not None and not path.adds_question:
                # (when OpenWebUI adds it, a turn that fails first writes it with its note: `_close_failed`)
                await self.client.update_chat(conversation.chat_id, question.patch)
            turn.id = outcome.turn_id = stop.turn_id = await self.store.begin_turn(
                conversation,
                message.event_id,
                turn.user_id,
                turn.assistant_id,
                question.parent_id,
                turn.model,
                self.order.replica,
            )
            self._open_turns.add(turn.id)
            reply.on_message = partial(self.store.set_turn_messages, turn.id)
            system_prompt = self.catalog.system_prompt_of(settings)
            body = await self._completion(conversation, context, turn.model, system_prompt, knowledge)
            body, drawn = {**body, **assistance.request()}, []
            if not path.runs_pipeline:  # in pass-through OpenWebUI draws nothing: the bridge takes the step
                body, drawn = await self.generated.draw(body)
            user = chat["history"]["messages"][question.user_id]  # as written (or, regenerated, as it was)
            request = TurnRequest(body, conversation.chat_id, user, turn.assistant_id)
            sources, cut, saved = await self._read_answer(turn, reply, path.events(request), deadline, stop)
            shown = _with_note(turn.text, cut) if cut else turn.text
            if not shown.strip() and turn.tool_calls:
                shown = texts.tools_not_run(turn.tool_calls)
            outcome.message_ids = await reply.finish(shown)
            if cut or not saved:  # OpenWebUI saved a whole answer itself: that one stays
                answer = chats.assistant_message(
                    turn.assistant_id, turn.user_id, shown, turn.model, sources=sources, files=web_ui_files(drawn)
                )
                await self.client.update_chat(conversation.chat_id, chats.attach(chat, answer))
            await self.store.finish_turn(turn.id, TurnState.DONE)
            outcome.status, outcome.text = TurnStatus.ANSWERED, shown
            outcome.sources = source_names(sources)
            if outcome.sources:
                await surface.show_sources(outcome.sources)
            produced = drawn + refs_in_text(shown, self.client.base_url)
            if produced:
                outcome.notices += await self.generated.deliver(surface, produced)
            messages = [*chats.completion_messages(context), {"role": "assistant", "content": shown}]
            first = question.parent_id is None and branch is None  # a new chat, not a retry of its first question
            if turn.later is not None:  # OpenWebUI's own background tasks make them: shown when they come
                self.chat_tasks.relay(turn.later, surface, turn.id, first=first)
                turn.later = None
            elif not path.runs_pipeline:
                answered = Answered(conversation.chat_id, turn.id, turn.model, messages, answer, first)
                self.chat_tasks.after(answered, surface)
            if outcome.notices:
                await _say(surface, "\n".join(outcome.notices))
            return outcome
        except asyncio.CancelledError:
            outcome.status, outcome.error = TurnStatus.INTERRUPTED, "cancelled"
            # Out of time, it gives up (the next start recovers the turn): the turn still ends as cancelled.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_INTERRUPTED_SECONDS):
                    await self._close_failed(turn, reply, texts.INTERRUPTED, TurnState.INTERRUPTED, "shutdown", outcome)
            raise
        except Exception as exc:
            outcome.error = str(exc)
            if isinstance(exc, errors.OpenWebUIError):
                METRICS.openwebui_errors.labels(type(exc).__name__).inc()
            if isinstance(exc, errors.OpenWebUIError | StoreError | UserFacingError):
                log.warning("turn in %s failed: %s", message.key.describe(), exc)
            else:
                log.exception("turn in %s failed unexpectedly", message.key.describe())
            hint = explain(exc, turn.model)
            await self._close_failed(turn, reply, hint, TurnState.FAILED, str(exc)[:500], outcome)
            return outcome
        finally:
            self._open_turns.discard(turn.id)  # type: ignore[arg-type]
            if turn.later is not None:  # the turn failed after its answer was saved: nothing more to show
                turn.later.close()

    async def _read_answer(
        self,
        turn: _TurnState,
        reply: LiveReply,
        stream: AsyncIterator[CompletionEvent],
        deadline: float,
        stop: StopSignal,
    ) -> tuple[list[dict[str, Any]], str, bool]:
        """Stream the completion into `turn.text` and the live reply; returns the answer's sources, when it was
        cut or stopped the note saying so, and whether OpenWebUI saved the answer itself (`SavedAnswer`).

        Until the first words, OpenWebUI's `Progress` is the reply's text (its first line).

        An answer is bounded (issue 14: one 10 MB event made 741 messages, endless output posted without end):
        past `max_answer_chars` the rest is not read and the stream is closed; at the turn's deadline
        (`max_turn_seconds` after it began) it ends where it is. Silence is the client's idle timeout. A Stop
        click ends it where it is too (`bridge.stopping`).
        """
        sources: list[dict[str, Any]] = []
        malformed: list[str] = []
        cut = ""
        saved = False
        bound = asyncio.timeout_at(deadline)

        async def read() -> None:
            nonlocal sources, cut, saved
            async with bound, aclosing(stream) as events:
                async for event in events:
                    if isinstance(event, TextDelta | SavedAnswer):
                        if isinstance(event, SavedAnswer):  # the final text, as OpenWebUI saved it
                            turn.text, saved, sources = event.text, True, event.sources or sources
                            turn.later = event.later
                        else:
                            turn.text += event.text
                        if len(turn.text) > self.max_answer_chars:
                            turn.text = turn.text[: self.max_answer_chars]
                            cut = texts.answer_cut_long(self.max_answer_chars)
                            break
                        reply.update(turn.text)
                    elif isinstance(event, Sources):
                        sources = event.items
                    elif isinstance(event, ToolCalls):
                        turn.tool_calls += event.names  # never shown as text; named if nothing else came
                    elif isinstance(event, Progress):
                        reply.announce(texts.progress_line(event.description))
                    elif isinstance(event, MalformedEvent):
                        METRICS.stream_events_skipped.inc()
                        malformed.append(event.reason)

        try:
            if await stop.until_stopped(read()):
                cut = texts.stopped_by(stop.by)
        except TimeoutError:
            if not bound.expired():
                raise
            cut = texts.answer_cut_slow(self.max_turn_seconds)
        if malformed:
            log.warning("skipped %d malformed event(s) of the answer stream: %s", len(malformed), malformed[:5])
        if cut:
            log.info("answer cut at %d characters: %s", len(turn.text), cut)
        return sources, cut, saved

    async def _completion(
        self,
        conversation: Conversation,
        context: list[dict[str, Any]],
        model: str,
        system_prompt: str,
        knowledge: tuple[str, ...],
    ) -> dict[str, Any]:
        """The streamed completion request: the chat's context, and every file of the conversation."""
        stored = await self.store.files(conversation)
        body: dict[str, Any] = {
            "model": model,
            "messages": chats.completion_messages(context, system_prompt),
            "stream": True,
        }
        refs = [{"type": "file", "id": f.file_id} for f in stored if not f.content_type.startswith("image/")]
        refs += [{"type": "collection", "id": kb} for kb in knowledge]
        if refs:
            body["files"] = refs
        return body

    async def _close_failed(
        self, turn: _TurnState, reply: LiveReply, hint: str, state: TurnState, error: str, outcome: TurnOutcome
    ) -> None:
        """Show what arrived and why it stopped; close the turn in OpenWebUI (a finished answer carrying the
        error, so the chat stays whole) and in the store."""
        try:
            outcome.message_ids = await reply.finish(_with_note(turn.text, f"⚠️ {hint}"))
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
                chat = await self._read_chat(conversation.chat_id)
            except errors.NotFound:
                log.info("chat %s is gone from OpenWebUI; starting a new one", conversation.chat_id)
            else:
                if chat is not None:
                    return conversation, chat
                log.warning("chat %s has a shape OpenWebUI cannot update; starting a new one", conversation.chat_id)
        title = (message.title_hint or message.text or "New chat").strip().splitlines()[0][:80]
        created = await self.client.new_chat(chats.new_chat(title, model))
        conversation = await self.store.start_conversation(message.key, str(created["id"]))
        return conversation, chats.readable(created.get("chat")) or chats.new_chat(title, model)

    async def _read_chat(self, chat_id: str) -> dict[str, Any] | None:
        """The chat as stored, or None when its shape is unusable (`chats.readable`)."""
        response = await self.client.get_chat(chat_id)
        return chats.readable(response.get("chat") if isinstance(response, dict) else None)

    async def _attachments(
        self, message: IncomingMessage, conversation: Conversation, model: str
    ) -> tuple[list[dict[str, Any]], list[str], list[str]]:
        """Upload what can be used; return (file refs for the chat, image data URLs, notices for refused files)."""
        intake = self.catalog.intake
        files: list[dict[str, Any]] = []
        images: list[str] = []
        notices: list[str] = []
        vision = any(a.is_image for a in message.attachments) and await self.catalog.takes_images(model)
        for attachment in message.attachments:
            try:
                if attachment.is_image:
                    if not vision:
                        raise UserFacingError(f"`{model}` does not take images; choose a vision model (/model).")
                    images.append(await intake.image_url(attachment))
                    continue
                uploaded = await intake.upload(attachment)
                await self.store.add_file(conversation, uploaded)
                files.append({"type": "file", "id": uploaded.file_id, "name": uploaded.filename, "size": uploaded.size})
            except UserFacingError as exc:
                notices.append(texts.file_problem(attachment.filename, str(exc)))
            except errors.FileProcessingError as exc:
                log.warning("OpenWebUI could not process %s: %s", attachment.filename, exc)
                notices.append(texts.file_problem(attachment.filename, exc.user_message))
        return files, images, notices

    # --- restarts -------------------------------------------------------------------------------

    @asynccontextmanager
    async def _as_owner(self, chat_id: str) -> AsyncIterator[None]:
        """OpenWebUI calls inside reach `chat_id` with its owner's key (`owner_of`)."""
        with acting_as(await self.owner_of(chat_id)):
            yield

    async def drain(self, grace: float) -> None:
        """Stop taking messages, let running turns finish for `grace` seconds, then interrupt the rest.

        An interrupted turn shows a visible note on the platform and is closed in OpenWebUI and the store.
        """
        self.draining = True
        if self._running:
            log.info("waiting up to %.0f s for %d turn(s) to finish", grace, len(self._running))
        started = time.monotonic()
        interrupted = await finish_or_cancel(set(self._running), grace)
        if interrupted:
            log.info("interrupted %d turn(s)", interrupted)
        await self.background.drain(max(grace - (time.monotonic() - started), 0.0))

    async def recover(self, platform: str, mark: MarkInterrupted) -> int:
        """Close the turns on `platform` that no live replica runs (a crash, a replica killed); returns how many.

        `mark` is the adapter's: it shows the note where the answer was and returns the texts that had
        been shown, which go into the chat as the (finished) answer; it is kept, so that `sweep` and a
        message arriving in such a conversation can close its turn too. A turn is dead when it is this
        process's but not running here (an earlier process with the same replica id), or its replica is not
        live (`bridge.conversation_order`). Each is closed in its conversation's turn, so a message arriving
        meanwhile waits instead of interleaving with the repair.
        """
        self._marks[platform] = mark
        closed = await asyncio.gather(
            *(self._close_in_turn(turn) for turn in await self._dead_turns(await self.store.open_turns(platform)))
        )
        return sum(closed)

    async def sweep(self) -> int:
        """Close the dead turns of every launched platform (`recover`): a replica killed mid-turn is found
        by another once its lease expired, even when nobody writes in that conversation again."""
        await self.order.forget_dead()
        closed = 0
        for platform, mark in list(self._marks.items()):
            closed += await self.recover(platform, mark)
        return closed

    async def _dead_turns(self, turns: list[Turn]) -> list[Turn]:
        if not turns:
            return []
        live = await self.order.live_replicas()
        mine = self.order.replica
        return [t for t in turns if t.id not in self._open_turns and (t.replica == mine or t.replica not in live)]

    async def _close_in_turn(self, turn: Turn) -> int:
        place = await self.order.arrive(turn.conversation.key, f"recover:{turn.id}")
        assert place is not None  # nothing to claim
        async with self.order.turn(place):
            return await self._close_dead_turns(turn.conversation.key)

    async def _close_dead_turns(self, key: ConversationKey) -> int:
        """Inside `key`'s turn: close what a dead replica left open there before anything else is said, so
        the next answer follows the interrupted one in the chat. Nothing without the platform's `mark`
        (its adapter has not launched yet: its `recover` does it)."""
        mark = self._marks.get(key.platform)
        if mark is None:
            return 0
        dead = await self._dead_turns(await self.store.open_turns(key.platform, key))
        for turn in dead:
            async with self._as_owner(turn.conversation.chat_id):
                await self._close_interrupted(turn, mark)
        return len(dead)

    async def _close_interrupted(self, turn: Turn, mark: MarkInterrupted) -> None:
        interrupted = InterruptedTurn(turn.conversation.key, list(turn.platform_message_ids))
        try:
            shown = reassemble(await mark(interrupted, texts.interrupted_note()))
        except Exception as exc:
            log.warning("could not mark turn %s interrupted on %s: %s", turn.id, turn.conversation.key.platform, exc)
            shown = ""
        try:
            chat = await self._read_chat(turn.conversation.chat_id)
            # Only while the question is still the chat's newest message: an answer written under it
            # later would move `currentId` away from whatever was said since (e.g. in the web UI).
            if (
                chat is not None
                and _current(chat) == turn.user_message_id
                and turn.assistant_message_id not in chat["history"]["messages"]
            ):
                answer = chats.assistant_message(
                    turn.assistant_message_id, turn.user_message_id, shown, turn.model, error=texts.INTERRUPTED
                )
                await self.client.update_chat(turn.conversation.chat_id, chats.attach(chat, answer))
        except errors.OpenWebUIError as exc:
            log.warning("could not close interrupted turn %s in OpenWebUI: %s", turn.id, exc)
        await self.store.finish_turn(turn.id, TurnState.INTERRUPTED, f"its replica {turn.replica or '-'} stopped")
        log.info("closed turn %s of replica %s as interrupted", turn.id, turn.replica or "-")


async def _service(chat_id: str) -> Acting | None:
    """Without linking, every chat is the service account's."""
    return None


def source_names(items: list[dict[str, Any]]) -> list[Source]:
    """The distinct documents named in OpenWebUI's `sources`, in order: files by name, a tool's result by
    `tool_id/function`, a web search result by its page's title with its `link`."""
    seen: dict[str, Source] = {}
    for item in items:
        source = item.get("source") or {}
        metas = item.get("metadata") or [{}]
        documents = item.get("document") or [""]
        for index, meta in enumerate(metas):
            meta = meta or {}
            name = str(
                meta.get("name")
                or meta.get("title")
                or meta.get("source")
                or source.get("name")
                or source.get("id")
                or "source"
            )
            if name not in seen:
                excerpt = str(documents[index] if index < len(documents) else "")[:200]
                url = str(source.get("url") or meta.get("link") or "")
                seen[name] = Source(name=name, url=url, excerpt=excerpt)
    return list(seen.values())


def _with_note(text: str, note: str) -> str:
    """An answer ended by a note (an error, a cut), or the note alone when nothing was said."""
    return f"{text}\n\n{note}" if text.strip() else note


def _current(chat: dict[str, Any]) -> str | None:
    """The newest message's id of a chat read back (`chats.readable`) or made here."""
    return chat["history"]["currentId"]


async def _say(surface: ReplySurface, text: str) -> None:
    """A message outside the streamed reply (notices, errors): short, but names files people chose, so it
    is split like a reply where it would not fit (measured as the platform is sent it)."""
    limits = surface.limits
    try:
        for part in split_message(limits.render(text), limits.max_chars):
            grant = await surface.pace("post", True)
            await surface.post(part, grant)
    except Exception as exc:
        log.error("could not post a notice: %s", exc)


async def _quietly(coro: Any) -> None:
    """Best effort for clean-up writes during a failure that is already being reported."""
    try:
        await coro
    except Exception as exc:
        log.warning("clean-up after a failed turn also failed: %s", exc)
