"""Work in progress: background tasks that are never lost, and ending them within a grace period."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Coroutine
from typing import Any

log = logging.getLogger(__name__)

CLEAN_UP_SECONDS = 15.0
"""How long a cancelled task may take to close its turn (a visible note, a write to OpenWebUI)."""


async def finish_or_cancel(tasks: Collection[asyncio.Task[Any]], grace: float) -> int:
    """Wait up to `grace` seconds for `tasks`, cancel those still running, wait for their clean-up.

    Returns how many had to be cancelled.
    """
    if not tasks:
        return 0
    _, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=CLEAN_UP_SECONDS)
    return len(pending)


class BackgroundTasks:
    """The tasks an adapter starts for its events (a turn, a command), so that a listener returns at once.

    Every failure is logged with its task's name (a lost exception is a lost answer), and `drain` gives
    what runs a grace period at shutdown, then cancels the rest so each can show its note.
    """

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, object], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: %s failed", self.owner, task.get_name(), exc_info=task.exception())

    async def drain(self, grace: float) -> int:
        """Wait up to `grace` seconds for every task, cancel the rest; returns how many were cancelled."""
        if self._tasks:
            log.info("%s: waiting up to %.0f s for %d task(s)", self.owner, grace, len(self._tasks))
        return await finish_or_cancel(set(self._tasks), grace)

    def __len__(self) -> int:
        return len(self._tasks)
