"""`SlackReplySurface`: one reply in Slack, streamed natively where Slack allows it, else posted and edited.

The core's `LiveReply` hands over whole texts (the reply so far); this surface keeps what each message of
the reply shows and picks the path for each text. The paths are modules of their own:

* `stream`: the first text starts a native stream when the reply may stream now; a new text that extends
  the streamed one appends only the difference. Anything else (the splitter moved a cut back, Slack
  closed the stream) stops the stream and continues with `chat.update` on the same message.
* `updates`: every other reply is posted and grows by `chat.update`; a final text goes first, and may go
  on in a new message when `chat.update` is busy (`EditDeferred`). A reply whose final text is ready is
  posted directly: a stream would cost a start and a stop.
* `text`: what a text looks like in Slack (a `markdown` block, a short fallback, broadcasts defused).

A routine edit waits for its grant (`chat.appendStream` for a stream, `chat.update` otherwise) in `pace`,
before `LiveReply` picks its text, so it carries the newest one, and the grant goes with the call. Grants
go first to the reply that has shown the fewest texts, then to the one shown longest ago: the scarce
Tier 3 budget goes round the replies evenly however their timing lines up with its refill. Every call
draws on the workspace's shared budgets (`pacing`), and a 429 waits for `Retry-After` and sends the same
text again.
"""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.pacing import WorkspaceBudgets, is_rate_limited, paced
from adapters.slack.place import ReplyPlace
from adapters.slack.stream import NativeStream
from adapters.slack.text import defuse, defuse_mrkdwn, sources_line
from adapters.slack.updates import PostAndUpdate, Shown
from bridge.surface import Grant, Operation, Source, SurfaceLimits

log = logging.getLogger(__name__)

PLACEHOLDER_DELAY = 1.5  # seconds without text before a top-level DM reply shows a placeholder
PLACEHOLDER_TEXT = "_Thinking…_"
STATUS_TEXT = "is thinking…"


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
        self.limits = SurfaceLimits(max_chars=max_chars, min_edit_interval=1.0, render=defuse)
        self.place = place
        self._client = client
        self._budgets = budgets
        self._placeholder_delay = placeholder_delay
        self._stream = NativeStream(client, budgets, place, enabled=native_streaming)
        self._updates = PostAndUpdate(client, budgets, place)
        self._shown: dict[str, Shown] = {}
        self._placeholder_ts: str | None = None
        self._started = False
        self._lock = asyncio.Lock()  # the first text and the placeholder: one message, never two

    async def show_progress(self) -> None:
        """In a thread: the assistant status ("is thinking…"). At a DM's top level: a placeholder message
        if no text came within `placeholder_delay` (the first text then replaces it)."""
        if self.place.thread_ts is not None:
            await self._set_status()
            return
        await asyncio.sleep(self._placeholder_delay)
        async with self._lock:
            if not self._started:
                self._placeholder_ts = await self._updates.post(PLACEHOLDER_TEXT, urgent=False)

    async def pace(self, op: Operation, final: bool) -> Grant:
        """A routine edit waits here for its grant (chat.appendStream for a stream, chat.update otherwise)
        and carries it to `edit`: first the replies that have shown the fewest texts, then those whose text
        was shown longest ago. Posts and final edits take theirs when they call."""
        if op != "edit" or final or not self._shown:
            return Grant(op, final)
        newest_ts, newest = next(reversed(self._shown.items()))
        budget = self._budgets.append if newest_ts == self._stream.ts else self._budgets.update
        shown = sum(message.shown for message in self._shown.values())
        await budget.acquire(priority=(shown, newest.at))
        return Grant(op, final, budget)

    async def post(self, text: str, grant: Grant) -> str:
        text = defuse(text)
        async with self._lock:
            self._started = True
            if self._placeholder_ts is not None:
                ts, self._placeholder_ts = self._placeholder_ts, None
                await self._updates.update(ts, text, urgent=grant.final)
                self._shown[ts] = Shown(text)
                return ts
        await self._updates.settle(self._shown)
        await self._stream.stop()
        ts = None if grant.final else await self._stream.start(text)
        if ts is None:
            ts = await self._updates.post(text, urgent=grant.final)
        self._shown[ts] = Shown(text)
        return ts

    async def edit(self, message_id: str, text: str, grant: Grant) -> None:
        text = defuse(text)
        shown = self._shown[message_id]
        if message_id == self._stream.ts:
            appended = text.startswith(shown.text) and await self._stream.append(
                text[len(shown.text) :], urgent=grant.final, acquired=grant.token is self._budgets.append
            )
            if appended:
                shown.show(text)
                return
            await self._stream.stop()  # not an addition; nothing left to stop when Slack closed it
        await self._updates.edit(message_id, shown, text, grant)

    async def close(self) -> None:
        await self._updates.settle(self._shown)
        await self._stream.stop()

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
                channel=place.channel, user=place.user_id, text=defuse_mrkdwn(text), thread_ts=place.thread_ts
            ),
            urgent=True,
        )
    except SlackApiError as error:
        log.warning("could not tell %s: %s", place.user_id, error.response.get("error"))
