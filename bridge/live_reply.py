"""The platform-agnostic half of streaming: show a growing text through a `ReplySurface`.

The engine calls `update(text)` on every delta, which only stores the newest text; one task per reply
sends it when the reply's edit interval and the platform's budget (`surface.pace`) allow. So an edit
always carries the newest text (never a queue of stale ones), the first text is posted as soon as it
exists, and `finish` ends with the exact final text, ahead of other replies' routine edits.

While the model is still writing, an update shows whole words only (the text up to its last space),
so no half word flickers, and a message the reply has to leave mid-stream ends between two words. A
text longer than the platform's limit is split into several messages by `bridge.splitting`; parts
already shown stay as they are (the split is stable as text is appended) and the reply continues in a
new message. So does a reply whose message is too old to be edited any more (Discord: one hour), and one
whose platform would show an addition sooner as a new message than as an edit (`EditDeferred`). The limit
holds for the text as the platform is sent it (`SurfaceLimits.render`: Slack's escapes add characters),
so the rendered text is what is split.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bridge.splitting import GrowingSplit, fence_state, reassemble
from bridge.surface import EditDeferred, Grant, Operation, ReplySurface

log = logging.getLogger(__name__)

EMPTY_ANSWER = "(the model returned an empty answer)"
LONGEST_WORD = 40
"""An update holds back at most this many characters of an unfinished word; a longer run without spaces
(a URL, text in a script written without spaces) is shown as it is."""


def whole_words(text: str) -> str:
    """`text` up to and including its last whitespace, unless that would hold back more than a word."""
    for index in range(len(text) - 1, max(len(text) - LONGEST_WORD - 1, 0) - 1, -1):
        if text[index].isspace():
            return text[: index + 1]
    return text


@dataclass(slots=True)
class ReplyStats:
    """What this reply cost and when its first text became visible; the engine turns it into metrics."""

    posts: int = 0
    edits: int = 0
    failed_edits: int = 0
    first_visible_at: float | None = None


@dataclass(slots=True)
class _Message:
    id: str
    text: str
    posted_at: float


class LiveReply:
    """One reply being streamed. Use: `start()`, `update(...)` any number of times, then `finish(...)`."""

    def __init__(
        self,
        surface: ReplySurface,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_message: Callable[[list[str]], Awaitable[None]] | None = None,
    ) -> None:
        self._surface = surface
        self._limits = surface.limits
        self._clock = clock
        self.on_message = on_message
        """Awaited with every message id of the reply each time a message is posted (the engine stores them,
        so that a restart after a crash can find and mark the partial answer)."""
        self.heading = ""
        """A line shown above the text (a regenerated answer's "Attempt 2"); set before the first update."""
        self._text = ""
        self._final = False
        self._changed = asyncio.Event()
        self._finishing = asyncio.Event()
        self._messages: list[_Message] = []
        self._frozen = 0  # messages that are never edited again (too old, or their edit failed)
        self._base = 0  # offset in the rendered text where the messages after the frozen ones start
        self._split = GrowingSplit(self._limits.max_chars)  # keeps the parts a longer text cannot change
        self._reopened: tuple[int, str | None] = (0, None)  # `_reopen()` for that base
        self._last_send = float("-inf")
        self._task: asyncio.Task[None] | None = None
        self._progress: asyncio.Task[None] | None = None
        self.stats = ReplyStats()

    @property
    def message_ids(self) -> list[str]:
        return [m.id for m in self._messages]

    def start(self) -> None:
        """Show progress until the first text, and start the sender."""
        if self._progress is None:
            self._progress = asyncio.create_task(self._surface.show_progress())
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._send_loop())

    def announce(self, activity: str) -> None:
        """Show `activity` as the reply's progress until the first text: what the bridge asked OpenWebUI to do
        (API-key turns), or what OpenWebUI says it is doing (its status events, signed-in turns)."""
        if self.stats.first_visible_at is not None or self._final:
            return
        if self._progress is not None:
            self._progress.cancel()
        self._progress = asyncio.create_task(self._surface.show_progress(activity))

    def update(self, text: str) -> None:
        """The whole text so far. Cheap: it is sent later, coalesced with what follows."""
        text = self._headed(text)
        if text != self._text and not self._final:
            self._text = text
            self._changed.set()

    async def finish(self, text: str) -> list[str]:
        """Show the exact final `text` and return the ids of the messages it fills.

        May be called again (a turn interrupted while finishing, or failing, ends with a note): the
        sender restarts. An error the sender died of (a post or edit the platform refused, also one of a
        routine update before this call) is raised here once, so the turn ends through its failure path
        instead of the error being lost when the sender restarts.
        """
        if self._task is not None and self._task.done() and not self._task.cancelled():
            failure = self._task.exception()
            if failure is not None:
                self._task = None
                raise failure
        self.start()
        self._text = self._headed(text if text.strip() else EMPTY_ANSWER)
        self._final = True
        self._finishing.set()
        self._changed.set()
        assert self._task is not None
        try:
            await self._task
        except Exception:
            self._task = None  # reported; the next finish starts a new sender
            raise
        finally:
            await self._stop_progress()
        await self._surface.close()
        return self.message_ids

    def _headed(self, text: str) -> str:
        return f"{self.heading}\n{text}" if self.heading else text

    # --- the sender -----------------------------------------------------------------------------

    async def _send_loop(self) -> None:
        while True:
            await self._changed.wait()
            if self._messages and not self._final:
                await self._wait_interval()
            self._changed.clear()
            await self._show()
            if self._final and self._next_step() is None:
                return

    async def _wait_interval(self) -> None:
        """Keep about `min_edit_interval` between updates; a final text does not wait for it."""
        delay = self._last_send + self._limits.min_edit_interval - self._clock()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._finishing.wait(), delay)

    async def _routine_pace(self, op: Operation) -> Grant | None:
        """Wait for the platform's budget for a routine update, unless the final text arrives first: then
        the wait is abandoned (only the wait, never a call) and None is returned."""
        paced = asyncio.ensure_future(self._surface.pace(op, False))
        finishing = asyncio.ensure_future(self._finishing.wait())
        try:
            await asyncio.wait({paced, finishing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            finishing.cancel()
            if not paced.done():
                paced.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            return await paced
        return None

    def _next_step(self) -> tuple[Operation, int, str, bool] | None:
        """The first post or edit that brings the messages up to the newest text:
        (op, message index, its text, whether that message is the reply's last so far)."""
        self._roll_over_old_message()
        text = self._text if self._final else whole_words(self._text)
        parts = self._parts(self._limits.render(text))
        for index, part in enumerate(parts):
            position = self._frozen + index
            last = index == len(parts) - 1
            if position >= len(self._messages):
                return "post", position, part, last
            if self._messages[position].text != part:
                return "edit", position, part, last
        return None

    async def _show(self) -> None:
        """Send what the newest text needs. Each call waits for the platform's budget first (the grant goes
        with the call) and only then reads the text, so it carries what exists when it goes out, not what
        existed when it queued. A routine update of the last message ends the round (the edit interval
        applies again); parts before it, and a final text, are sent through to the end. A deferred edit's
        grant, if it carries one, goes with the post of the rest."""
        carried: Grant | None = None  # the grant of a deferred edit, for the post that shows the rest
        while (step := self._next_step()) is not None:
            routine = not self._final and step[3]
            if carried is not None and step[0] == "post":
                grant: Grant | None = carried
            else:
                grant = await (self._routine_pace(step[0]) if routine else self._surface.pace(step[0], True))
            carried = None
            if grant is None:
                continue  # the final text arrived while this update waited: it goes first instead
            step = self._next_step()
            if step is None:
                return
            op, position, part, last = step
            if op == "post":
                await self._post(part, grant)
            else:
                try:
                    edited = await self._edit(position, part, grant)
                except EditDeferred as deferred:
                    log.debug("edit of %s deferred; the reply goes on in a new message", self._messages[position].id)
                    self._freeze(position - self._frozen + 1)
                    carried = deferred.grant
                    continue
                if not edited:
                    continue  # refused: the text goes on in a new message
            if last and not self._final:
                return

    def _parts(self, text: str) -> list[str]:
        """The messages of the rendered `text` after the frozen ones."""
        segment = text[self._base :]
        reopen = self._reopen(text)
        if reopen:
            segment = f"{reopen}\n{segment}"
        return self._split.parts(segment)

    def _roll_over_old_message(self) -> None:
        """Freeze the newest message when it is about to become too old to edit."""
        if len(self._messages) > self._frozen and (
            self._clock() - self._messages[-1].posted_at >= self._limits.max_message_age
        ):
            self._freeze(len(self._messages) - self._frozen)

    def _freeze(self, consumed: int) -> None:
        """Never edit the current messages again; the text after the first `consumed` of them goes on
        in new messages (a refused message's text is shown again, a too-old one's is not)."""
        texts = [m.text for m in self._messages[self._frozen : self._frozen + consumed]]
        if texts:
            joined = reassemble(texts)
            reopen = self._reopen(self._limits.render(self._text))
            if reopen:
                joined = joined.removeprefix(reopen + "\n")
            self._base += len(joined)
        self._frozen = len(self._messages)

    def _reopen(self, rendered: str) -> str | None:
        """The code fence open where the current segment of the `rendered` text starts, which its first
        message must reopen (read once per segment: the text before it never changes)."""
        if self._reopened[0] != self._base:
            self._reopened = (self._base, fence_state(rendered[: self._base]))
        return self._reopened[1]

    async def _post(self, text: str, grant: Grant) -> None:
        message_id = await self._surface.post(text, grant)
        now = self._clock()
        self._last_send = now
        self._messages.append(_Message(message_id, text, now))
        self.stats.posts += 1
        if self.stats.first_visible_at is None:
            self.stats.first_visible_at = now
            await self._stop_progress()
        if self.on_message:
            await self.on_message(self.message_ids)

    async def _edit(self, position: int, text: str, grant: Grant) -> bool:
        """Edit one message; False when the platform refused (message deleted, too old to edit): the reply
        goes on in a new message, which shows its text again. `EditDeferred` (the platform keeps what the
        message shows and only the rest moves) goes through to the caller."""
        message = self._messages[position]
        # The interval counts from the start of the call: a platform client may wait inside it for its
        # rate-limit window, and that wait is part of the interval, not added to it.
        self._last_send = self._clock()
        try:
            await self._surface.edit(message.id, text, grant)
        except EditDeferred:
            raise
        except Exception as exc:
            log.warning("edit of message %s failed (%s); continuing in a new message", message.id, exc)
            self.stats.failed_edits += 1
            self._freeze(position - self._frozen)
            return False
        message.text = text
        self.stats.edits += 1
        return True

    async def _stop_progress(self) -> None:
        if self._progress and not self._progress.done():
            self._progress.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._progress
