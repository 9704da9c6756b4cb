"""Who shows new text next: every routine grant of a workspace, spread over all its replies in progress.

Slack's budgets are per workspace and each serves one kind of reply: a reply streamed natively grows by
`chat.appendStream` (Tier 4, about 100 a minute), a posted one by `chat.update` (Tier 3, about 50), and a
posted message can never become a stream: a posted reply streams only in a new message of its own, started
by `chat.startStream` (Tier 2, about 20 a minute). Handed out budget by budget, the few streams took the
whole append budget while the posted replies queued for `chat.update`: at N = 20, two replies showed 22
updates each and eighteen stood still for 20 s.

So one scheduler per workspace hands out every routine grant, in one order for both kinds of reply. Its
clock is the fair share: while replies are in progress, each earns one update per fair interval (the
replies in progress over the `chat.update` and `chat.appendStream` budgets' calls a second). A reply's
*tag* is the share it has had (start-time fair queuing): where the clock stood when it joined, plus one per
routine update since; one that asked for nothing for a while (`IDLE_AFTER`: its model was silent) comes
back level with the reply most behind, not ahead of it. Grants go to the lowest tag a budget can serve,
then to the reply shown longest ago, each as a *way* to show the text:

* `APPEND` to a reply whose newest message is an open stream;
* `UPDATE` of a posted reply's message;
* `START`, when no update is free: a posted reply goes on in a new message that streams (the start budget
  refills slowly, so a reply that could not stream at its first text becomes a stream when a start frees
  up), and grows on the append budget from then on;
* `POST`: a posted reply behind its fair share and still for a while (`DUE`, `STILL`), with no update or
  start free, goes on in a new message on the posting budget, the largest one, when nobody else needs it;
  so does one that holds streams back while the append budget fills up (`UNLOCK_STILL`).

A grant that would take a reply too far ahead of the lowest waiting tag (`LEAD`, `AHEAD`) is not given,
so the streams do not run ahead of the posted replies on the append budget they alone can use: with
few streams (a start budget of 20 a minute makes about ten in a 24-second answer at N = 20) that budget
is spent only as fast as the posted replies move on, by `chat.update`, starts and posts, but for the
appends it would lose when full (`SPILL_LEAD`). First texts and final texts do not come here: they take
their budgets' urgent grants, ahead of every routine one.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adapters.slack.pacing import WorkspaceBudgets

log = logging.getLogger(__name__)

LEAD = 1.0
AHEAD = 0.5
"""After its grant, a reply may be ahead of the reply most behind among those waiting by `LEAD` updates
plus `AHEAD` of those that one has had beyond its first since this reply joined. Counted with their first
and final texts, the replies' updates then stay within 1.5 : 1 however long they run, (1.5 k + 0.5 + 2) /
(k + 2) ≤ 1.5, and within one of each other while the reply most behind has had up to two (issue 15 at
N = 50, where about one update per reply fits in an answer: max − min ≤ 1; see `SPILL_LEAD` for where
appends that would be lost go half an update further)."""
DUE = 0.25
STILL = 0.5
STILL_AT_LEAST = 5.0
"""A posted reply goes on in a new message when it is `DUE` (in updates) behind its fair share and has
shown nothing for `STILL` of the fair interval, and at least `STILL_AT_LEAST` seconds: a new message for a
wait of a second or two would cut the reply for little. Such a post takes only posting room that would
otherwise spill, the workspace's posting budget full but for one grant: replies that started together end
together, and the ends of their final texts go on as posts when `chat.update` is spent (N = 50: some 40
within a second or two); a wave of such posts just before would leave them queueing (completion p50 at
N = 50: 0.2–0.3 s, with half the burst kept 0.8–1.4 s)."""
UNLOCK_BEFORE_FULL = 3.0
UNLOCK_STILL = 3.0
"""Streams held back by `LEAD` and `AHEAD` wait for the posted replies most behind, which only
`chat.update` (50 a minute for the whole workspace), starts and posts can move on. When the append budget
would be full within `UNLOCK_BEFORE_FULL` seconds (from then on its refills are lost) and one posting burst
can lift every posted reply (`_unlocking_pays`), such a posted reply still for `UNLOCK_STILL` goes on in a
new message without being `DUE`: its post lets the streams spend appends nobody else can. At N = 20 that
takes `chat.update` and `chat.appendStream` from about 77 % to 87–88 % of what Slack accepts, the updates
per reply from 7/5 to 10/7, and the messages per reply from 3.3 to 5.2 on average."""
SPILL_LEAD = 0.5
"""Where posts lift the posted replies (`_unlocking_pays`: one posting burst moves them all), an append the
full budget would lose goes to a stream up to `SPILL_LEAD` further ahead than `LEAD` and `AHEAD` allow: half
an update is the room the 1.5 : 1 bound leaves, (1.5 k + 0.5 + 0.5 + 2) / (k + 2) = 1.5, so updates per
reply stay within it. (Within one of each other while the reply most behind has had up to two holds only
where posts cannot lift the posted replies, as at N = 50.) At N = 20 the appends that overflowed while
streams waited for the posts (about 5 in seconds 2 to 9) are partly used: the budgets' use, counted from
the first token, 88.9 % -> 90.1 %; a whole update further used them all (95 %) but could pass 1.5 : 1."""
IDLE_AFTER = 3.0
"""A reply that asks again more than this long after it last showed text was idle (its model silent), not
waiting; one that asks sooner (its own 1 s interval, a slow call) keeps its place."""
LONGEST_NAP = 0.5
SHORTEST_NAP = 0.05
"""Seconds the dispatcher sleeps between two looks at the budgets, at most (they refill continuously) and
at least (a budget's own estimate does not see every rule, such as a channel's posting room)."""


class Way(enum.Enum):
    """How a routine grant shows the reply's new text; the grant's budget is named by its method."""

    APPEND = "chat.appendStream"
    START = "chat.startStream"
    UPDATE = "chat.update"
    POST = "chat.postMessage"


@dataclass(eq=False, slots=True, weakref_slot=True)
class Share:
    """One reply in progress, as the scheduler sees it.

    channel: where it is posted (posting has a budget per channel).
    can_stream: it may start a native stream (it is in a thread, and native streaming is on).
    tag: the fair share it has had, in updates (see the module docstring); `joined`: its tag at the start.
    shown_at: when it last showed new text, by any call.
    native: its newest message is an open stream (it grows by `chat.appendStream`).
    """

    channel: str
    can_stream: bool
    tag: float
    shown_at: float
    joined: float = field(init=False)
    native: bool = False
    waiter: asyncio.Future[Way] | None = None

    def __post_init__(self) -> None:
        self.joined = self.tag

    @property
    def waiting(self) -> bool:
        return self.waiter is not None and not self.waiter.done()


class Scheduler:
    """The routine grants of one workspace's budgets; see the module docstring."""

    def __init__(self, budgets: WorkspaceBudgets, clock: Callable[[], float] = time.monotonic) -> None:
        self._budgets = budgets
        self._clock = clock
        self._shares: weakref.WeakSet[Share] = weakref.WeakSet()  # a turn that died unclosed drops out
        self._fair = 0.0  # the fair-share clock, in updates per reply
        self._stamp = clock()
        self._wake = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None

    def join(self, channel: str, *, can_stream: bool) -> Share:
        """A reply begins to show text: it shares the budgets from now on."""
        self._advance()
        share = Share(channel, can_stream, tag=self._floor(default=self._fair), shown_at=self._clock())
        self._shares.add(share)
        return share

    def leave(self, share: Share) -> None:
        """The reply is complete: it no longer shares the budgets."""
        self._advance()
        self._shares.discard(share)
        self._wake.set()

    def shown(self, share: Share, *, native: bool) -> None:
        """The reply showed new text (by any call, routine or not); `native`: its newest message streams."""
        share.shown_at = self._clock()
        share.native = native
        self._wake.set()

    def replies(self) -> int:
        """Replies in progress: the workspace's demand on its budgets, shared with other replicas."""
        return len(self._shares)

    @property
    def fair_interval(self) -> float:
        """Seconds between two updates of each reply if the budgets were shared evenly (inf: no reply)."""
        rate = self._rate()
        return len(self._shares) / rate if rate else float("inf")

    async def turn(self, share: Share) -> Way:
        """Wait for `share`'s next routine update and return how to show it. For `APPEND`, `START` and
        `UPDATE` the grant is taken from that budget; for `POST` posting had room when it was granted."""
        self._advance()
        if self._clock() - share.shown_at > IDLE_AFTER:  # it asked for nothing for a while: no credit for that
            share.tag = max(share.tag, self._floor(default=share.tag))
        waiter: asyncio.Future[Way] = asyncio.get_running_loop().create_future()
        share.waiter = waiter
        self._wake.set()
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch())
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                log.debug("a %s grant went unused: its reply stopped waiting", waiter.result().value)
            raise
        finally:
            share.waiter = None

    def _floor(self, *, default: float) -> float:
        """The lowest tag among the replies waiting (`default` when none is)."""
        return min((share.tag for share in self._shares if share.waiting), default=default)

    def _rate(self) -> float:
        """The calls a second of the budgets that grow replies in place (appends only where streams can be)."""
        budgets = self._budgets
        streams = budgets.streaming_available and any(share.can_stream for share in self._shares)
        return budgets.update.rate + (budgets.append.rate if streams else 0.0)

    def _advance(self) -> None:
        now = self._clock()
        count = len(self._shares)
        if count:
            self._fair += (now - self._stamp) * self._rate() / count
        self._stamp = now

    async def _dispatch(self) -> None:
        while True:
            self._wake.clear()
            self._advance()
            while self._grant_next():
                pass
            if not any(share.waiting for share in self._shares):
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._nap())

    def _waiting(self) -> tuple[list[Share], float, bool]:
        """The waiting replies in the order grants go (lowest tag, then shown longest ago), the lowest tag,
        and whether posts by the posted replies most behind would unlock appends (`_unlocking_pays`)."""
        waiting = sorted((s for s in self._shares if s.waiting), key=lambda s: (s.tag, s.shown_at))
        floor = waiting[0].tag if waiting else 0.0
        held = any(s.native and not _within_lead(s, floor) for s in waiting)
        return waiting, floor, held and self._unlocking_pays()

    def _unlocking_pays(self) -> bool:
        """With streams held back by `LEAD` and `AHEAD`, whether posts by the posted replies most behind
        would let appends be spent that are otherwise lost: the append budget will be full within
        `UNLOCK_BEFORE_FULL`, and one posting burst can lift every posted reply in progress (only all of
        them together move the lowest tag on). Where it cannot (N = 50: some 40 posted replies against a
        burst of 20), such posts would move a few replies and take the room the ends of final texts need
        when the replies end together."""
        budgets = self._budgets
        filling = budgets.append.capacity - budgets.append.available() <= budgets.append.rate * UNLOCK_BEFORE_FULL
        behind = sum(1 for share in self._shares if not share.native)
        return filling and behind <= budgets.post.capacity

    def _grant_next(self) -> bool:
        """Grant one routine update, to the first waiting reply (lowest tag, then shown longest ago) that a
        budget can serve now and that the grant does not take too far ahead (`LEAD`, `AHEAD`); else an
        append the full budget would lose, to a stream up to `SPILL_LEAD` further ahead; False when none can
        be served."""
        waiting, floor, held = self._waiting()
        for share in waiting:
            if not _within_lead(share, floor):
                continue
            way = self._way_for(share, unlocks=held and share.tag <= floor)
            if way is not None:
                return _grant(share, way)
        if held and self._appends_spill():
            for share in waiting:
                spare = share.native and _within_lead(share, floor, beyond=SPILL_LEAD)
                if spare and self._budgets.append.try_acquire():
                    return _grant(share, Way.APPEND)
        return False

    def _appends_spill(self) -> bool:
        """The append budget is within one grant of full: its refills are about to be lost."""
        append = self._budgets.append
        return append.available() > append.capacity - 1

    def _way_for(self, share: Share, *, unlocks: bool) -> Way | None:
        """The way `share` can show its text now, its grant taken; None when no budget it can use has room.
        `unlocks`: it is among the replies most behind while appends are held back for them (see `_due_in`)."""
        budgets = self._budgets
        if share.native:
            return Way.APPEND if budgets.append.try_acquire() else None
        if budgets.update.try_acquire():
            return Way.UPDATE
        if share.can_stream and budgets.streaming_available and budgets.start.try_acquire():
            return Way.START
        if self._due_in(share, unlocks=False) == 0:
            return Way.POST if budgets.take_spare_post(share.channel, keep=budgets.post.capacity - 1) else None
        if unlocks and self._due_in(share, unlocks=True) == 0 and budgets.take_spare_post(share.channel):
            return Way.POST
        return None

    def _due_in(self, share: Share, *, unlocks: bool) -> float:
        """Seconds until posted `share` may go on in a new message (0: it may now; see `STILL`).

        `unlocks`: streams wait behind `share` (it is among the replies most behind) while the append budget
        fills up. Then `share` need not be behind its fair share, only still for `UNLOCK_STILL`: its post
        lets the streams take appends that would otherwise be lost as the budget refills past its capacity."""
        rate = self._rate() / max(len(self._shares), 1)
        behind = 0.0 if unlocks else (DUE - (self._fair - share.tag)) / rate if rate else float("inf")
        least = UNLOCK_STILL if unlocks else max(STILL * self.fair_interval, STILL_AT_LEAST)
        still = least - (self._clock() - share.shown_at)
        return max(behind, still, 0.0)

    def _nap(self) -> float:
        """Seconds until a budget a waiting reply can use may have room, or a posted reply falls due."""
        budgets = self._budgets
        waiting, floor, held = self._waiting()
        naps = [LONGEST_NAP]
        if any(share.native for share in waiting):
            naps.append(budgets.append.delay())
        posted = [share for share in waiting if not share.native]
        if posted:
            naps += [budgets.update.delay(), budgets.start.delay()]
            due = min(self._due_in(share, unlocks=held and share.tag <= floor) for share in posted)
            naps.append(due or budgets.post.delay())
        return max(min(naps), SHORTEST_NAP)


def _within_lead(share: Share, floor: float, *, beyond: float = 0.0) -> bool:
    """One more grant keeps `share` within `LEAD` and `AHEAD` (and `beyond`) of the lowest waiting tag `floor`."""
    return share.tag + 1 <= floor + LEAD + beyond + AHEAD * max(floor - share.joined - LEAD, 0.0)


def _grant(share: Share, way: Way) -> bool:
    """Give waiting `share` its routine update, shown `way` (its budget's grant already taken)."""
    share.tag += 1
    assert share.waiter is not None
    share.waiter.set_result(way)
    return True
