"""The simulator's clocks and Discord snowflake ids.

Two clocks on purpose: rate-limit windows run on the real monotonic clock because discord.py really sleeps
on the headers it gets, while message ages (the one-hour edit limit) and interaction-token lifetimes run on
a *simulated* wall clock that a test can push forward without waiting an hour.
"""

from __future__ import annotations

import datetime
import time

DISCORD_EPOCH_MS = 1_420_070_400_000


class SimClock:
    """Real time plus an offset that tests advance; ``monotonic()`` stays real for recording."""

    def __init__(self) -> None:
        self._offset = 0.0

    def advance(self, seconds: float) -> None:
        """Pretend ``seconds`` have passed for message ages and token lifetimes."""
        self._offset += seconds

    def wall(self) -> float:
        """Simulated epoch seconds."""
        return time.time() + self._offset

    @staticmethod
    def monotonic() -> float:
        """Real ``time.monotonic()``, comparable with the test's and the bridge's own readings."""
        return time.monotonic()

    def iso(self, wall: float | None = None) -> str:
        """ISO-8601 timestamp as Discord writes it (``2024-01-01T00:00:00.000000+00:00``)."""
        moment = self.wall() if wall is None else wall
        return datetime.datetime.fromtimestamp(moment, datetime.UTC).isoformat()


class Snowflakes:
    """Strictly increasing snowflakes whose embedded time is the simulated wall clock.

    discord.py derives ``created_at`` from ids, so ids must carry a believable timestamp.
    """

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self._last = 0

    def next(self) -> int:
        """A new id, later than every id handed out before."""
        ms = int(self._clock.wall() * 1000) - DISCORD_EPOCH_MS
        candidate = ms << 22
        self._last = max(self._last + 1, candidate)
        return self._last
