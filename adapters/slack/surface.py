"""`SlackReplySurface`: one reply in Slack, streamed natively where Slack allows it, else posted and edited.

The core's `LiveReply` hands over whole texts (the reply so far); this surface keeps what each message of
the reply shows and picks the path for each text. The paths are modules of their own:

* `stream`: a new message starts a native stream when the reply may stream and a start grant is free; a
  new text that extends the streamed one appends only the difference. Anything else (the splitter moved a
  cut back, Slack closed the stream) stops the stream and continues with `chat.update` on the same message.
* `updates`: every other message is posted and grows by `chat.update`. A reply whose final text is ready
  is posted directly: a stream would cost a start and a stop.
* `text`: what a text looks like in Slack (a `markdown` block, a short fallback, broadcasts defused).

A routine edit waits in `pace` for the workspace's `Scheduler`, before `LiveReply` picks its text, so it
carries the newest one; the way the scheduler chose goes with the call (`Grant.token`): an append to the
open stream, an update, or a new message (`EditDeferred` with the grant for it): a stream started on a
freed start grant, or a post when the reply has fallen behind its fair share. Final texts go first: one
that only adds text and would wait for its budget while posting has room goes on in a new message
(`final_grant`). Every call draws on the workspace's shared budgets (`pacing`), and a 429 waits for
`Retry-After` and sends the same text again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.pacing import WorkspaceBudgets, final_grant, is_rate_limited, paced
from adapters.slack.place import ReplyPlace
from adapters.slack.scheduler import Share, Way
from adapters.slack.stream import NativeStream
from adapters.slack.text import defuse, defuse_mrkdwn, sources_line
from adapters.slack.updates import PostAndUpdate, Shown
from bridge.surface import EditDeferred, Grant, Operation, OutgoingFile, Source, SurfaceExtras, SurfaceLimits

log = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[Any, Any, None], str], object]
"""Runs work after the caller went on, tracked so that a shutdown lets it finish (the adapter's `spawn`)."""

PLACEHOLDER_DELAY = 1.5  # seconds without text before a top-level DM reply shows a placeholder
PLACEHOLDER_TEXT = "_Thinking…_"
STATUS_TEXT = "is thinking…"
FOLLOW_UPS_TEXT = "Suggested follow-ups"  # what notifications show of the follow-up buttons' message
UPLOAD_LIMIT = 1024**3  # Slack's largest file; the bridge's own BRIDGE_MAX_FILE_BYTES is usually smaller


class SlackReplySurface(SurfaceExtras):
    """One reply in one Slack thread (or DM); see the module docstring for the choice of methods.

    `assistant_thread`: the reply is in a thread of the app's DM, which Slack's AI-app view shows as an
    assistant thread with a title of its own (slack-bolt counts every such thread as one).
    """

    max_upload_bytes = UPLOAD_LIMIT

    def __init__(
        self,
        client: AsyncWebClient,
        budgets: WorkspaceBudgets,
        place: ReplyPlace,
        *,
        max_chars: int = 12_000,
        native_streaming: bool = True,
        placeholder_delay: float = PLACEHOLDER_DELAY,
        spawn: Spawn | None = None,
        assistant_thread: bool = False,
    ) -> None:
        self.limits = SurfaceLimits(max_chars=max_chars, min_edit_interval=1.0, render=defuse)
        self.place = place
        self.assistant_thread = assistant_thread and place.thread_ts is not None
        self._client = client
        self._budgets = budgets
        self._placeholder_delay = placeholder_delay
        self._spawn = spawn
        self._stream = NativeStream(client, budgets, place, enabled=native_streaming)
        self._updates = PostAndUpdate(client, budgets, place)
        self._shown: dict[str, Shown] = {}
        self._share: Share | None = None  # the reply's place among the workspace's replies in progress
        self._placeholder_ts: str | None = None
        self._started = False
        self._lock = asyncio.Lock()  # the first text and the placeholder: one message, never two
        self.buttons: Callable[[], list[dict[str, Any]]] | None = None
        """The blocks of the finished answer's buttons (the adapter's; [] when there are none). They ride on
        the reply's final writes: a final post or update, the last stream's `chat.stopStream`."""
        self.followups: Callable[[int, list[str]], list[dict[str, Any]]] | None = None
        """The blocks of a turn's follow-up suggestions as buttons (the adapter's; None: not shown)."""
        self.on_first_text: Callable[[], None] | None = None
        """Called once when the reply's first text shows (the adapter offers Stop then)."""
        self._buttons_on: str | None = None  # the message a final write gave the buttons

    async def show_progress(self, activity: str = "") -> None:
        """In a thread: the assistant status ("is thinking…", or "is searching the web…" for that
        `activity`). At a DM's top level: a placeholder message ("_Thinking…_", or the activity) if no text
        came within `placeholder_delay` (the first text then replaces it)."""
        if self.place.thread_ts is not None:
            await self._set_status(f"is {activity[:1].lower()}{activity[1:]}" if activity else STATUS_TEXT)
            return
        await asyncio.sleep(self._placeholder_delay)
        async with self._lock:
            text = f"_{defuse_mrkdwn(activity)}_" if activity else PLACEHOLDER_TEXT
            if self._started:
                return
            if self._placeholder_ts is None:
                self._placeholder_ts = await self._updates.post(text, urgent=False)
            else:
                await self._updates.update(self._placeholder_ts, text, urgent=False)

    async def pace(self, op: Operation, final: bool) -> Grant:
        """A routine edit waits here for the workspace's `Scheduler` and carries the way it chose to `edit`.
        Posts and final edits take their grants when they call."""
        share = self._join()
        if op != "edit" or final or not self._shown:
            return Grant(op, final)
        return Grant(op, final, await self._budgets.scheduler.turn(share))

    async def post(self, text: str, grant: Grant) -> str:
        text = defuse(text)
        async with self._lock:
            self._started = True
            if self._placeholder_ts is not None:
                ts, self._placeholder_ts = self._placeholder_ts, None
                await self._updates.update(ts, text, urgent=grant.final, extra=self._final_blocks(grant, ts))
                self._shown[ts] = Shown(text)
                self._record_show(ts)
                self._first_text_shown()
                return ts
        await self._updates.settle(self._shown)
        previous = self._stream.detach()
        ts = None if grant.final else await self._stream.start(text, acquired=grant.token is Way.START)
        if ts is None:
            extra = self._final_blocks(grant, None)
            ts = await self._updates.post(text, urgent=grant.final, acquired=grant.token is Way.POST, extra=extra)
            self._buttons_on = ts if extra else self._buttons_on
        self._shown[ts] = Shown(text)
        self._record_show(ts)
        self._first_text_shown()
        await self._end_stream(previous)
        return ts

    async def edit(self, message_id: str, text: str, grant: Grant) -> None:
        text = defuse(text)
        shown = self._shown[message_id]
        extends = text.startswith(shown.text)
        if message_id == self._stream.ts:
            if extends and await self._append(text[len(shown.text) :], grant):
                shown.text = text
                self._record_show(message_id)
                return
            await self._stream.stop()  # not an addition; nothing left to stop when Slack closed it
        elif grant.token in (Way.START, Way.POST) and extends:
            raise EditDeferred(Grant("post", False, grant.token))  # the scheduler chose a new message
        await self._updates.edit(message_id, shown, text, grant, extra=self._final_blocks(grant, message_id))
        if shown.owed is None:
            self._record_show(message_id)

    def _final_blocks(self, grant: Grant, ts: str | None) -> list[dict[str, Any]]:
        """The buttons for a final write of message `ts` (None: a new one), noted as given to it."""
        blocks = self.buttons() if grant.final and self.buttons is not None else []
        if blocks and ts is not None:
            self._buttons_on = ts
        return blocks

    def _first_text_shown(self) -> None:
        hook, self.on_first_text = self.on_first_text, None
        if hook is not None:
            hook()

    async def close(self) -> None:
        await self._updates.settle(self._shown)
        if self._share is not None:
            self._budgets.scheduler.leave(self._share)
            self._share = None
        last = next(reversed(self._shown), None)
        streamed = self._stream.detach()
        buttons = self.buttons() if self.buttons is not None and last is not None else []
        if buttons and last != streamed and last != self._buttons_on:
            # The final text needed no write of its own (a routine update had shown it all): one more.
            assert last is not None
            await self._updates.update(last, self._shown[last].text, urgent=True, extra=buttons)
        await self._end_stream(streamed, buttons if streamed == last else None)

    async def _end_stream(self, ts: str | None, blocks: list[dict[str, Any]] | None = None) -> None:
        """Stop the stream of message `ts`, which shows all its text already, adding `blocks` under it: in
        the background when the adapter gave a `spawn`, because replies that finish together wait for the
        Tier 2 stop budget (about 20 a minute) one by one, and the turn need not wait with them."""
        if ts is None:
            return
        if self._spawn is None:
            await self._stream.stop_detached(ts, blocks)
        else:
            self._spawn(self._stream.stop_detached(ts, blocks), f"stop-stream-{ts}")

    def _join(self) -> Share:
        """The reply's share of the workspace's budgets, taken when it first shows something."""
        if self._share is None:
            self._share = self._budgets.scheduler.join(self.place.channel, can_stream=self._stream.enabled)
        return self._share

    def _record_show(self, ts: str) -> None:
        """Message `ts` shows new text: the scheduler learns when, and whether the reply now streams."""
        self._budgets.scheduler.shown(self._join(), native=self._stream.ts is not None and ts == self._stream.ts)

    async def _append(self, delta: str, grant: Grant) -> bool:
        """Append `delta` to the open stream on `grant`; a final text that would wait for the append budget
        while posting has room goes on in a new message instead (`EditDeferred`). False when Slack closed
        the stream."""
        if grant.final and delta:
            await final_grant(self._budgets, self._budgets.append, self.place.channel, may_defer=True)
        acquired = grant.final or grant.token is Way.APPEND
        return await self._stream.append(delta, urgent=grant.final, acquired=acquired)

    async def show_sources(self, sources: list[Source]) -> None:
        """A small grey context line under the answer naming its documents (linked when they have a URL)."""
        text = sources_line(sources)
        await paced(
            self._budgets.channel_post(self.place.channel),
            lambda: self._client.chat_postMessage(
                channel=self.place.channel,
                thread_ts=self.place.thread_ts,
                text=text,
                blocks=[{"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}],
            ),
            urgent=True,
            also=(self._budgets.post,),
        )

    async def show_followups(self, turn_id: int, followups: list[str]) -> None:
        """The suggestions as buttons in a small message of their own under the answer (a native stream's
        message takes no blocks after it stopped, and `chat.update` would have to send the whole answer
        again), on the channel's post budget, behind the text of other replies."""
        if self.followups is None or not followups:
            return
        blocks = self.followups(turn_id, followups)
        await paced(
            self._budgets.channel_post(self.place.channel),
            lambda: self._client.chat_postMessage(
                channel=self.place.channel, thread_ts=self.place.thread_ts, text=FOLLOW_UPS_TEXT, blocks=blocks
            ),
            also=(self._budgets.post,),
        )

    async def post_files(self, files: list[OutgoingFile]) -> None:
        """The files in the reply's thread (or DM), through Slack's external upload (`files_upload_v2`:
        files.getUploadURLExternal, the bytes, files.completeUploadExternal), on the channel's post budget."""
        uploads = [{"content": f.data, "filename": f.name, "title": f.name} for f in files]
        place = {"channel": self.place.channel, **({"thread_ts": self.place.thread_ts} if self.place.thread_ts else {})}
        await paced(
            self._budgets.channel_post(self.place.channel),
            lambda: self._client.files_upload_v2(file_uploads=uploads, **place),
            urgent=True,
            also=(self._budgets.post,),
        )

    async def set_title(self, title: str) -> None:
        """assistant.threads.setTitle in an assistant thread (elsewhere Slack shows no thread title); skipped
        for good in a workspace that refuses it."""
        if not self.assistant_thread or self._budgets.title_unavailable:
            return
        try:
            await paced(
                self._budgets.title,
                lambda: self._client.assistant_threads_setTitle(
                    channel_id=self.place.channel, thread_ts=self.place.thread_ts or "", title=title
                ),
            )
        except SlackApiError as error:
            log.info("assistant thread titles unavailable (%s)", error.response.get("error"))
            self._budgets.title_unavailable = True

    async def _set_status(self, status: str) -> None:
        """assistant.threads.setStatus when the budget has room now (it is only a courtesy), skipped for good
        in a workspace that refuses it."""
        if self._budgets.status_unavailable or not self._budgets.status.try_acquire():
            return
        try:
            await self._client.assistant_threads_setStatus(
                channel_id=self.place.channel, thread_ts=self.place.thread_ts or "", status=status[:100]
            )
        except SlackApiError as error:
            if not is_rate_limited(error):
                log.info("assistant status unavailable (%s); replies show no progress", error.response.get("error"))
                self._budgets.status_unavailable = True


async def tell_user(client: AsyncWebClient, budgets: WorkspaceBudgets, place: ReplyPlace, text: str) -> None:
    """An ephemeral note to the asker only (a refusal, a failure no reply could show)."""
    try:
        await paced(
            budgets.ephemeral,
            lambda: client.chat_postEphemeral(
                channel=place.channel, user=place.user_id, text=defuse_mrkdwn(text), thread_ts=place.thread_ts
            ),
            urgent=True,
        )
    except SlackApiError as error:
        log.warning("could not tell %s: %s", place.user_id, error.response.get("error"))
