"""Gates: one Discord budget each, granting calls first come, first served, with urgent calls (final texts, new
messages) ahead of routine updates.

* `BucketGate` is a bucket Discord announces: `X-RateLimit-*` headers say what is left in a fixed window.
* `SharedGate` is a budget Discord does not announce, learned from a 429 (`hidden_limits`): no header says
  when its window began, so it allows at most `limit` calls in *any* `window` seconds, which keeps under a
  fixed window wherever that window lies. A call counts from its answer, not its grant, so a request that
  waited in discord.py or on the wire cannot land in a window the gate thought was over.

Both keep the last call of their budget for an urgent call, until shortly before a call frees up: a final
text then waits that long at most, and a reply editing once a second still gets its updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Iterable

_WAKE_MARGIN = 0.05  # seconds after a window's reset before the next call, for clock rounding and latency
_NEW_WINDOW = 0.25  # seconds an answer's reset may lie past ours before it is taken for a new window
LAST_CALL_HORIZON = 1.0  # seconds before a bucket's window resets from which a routine call may take its last call
SHARED_LAST_CALL_HORIZON = 0.25
"""The same for a shared gate: its calls free up one at a time, so a short horizon costs a reply no updates and a
final text waits at most this long."""
ANSWER_WITHIN = 10.0
"""Seconds after its grant by which a call is taken as answered (a grant never used, a request still queued)."""
_ANSWER_LOG = 16  # answer times a bucket remembers: more than any window of Discord's holds


class _Gate:
    """The queue every gate shares: `acquire` waits for the first place and for `_wait_time` to be 0."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._urgent: deque[object] = deque()
        self._routine: deque[object] = deque()
        self._changed = asyncio.Event()

    async def acquire(self, urgent: bool = False) -> None:
        """Wait until this gate has a call left for us, then take it."""
        ticket = object()
        queue = self._urgent if urgent else self._routine
        queue.append(ticket)
        try:
            while True:
                first = self._urgent[0] if self._urgent else self._routine[0]
                wait = self._wait_time(urgent) if first is ticket else None
                if wait == 0:
                    self._take()
                    return
                changed = self._changed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), wait)
        finally:
            queue.remove(ticket)
            self._notify()

    @property
    def waiting(self) -> bool:
        return bool(self._urgent or self._routine)

    def give_back(self) -> None:
        """Return a call taken but not made (the request was abandoned before it went out)."""
        raise NotImplementedError

    def _wait_time(self, urgent: bool) -> float:
        raise NotImplementedError

    def _take(self) -> None:
        raise NotImplementedError

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()


class BucketGate(_Gate):
    """One Discord rate-limit bucket: `limit` calls per window, `remaining` in the window ending at `reset_at`.

    Before the first answer it assumes Discord's observed 5 calls per 5 s; every answer corrects it.
    """

    def __init__(self, limit: int = 5, window: float = 5.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock)
        self.limit = limit
        self.window = window
        self.remaining = limit
        self.reset_at: float | None = None
        self.granted = 0
        self._answered_at: deque[float] = deque(maxlen=_ANSWER_LOG)

    @property
    def idle(self) -> bool:
        """Nobody waits and the window is over: the gate can be forgotten."""
        return not self.waiting and self._wait_time(True) == 0 and self.reset_at is None

    def answered(self) -> None:
        """A call of this bucket was answered (not refused)."""
        self._answered_at.append(self._clock())

    def answered_since(self, since: float) -> list[float]:
        """When this bucket's calls were answered from `since` on: what a hidden budget learned later counts.
        (An answer, not a grant: a call reaches Discord after its grant, at the latest when it is answered.)"""
        return [at for at in self._answered_at if at >= since]

    def observe(self, limit: int, remaining: int, reset_after: float) -> None:
        """Correct the gate from one answer's headers."""
        now = self._clock()
        if remaining == limit - 1:
            self.window = reset_after  # the call that opened a window tells how long windows last
        self.limit = limit
        reset_at = now + reset_after
        if self.reset_at is not None and reset_at > self.reset_at + _NEW_WINDOW:
            # A call sent just before our reset reached Discord just after its own: the answer speaks of a
            # window that began after ours, and what is left in it is what it says, not the old window's 0.
            self.remaining = remaining
        else:
            self.remaining = min(self.remaining, remaining)
        self.reset_at = reset_at
        self._notify()

    def give_back(self) -> None:
        if self.remaining < self.limit:
            self.remaining += 1
            self.granted -= 1
            self._notify()

    def exhausted(self, retry_after: float) -> None:
        """A 429: nothing more until `retry_after` seconds have passed."""
        self.remaining = 0
        self.reset_at = self._clock() + retry_after
        self._notify()

    def _wait_time(self, urgent: bool) -> float:
        """Seconds until a call may go. A routine call leaves the window's last call to a final text, which
        would otherwise wait for the next window (up to five seconds) behind routine updates, until the
        window's last `LAST_CALL_HORIZON` seconds: a final text then waits that long at most, and one reply
        editing once a second still gets every call of the window."""
        now = self._clock()
        if self.reset_at is not None and now >= self.reset_at:
            self.remaining, self.reset_at = self.limit, None
        reset = self.reset_at if self.reset_at is not None else now
        if self.remaining > 1 or (self.remaining == 1 and (urgent or self.limit < 2)):
            return 0.0
        if self.remaining == 1:
            return max(0.0, reset - LAST_CALL_HORIZON - now)
        return reset - now + _WAKE_MARGIN

    def _take(self) -> None:
        self.remaining -= 1
        self.granted += 1
        if self.reset_at is None:
            self.reset_at = self._clock() + self.window


class SharedGate(_Gate):
    """A budget no header announces: at most `limit` calls in any `window` seconds.

    Each call is remembered from its grant; while unanswered (`in_flight`) it counts as made now, and its
    answer (`answered`) fixes when it was made. Calls made before the gate existed are passed as `made`.
    """

    def __init__(
        self, limit: int, window: float, *, made: Iterable[float] = (), clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(clock)
        self.limit = limit
        self.window = window
        self._made = sorted(made)
        self._in_flight: deque[float] = deque()  # grant times of calls not answered yet, oldest first
        self._blocked_until = 0.0

    @property
    def idle(self) -> bool:
        """Nobody waits and no call counts any more: the gate can be forgotten."""
        return not self.waiting and not self._counted()

    def answered(self) -> None:
        """A call on this budget was answered (also one this gate did not grant): it counts from now on."""
        if self._in_flight:
            self._in_flight.popleft()
        self._made.append(self._clock())
        self._notify()

    def refused(self, retry_after: float) -> None:
        """A 429 from this budget: nothing for `retry_after` seconds, and discord.py sends the refused call again
        then (the call stays in flight until that answer; one this gate did not grant is added)."""
        now = self._clock()
        self._blocked_until = max(self._blocked_until, now + retry_after)
        if not self._in_flight:
            self._in_flight.append(now)
        self._notify()

    def give_back(self) -> None:
        if self._in_flight:
            self._in_flight.pop()
            self._notify()

    def _counted(self) -> list[float]:
        """When each call still counting was made, oldest first; a call in flight counts as made now."""
        now = self._clock()
        self._made = [at for at in self._made if at + self.window > now]
        while self._in_flight and self._in_flight[0] + ANSWER_WITHIN <= now:
            self._made.append(self._in_flight.popleft() + ANSWER_WITHIN)
        self._made.sort()
        return self._made + [now] * len(self._in_flight)

    def _wait_time(self, urgent: bool) -> float:
        """Seconds until one more call keeps every `window` within `limit`. A routine call also leaves the last
        call to an urgent one, until `SHARED_LAST_CALL_HORIZON` before a call frees up."""
        now = self._clock()
        counted = self._counted()
        blocked = self._blocked_until - now + (_WAKE_MARGIN if self._blocked_until > now else 0.0)

        def until_at_most(calls: int) -> float:
            """Seconds until no more than `calls` calls count."""
            surplus = len(counted) - calls
            return 0.0 if surplus <= 0 else counted[surplus - 1] + self.window - now + _WAKE_MARGIN

        wait = until_at_most(self.limit - 1)
        if not urgent and self.limit > 1:
            wait = max(wait, until_at_most(self.limit - 2) - SHARED_LAST_CALL_HORIZON)
        return max(0.0, blocked, wait)

    def _take(self) -> None:
        self._in_flight.append(self._clock())
