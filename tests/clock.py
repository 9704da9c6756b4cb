"""Clocks a test drives, for code that takes a `clock` (`LiveReply`, `RateBudget`, Slack's budgets).

`FakeClock` stands still until the test moves it: for rules about long spans (a message's 50 minutes, a
refused stream's 10 minutes) that a test cannot wait out.
"""

from __future__ import annotations


class FakeClock:
    """A monotonic clock that moves only when `advance` is called; call it to read it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
