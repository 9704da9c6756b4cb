"""`SlackReplySurface`: one reply in Slack, streamed natively where Slack allows it, else posted and edited.

The core's `LiveReply` hands over whole texts (the reply so far); this surface turns them into Slack calls:

* The first text starts a native stream (`chat.startStream` in the thread, with the asker as recipient)
  when the workspace's Tier 2 start budget has a grant free *now*; a reply that would have to wait for
  one is posted with `chat.postMessage` instead and grows by `chat.update` (Tier 3). When many replies
  start at once the start budget (20/min) runs out first; waiting for it would delay their first words
  by many seconds, so they take the path that is free. A top-level DM reply is always posted: a stream
  needs a thread.
* A new text that extends the streamed one appends only the difference (`chat.appendStream`, Tier 4).
  Anything else (the splitter moved a cut back, Slack closed the stream with
  `message_not_in_streaming_state`) stops the stream and continues with `chat.update` on the same
  message: a `markdown` block with the whole text (12,000 characters) and a short `text` fallback
  (`chat.update` refuses `text` near 4,000 characters).
* A reply whose final text is ready posts it directly: a stream would cost a start and a stop.
* Every call draws on the workspace's shared budgets (`pacing`), and a 429 waits for `Retry-After`
  and sends the same text again.
* A routine edit waits for its grant (`chat.update`, or `chat.appendStream` for a stream) in `pace`,
  before `LiveReply` picks its text, so it carries the newest one. Grants go first to the reply that
  has shown the fewest texts, then to the one shown longest ago: the scarce Tier 3 budget goes round
  the replies evenly however their timing lines up with its refill. One grant of each is kept back
  from routine edits for a final text.
* A final edit goes ahead of every routine one. When it only adds text and `chat.update` could not
  show it soon (replies streaming at once finish together, and Tier 3 gives about one edit a second to
  all of them) while posting has room to spare, the edit is deferred (`EditDeferred`): the rest of the
  reply comes as a new message in the thread, cut between two words. Only spare room: a reply still
  waiting for its first text needs a post more than another needs its end.
* A routine edit that finds it needs an ungranted `chat.update` (a stream Slack closed) sends only if
  the budget is free now; otherwise its text is owed, and sent before the reply moves on to a new
  message and when it closes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.pacing import WorkspaceBudgets, is_rate_limited, paced, retry_after
from adapters.slack.place import ReplyPlace
from adapters.slack.text import defuse, escape, fallback_text, markdown_blocks
from bridge.metrics import METRICS
from bridge.surface import EditDeferred, Grant, Operation, Source, SurfaceLimits

log = logging.getLogger(__name__)

DEFER_AFTER = 0.5  # seconds a final addition may wait for chat.update before a new message is considered
DEFER_POLL = 0.25  # seconds between two looks at the budgets while a final text waits
PLACEHOLDER_DELAY = 1.5  # seconds without text before a top-level DM reply shows a placeholder
PLACEHOLDER_TEXT = "_Thinking…_"
STATUS_TEXT = "is thinking…"


@dataclass(slots=True)
class _Shown:
    """A message of this reply: the text Slack shows, since when, and a newer one still owed to it (a
    skipped edit)."""

    text: str
    streaming: bool
    owed: str | None = None
    at: float = field(default_factory=time.monotonic)
    shown: int = 1  # texts it has shown

    def show(self, text: str) -> None:
        self.text = text
        self.at = time.monotonic()
        self.shown += 1


class SlackReplySurface:
    """One reply in one Slack thread (or DM); see the module docstring for the choice of methods."""

    def __init__(
        self,
        client: AsyncWebClient,
        budgets: WorkspaceBudgets,
        place: ReplyPlace,
        *,
        max_chars: int = 12_000,
        native_streaming: bool = True,
        placeholder_delay: float = PLACEHOLDER_DELAY,
    ) -> None:
        self.limits = SurfaceLimits(max_chars=max_chars, min_edit_interval=1.0)
        self._client = client
        self._budgets = budgets
        self.place = place
        self._native_streaming = native_streaming
        self._placeholder_delay = placeholder_delay
        self._shown: dict[str, _Shown] = {}
        self._stream_ts: str | None = None
        self._placeholder_ts: str | None = None
        self._started = False
        self._lock = asyncio.Lock()

    # --- ReplySurface ---------------------------------------------------------------------------

    async def show_progress(self) -> None:
        """In a thread: the assistant status ("is thinking…"). At a DM's top level: a placeholder message
        if no text came within `placeholder_delay` (the first text then replaces it)."""
        if self.place.thread_ts is not None:
            await self._set_status()
            return
        await asyncio.sleep(self._placeholder_delay)
        async with self._lock:
            if self._started:
                return
            self._placeholder_ts = await self._post_message(PLACEHOLDER_TEXT, urgent=False)

    async def pace(self, op: Operation, final: bool) -> Grant:
        """A routine edit waits here for its grant (chat.appendStream for a stream, chat.update otherwise)
        and carries it to `edit`: first the replies that have shown the fewest texts, then those whose text
        was shown longest ago. Posts and final edits take theirs when they call."""
        newest = next(reversed(self._shown.values()), None)
        if op != "edit" or final or newest is None:
            return Grant(op, final)
        budget = self._budgets.append if newest.streaming else self._budgets.update
        shown = sum(message.shown for message in self._shown.values())
        await budget.acquire(priority=(shown, newest.at))
        return Grant(op, final, budget)

    async def post(self, text: str, grant: Grant) -> str:
        text = defuse(text)
        async with self._lock:
            self._started = True
            if self._placeholder_ts is not None:
                ts, self._placeholder_ts = self._placeholder_ts, None
                await self._update(ts, text, urgent=grant.final)
                self._shown[ts] = _Shown(text, streaming=False)
                return ts
        await self._settle()
        await self._end_stream()
        ts = await self._start_stream(text) if not grant.final and self._may_stream() else None
        if ts is None:
            ts = await self._post_message(text, urgent=grant.final)
        return ts

    async def edit(self, message_id: str, text: str, grant: Grant) -> None:
        text = defuse(text)
        shown = self._shown[message_id]
        if shown.streaming and text.startswith(shown.text):
            delta = text[len(shown.text) :]
            if await self._append(message_id, delta, urgent=grant.final, acquired=grant.token is self._budgets.append):
                shown.show(text)
                return
        elif shown.streaming:
            await self._end_stream()
        granted = grant.token is self._budgets.update
        if grant.final:
            await self._final_grant(may_defer=shown.owed is None and text.startswith(shown.text))
            granted = True
        elif not granted:
            granted = self._budgets.update.try_acquire()
            if not granted:
                shown.owed = text  # `_settle` pays what is owed
                return
        shown.owed = None
        await self._update(message_id, text, urgent=grant.final, acquired=granted)
        shown.show(text)

    async def close(self) -> None:
        await self._settle()
        await self._end_stream()

    async def show_sources(self, sources: list[Source]) -> None:
        """A small grey context line under the answer naming its documents (linked when they have a URL)."""
        names = [f"<{s.url}|{escape(s.name)}>" if s.url else escape(s.name) for s in sources]
        text = "Sources: " + ", ".join(names)
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

    # --- Slack calls ----------------------------------------------------------------------------

    async def _final_grant(self, *, may_defer: bool) -> None:
        """Take a chat.update grant for a final text, or raise `EditDeferred` to show an addition as a new
        message: when the grant is more than `DEFER_AFTER` away and posting has room to spare (a reply
        still waiting for its first text needs the post budget more than this one needs its end)."""
        update = self._budgets.update
        while not update.try_acquire(urgent=True):
            delay = update.delay(urgent=True)
            if may_defer and delay > DEFER_AFTER and self._posting_is_spare():
                raise EditDeferred
            await asyncio.sleep(min(delay, DEFER_POLL))

    def _posting_is_spare(self) -> bool:
        """Nobody is waiting to post in this workspace or channel, and both budgets have a grant now."""
        return self._budgets.post.delay() == 0 and self._budgets.channel_post(self.place.channel).delay() == 0

    def _may_stream(self) -> bool:
        """Stream only in a thread, where Slack allows it, with a start free now (and, the caller sees to it,
        only a reply still growing)."""
        return (
            self._native_streaming
            and self.place.thread_ts is not None
            and self._budgets.streaming_available
            and self._budgets.start.try_acquire()
        )

    async def _start_stream(self, text: str) -> str | None:
        """chat.startStream with the first text; None when Slack refuses (the caller posts instead)."""
        try:
            response = await self._client.chat_startStream(
                channel=self.place.channel,
                thread_ts=self.place.thread_ts,
                recipient_team_id=self.place.team_id,
                recipient_user_id=self.place.user_id,
                markdown_text=text,
            )
        except SlackApiError as error:
            if is_rate_limited(error):
                METRICS.rate_limited.labels("slack").inc()
                self._budgets.start.block(retry_after(error))
            else:
                log.warning("Slack refused a native stream (%s); posting and editing instead", error.response["error"])
                self._budgets.refuse_streaming()
            return None
        ts = str(response["ts"])
        self._stream_ts = ts
        self._shown[ts] = _Shown(text, streaming=True)
        return ts

    async def _append(self, ts: str, delta: str, *, urgent: bool, acquired: bool) -> bool:
        """chat.appendStream; False when Slack has closed the stream (the caller updates instead)."""
        if not delta:
            return True
        try:
            await paced(
                self._budgets.append,
                lambda: self._client.chat_appendStream(channel=self.place.channel, ts=ts, markdown_text=delta),
                urgent=urgent,
                acquired=acquired,
            )
        except SlackApiError as error:
            if is_rate_limited(error):
                raise
            log.info("stream %s closed by Slack (%s); continuing with chat.update", ts, error.response["error"])
            self._forget_stream(ts)
            return False
        return True

    async def _end_stream(self) -> None:
        """chat.stopStream on the open stream, if any; a stream Slack already closed needs nothing."""
        ts = self._stream_ts
        if ts is None:
            return
        self._forget_stream(ts)
        try:
            await paced(
                self._budgets.stop,
                lambda: self._client.chat_stopStream(channel=self.place.channel, ts=ts),
                urgent=True,
            )
        except SlackApiError as error:
            if error.response.get("error") != "message_not_in_streaming_state":
                log.warning("could not stop stream %s: %s", ts, error.response.get("error"))

    def _forget_stream(self, ts: str) -> None:
        self._shown[ts].streaming = False
        if self._stream_ts == ts:
            self._stream_ts = None

    async def _post_message(self, text: str, *, urgent: bool) -> str:
        response = await paced(
            self._budgets.channel_post(self.place.channel),
            lambda: self._client.chat_postMessage(
                channel=self.place.channel,
                thread_ts=self.place.thread_ts,
                text=fallback_text(text),
                blocks=markdown_blocks(text),
            ),
            urgent=urgent,
            also=(self._budgets.post,),
        )
        ts = str(response["ts"])
        self._shown[ts] = _Shown(text, streaming=False)
        return ts

    async def _update(self, ts: str, text: str, *, urgent: bool, acquired: bool = False) -> None:
        await paced(
            self._budgets.update,
            lambda: self._client.chat_update(
                channel=self.place.channel, ts=ts, text=fallback_text(text), blocks=markdown_blocks(text)
            ),
            urgent=urgent,
            acquired=acquired,
        )

    async def _settle(self) -> None:
        """Show the texts of skipped routine edits that no later edit replaced (before a new part, at the end)."""
        for ts, shown in self._shown.items():
            if shown.owed is not None:
                text, shown.owed = shown.owed, None
                await self._update(ts, text, urgent=True)
                shown.show(text)

    async def _set_status(self) -> None:
        """assistant.threads.setStatus when the budget has room now (it is only a courtesy), skipped for good
        in a workspace that refuses it."""
        if self._budgets.status_unavailable or not self._budgets.status.try_acquire():
            return
        try:
            await self._client.assistant_threads_setStatus(
                channel_id=self.place.channel, thread_ts=self.place.thread_ts or "", status=STATUS_TEXT
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
                channel=place.channel, user=place.user_id, text=text, thread_ts=place.thread_ts
            ),
            urgent=True,
        )
    except SlackApiError as error:
        log.warning("could not tell %s: %s", place.user_id, error.response.get("error"))
