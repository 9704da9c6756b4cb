"""Stopping an answer while it streams: which turns run now, and who may stop them.

A Stop button names the question it answers (the platform's id of the person's message, the turn's
`event_id`), because the button is on the answer's first message before the turn has a row of its own. Only
this process's running turns are here: a click that reaches another replica is passed on to the one that
runs the answer (`bridge.remote_stops`). After a restart they are gone (and were closed as interrupted), so
a Stop click then answers that the answer has already finished.

Stopping does not cancel the turn's task: only the reading of the completion stream ends (its HTTP request
is closed, so OpenWebUI and the model stop too), and the turn goes on as an answer that ended early: the
partial text is shown with a note saying who stopped it and written into the OpenWebUI chat as the answer,
and the reply's pacing shares are given back when it finishes, at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any


class StopResult(enum.Enum):
    STOPPED = "stopped"
    NOT_YOURS = "not_yours"  # neither the asker nor an admin
    NOT_RUNNING = "not_running"  # finished, or run by an earlier process
    REQUESTED = "requested"  # passed to the replica that runs it, which has not answered yet


@dataclass(slots=True)
class StopSignal:
    """One running turn's stop request: set once, by `by` (a display name)."""

    asker_id: str
    requested: asyncio.Event = field(default_factory=asyncio.Event)
    by: str = ""
    turn_id: int | None = None  # the turn's row once it has one: what the finished answer's buttons name

    async def until_stopped(self, work: Coroutine[Any, Any, None]) -> bool:
        """Run `work` (reading the answer stream) until it ends or a stop is requested; True when stopped.

        `work` runs in a task of its own so that a stop cancels only it: its `aclosing` closes the stream,
        and what it had read stays where it put it. Its errors are raised here; cancelling the caller
        cancels it too.
        """
        reading = asyncio.ensure_future(work)
        stopping = asyncio.ensure_future(self.requested.wait())
        try:
            await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not reading.done():
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reading
        if reading.cancelled():
            return True
        reading.result()  # the stream's own error, if it failed
        return False


class RunningTurns:
    """The stop signals of the turns this process is answering, by (platform, question id)."""

    def __init__(self) -> None:
        self._signals: dict[tuple[str, str], StopSignal] = {}

    @contextlib.contextmanager
    def track(self, platform: str, question: str, asker_id: str) -> Iterator[StopSignal]:
        """The turn answering `question` runs within this block; a Stop click finds it meanwhile."""
        signal = StopSignal(asker_id)
        self._signals[(platform, question)] = signal
        try:
            yield signal
        finally:
            if self._signals.get((platform, question)) is signal:
                del self._signals[(platform, question)]

    def __len__(self) -> int:
        """How many turns are running, on every platform."""
        return len(self._signals)

    def runs(self, platform: str, question: str) -> bool:
        """Whether the answer to `question` is being answered here (stopped or not)."""
        return (platform, question) in self._signals

    def count(self, platform: str) -> int:
        """How many turns are running on `platform`."""
        return sum(1 for where, _ in self._signals if where == platform)

    def turn_id(self, platform: str, question: str) -> int | None:
        """The row of the running turn answering `question`, once it has one."""
        signal = self._signals.get((platform, question))
        return signal.turn_id if signal is not None else None

    def stop(self, platform: str, question: str, user_id: str, name: str, *, admin: bool) -> StopResult:
        """Stop the answer to `question` if it is still streaming and `user_id` asked it (or is an admin)."""
        signal = self._signals.get((platform, question))
        if signal is None or signal.requested.is_set():
            return StopResult.NOT_RUNNING
        if user_id != signal.asker_id and not admin:
            return StopResult.NOT_YOURS
        signal.by = name
        signal.requested.set()
        return StopResult.STOPPED
