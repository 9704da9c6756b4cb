"""Ending work in progress: give tasks a grace period, then cancel the rest and let them clean up."""

from __future__ import annotations

import asyncio
from collections.abc import Collection

CLEAN_UP_SECONDS = 15.0
"""How long a cancelled task may take to close its turn (a visible note, a write to OpenWebUI)."""


async def finish_or_cancel(tasks: Collection[asyncio.Task[object]], grace: float) -> int:
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
