"""Clocks a test drives, for code that takes a `clock` (`LiveReply`, `RateBudget`, the Discord gates,
Slack's budgets), so that no ordinary test depends on how fast a shared machine runs.

* `FakeClock` stands still until the test moves it: for rules about long spans (a message's 50 minutes,
  a refused stream's 10 minutes) that a test cannot wait out.
* `in_virtual_time` runs an async test on an event loop whose clock jumps to the next timer whenever
  every task waits: `asyncio.sleep`, `wait_for` timeouts and the code's own `clock=loop.time` all read
  that virtual time. A test then asserts which grant or edit happened before which, and how many, exactly,
  however loaded the machine is. Only for tests without real I/O: a socket read would see time fly past.
"""

from __future__ import annotations

import asyncio
import functools
import selectors
from collections.abc import Callable, Coroutine
from typing import Any

MIN_STEP = 1e-9
"""The smallest step of virtual time (a real monotonic clock's resolution)."""


class FakeClock:
    """A monotonic clock that moves only when `advance` is called; call it to read it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class _JumpingSelector(selectors.DefaultSelector):
    """Polls without blocking; where the loop would sleep until its next timer, moves the clock there."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            raise RuntimeError("virtual time: every task waits and no timer is set, so nothing can ever run")
        self.now += timeout
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop on virtual time: it starts at 0 and only moves to the next scheduled timer."""

    def __init__(self) -> None:
        self._jumping = _JumpingSelector()
        super().__init__(self._jumping)

    def time(self) -> float:
        return self._jumping.now

    def call_at(self, when: float, callback: Callable[..., object], *args: Any, context: Any = None) -> Any:
        """A timer lies at least `MIN_STEP` ahead. Code that sleeps "until a token is back" may compute a
        wait below a float's precision at the current time; on a real clock time moves on regardless, here
        the timer would fire at the same instant again and again."""
        return super().call_at(max(when, self.time() + MIN_STEP), callback, *args, context=context)


def in_virtual_time(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run the async test `test` on a `VirtualTimeLoop` (pytest sees a plain function; parameters pass through)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        loop = VirtualTimeLoop()
        try:
            loop.run_until_complete(test(*args, **kwargs))
        finally:  # as asyncio.run ends: what the test left running (a budget's dispatcher) is cancelled
            loop.run_until_complete(_cancel(asyncio.all_tasks(loop)))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    return run


async def _cancel(tasks: set[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def loop_clock() -> Callable[[], float]:
    """The running loop's clock, to pass as `clock=`: virtual time under `in_virtual_time`."""
    return asyncio.get_running_loop().time
