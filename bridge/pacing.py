"""Rate budgets shared by every reply that streams at once (a Discord channel, a Slack workspace).

A `RateBudget` is a token bucket whose grants go out in order of request, with final edits ahead of
routine ones. Each live reply asks for at most one grant at a time, so a first-come queue gives every
conversation its turn in rotation: the budget is split fairly, and a reply that is finishing never
waits behind others' routine updates. The platform's own answers can correct it (`sync` from rate-limit
headers, `block` after a 429), so the bucket follows the server rather than a guess.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable


class RateBudget:
    """At most `capacity` operations at once, refilled at `rate` per second."""

    def __init__(self, rate: float, capacity: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("a budget needs a positive rate and a capacity of at least 1")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._stamp = clock()
        self._blocked_until = 0.0
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._routine: deque[asyncio.Future[None]] = deque()
        self._dispatcher: asyncio.Task[None] | None = None
        self.granted = 0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def _wait_time(self) -> float:
        """Seconds until one token is available (0: now)."""
        self._refill()
        blocked = self._blocked_until - self._clock()
        missing = (1 - self._tokens) / self.rate if self._tokens < 1 else 0.0
        return max(blocked, missing, 0.0)

    async def acquire(self, urgent: bool = False) -> None:
        """Wait for one operation's turn; `urgent` (a final edit) goes before routine requests."""
        if not self._urgent and not self._routine and self._wait_time() == 0:
            self._take()
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._routine).append(future)
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch())
        try:
            await future
        except asyncio.CancelledError:
            if not future.done() or future.cancelled():
                for queue in (self._urgent, self._routine):
                    if future in queue:
                        queue.remove(future)
            raise

    def try_acquire(self) -> bool:
        """Take a grant only if one is free at once (nobody waiting, a token in the bucket): for work that
        is worth doing now but not worth waiting for, like a routine update when the budget is scarce."""
        if self.waiting or self._wait_time() > 0:
            return False
        self._take()
        return True

    def _take(self) -> None:
        self._tokens -= 1
        self.granted += 1

    async def _dispatch(self) -> None:
        while self._urgent or self._routine:
            delay = self._wait_time()
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            queue = self._urgent if self._urgent else self._routine
            future = queue.popleft()
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

    def block(self, seconds: float) -> None:
        """Grant nothing for `seconds` (after a 429 with Retry-After)."""
        self._blocked_until = max(self._blocked_until, self._clock() + seconds)
        self._tokens = min(self._tokens, 0.0)
