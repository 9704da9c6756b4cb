"""Rate budgets shared by every reply that streams at once (a Discord channel, a Slack workspace).

A `RateBudget` is a token bucket whose grants go out in order of request, with final edits ahead of
routine ones. Each live reply asks for at most one grant at a time, so a first-come queue gives every
conversation its turn in rotation: the budget is split fairly, and a reply that is finishing never
waits behind others' routine updates. A routine request may carry a `priority` instead (lower goes
first): a scarce budget handed to the reply with the fewest updates, then the one shown longest ago,
evens out replies whose requests would otherwise line up with the refill. The platform's own answers
can correct the bucket (`sync` from rate-limit headers, `block` after a 429), so it follows the server
rather than a guess. Where several processes share one platform limit, each budget grants only its
process's `fraction` of it (`bridge.shared_budgets` sets it).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections import deque
from collections.abc import Callable

Priority = tuple[float, ...]


class RateBudget:
    """At most `capacity` operations at once, refilled at `rate` per second. `reserve` tokens are kept
    back from routine requests, so that a final text finds one at once instead of a refill away.

    `peak`, when set, also caps the grants in any one second. A bucket alone allows `capacity + rate` in
    a second, so keeping that under a server's per-second limit means a small capacity, and a small
    capacity loses tokens whenever a busy event loop wakes the dispatcher late; with `peak` the bucket
    keeps a capacity that absorbs late wake-ups and the count per second still never passes `peak`.
    """

    def __init__(
        self,
        rate: float,
        capacity: float,
        *,
        reserve: int = 0,
        peak: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or capacity < 1 + reserve or reserve < 0 or (peak is not None and peak < capacity):
            raise ValueError("a budget needs a positive rate, a capacity of at least 1 beyond its reserve and a peak")
        self.rate = rate
        self.capacity = capacity
        self.reserve = reserve
        self.peak = peak
        self._whole = (rate, capacity, peak)  # the platform's figures for one process alone
        self.fraction = 1.0
        """This process's part of the platform's limit (below 1 while other replicas share it)."""
        self._recent: deque[float] = deque()  # grant times within the last second, when `peak` is set
        self._clock = clock
        self._tokens = capacity
        self._stamp = clock()
        self._blocked_until = 0.0
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._routine: list[tuple[Priority, int, asyncio.Future[None]]] = []  # a heap: (priority, arrival, grant)
        self._arrivals = itertools.count()
        self._dispatcher: asyncio.Task[None] | None = None
        self.granted = 0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def _wait_time(self, urgent: bool) -> float:
        """Seconds until a token is available to an urgent or a routine request (0: now)."""
        self._refill()
        blocked = self._blocked_until - self._clock()
        needed = 1 if urgent else 1 + self.reserve
        missing = (needed - self._tokens) / self.rate if self._tokens < needed else 0.0
        return max(blocked, missing, self._peak_wait(), 0.0)

    def _peak_wait(self) -> float:
        """Seconds until one more grant fits in the last second's `peak`."""
        if self.peak is None:
            return 0.0
        now = self._clock()
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        return self._recent[0] + 1.0 - now if len(self._recent) >= self.peak else 0.0

    async def acquire(self, urgent: bool = False, *, priority: Priority | None = None) -> None:
        """Wait for one operation's turn; `urgent` (a final edit) goes before routine requests, and routine
        requests go in order of `priority` (compared as tuples, lower first; by default the time of asking:
        first come, first served)."""
        if not self._urgent and (urgent or not self._routine) and self._wait_time(urgent) == 0:
            self._take()
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if urgent:
            self._urgent.append(future)
        else:
            rank = (self._clock(),) if priority is None else priority
            heapq.heappush(self._routine, (rank, next(self._arrivals), future))
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch())
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._tokens = min(self.capacity, self._tokens + 1)  # granted as the waiter gave up: unused
                self.granted -= 1
                if self._recent:
                    self._recent.pop()  # the newest grant time stands for this one: the count is what matters
            else:
                self._forget(future)
            raise

    def _forget(self, future: asyncio.Future[None]) -> None:
        if future in self._urgent:
            self._urgent.remove(future)
            return
        for index, (_, _, waiting) in enumerate(self._routine):
            if waiting is future:
                self._routine.pop(index)
                heapq.heapify(self._routine)
                return

    def try_acquire(self, urgent: bool = False) -> bool:
        """Take a grant only if one is free at once (a token in the bucket, and nobody waiting who would go
        first: for `urgent`, no other urgent request): for work that is worth doing now but not worth waiting
        for, like a routine update when the budget is scarce."""
        ahead = len(self._urgent) if urgent else self.waiting
        if ahead or self._wait_time(urgent) > 0:
            return False
        self._take()
        return True

    def available(self) -> float:
        """The grants it holds now, a fraction of one included (and the reserve); at `capacity` its refills
        are being lost."""
        self._refill()
        return self._tokens

    def delay(self, urgent: bool = False) -> float:
        """About how long a request made now would wait: until a token, plus the requests that go first."""
        ahead = len(self._urgent) if urgent else self.waiting
        return self._wait_time(urgent) + ahead / self.rate

    def _take(self) -> None:
        self._tokens -= 1
        self.granted += 1
        if self.peak is not None:
            self._recent.append(self._clock())

    async def _dispatch(self) -> None:
        while self._urgent or self._routine:
            delay = self._wait_time(bool(self._urgent))
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            future = self._urgent.popleft() if self._urgent else heapq.heappop(self._routine)[2]
            if future.done():
                continue
            self._take()
            future.set_result(None)

    @property
    def waiting(self) -> int:
        return len(self._urgent) + len(self._routine)

    def sync(self, remaining: int, reset_after: float) -> None:
        """Correct the bucket from the server's rate-limit headers (remaining calls, seconds to reset)."""
        self._refill()
        if remaining < self._tokens:
            self._tokens = float(remaining)
        if remaining <= 0:
            self.block(reset_after)

    def retune(self, rate: float, peak: int | None) -> None:
        """Grant at `rate` per second (and at most `peak` in any second) from now on, for a server that turned out
        to allow less than it said, or allows its usual again; tokens already earned are kept. Both are the
        figures for the whole platform limit: this process grants its `fraction` of them."""
        if rate <= 0 or (peak is not None and peak < self._whole[1]):
            raise ValueError("a budget needs a positive rate and a peak of at least its capacity")
        self._whole = (rate, self._whole[1], peak)
        self._resize()

    def share(self, fraction: float) -> None:
        """Grant `fraction` (0 < fraction ≤ 1) of the platform's limit from now on: rate, capacity and peak
        shrink together, so the replicas' bursts add up to the platform's as their rates do. The capacity
        keeps at least one grant beyond the reserve, so a first text on a replica with a small share goes
        out at once."""
        if not 0 < fraction <= 1:
            raise ValueError("a share is a fraction of the whole budget, above 0 and at most 1")
        if fraction != self.fraction:
            self.fraction = fraction
            self._resize()

    def _resize(self) -> None:
        self._refill()
        rate, capacity, peak = self._whole
        self.rate = rate * self.fraction
        self.capacity = max(capacity * self.fraction, 1 + self.reserve)
        self.peak = None if peak is None else max(math.floor(peak * self.fraction), math.ceil(self.capacity))
        self._tokens = min(self._tokens, self.capacity)
        if self._dispatcher is not None and not self._dispatcher.done():
            # it may be asleep for a wait worked out at the old rate (long, for a small share): start over
            self._dispatcher.cancel()
            self._dispatcher = asyncio.create_task(self._dispatch())

    def lower_burst(self) -> None:
        """The platform refused a call this budget had room for: it allows fewer at once than this budget
        does (a limit it does not announce). Half as many grants at once from now on, never less than one
        beyond the reserve; the rate stays, as it is the documented one. Halving finds a burst of any size
        in a few refusals, and a burst too small costs little: the rate is what a busy budget lives on."""
        rate, capacity, peak = self._whole
        self._whole = (rate, max(capacity / 2, 1 + self.reserve), peak)
        self._resize()

    def block(self, seconds: float) -> None:
        """Grant nothing for `seconds` (after a 429 with Retry-After)."""
        self._blocked_until = max(self._blocked_until, self._clock() + seconds)
        self._tokens = min(self._tokens, 0.0)
