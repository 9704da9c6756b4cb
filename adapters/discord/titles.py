"""Naming a thread the bot opened after its chat's OpenWebUI title, within Discord's rename limit.

Discord lets a channel or thread be renamed twice per ten minutes. The limit has no bucket headers: only a
429 with a wait of minutes tells of it, and discord.py then either sleeps that long or gives up. So the bridge
counts its own renames per thread and skips one that would be the third in ten minutes: a title is a
courtesy, never worth a 429 (which also counts toward Discord's ban on invalid requests).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

import discord

from adapters.discord.events import thread_name

log = logging.getLogger(__name__)

RENAMES_PER_WINDOW = 2
RENAME_WINDOW = 600.0


class ThreadRenames:
    """The renames this process made per thread, and the rename itself."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._done: dict[int, deque[float]] = {}

    def may_rename(self, thread_id: int) -> bool:
        """Whether a rename now stays within Discord's two per ten minutes."""
        done = self._done.get(thread_id)
        if done is None:
            return True
        while done and self._clock() - done[0] >= RENAME_WINDOW:
            done.popleft()
        if not done:
            del self._done[thread_id]
        return len(done) < RENAMES_PER_WINDOW

    async def rename(self, thread: discord.Thread, title: str) -> None:
        """Name `thread` after `title` (100 characters at most), unless it has that name or the limit says no."""
        name = thread_name(title, fallback=thread.name)
        if name == thread.name:
            return
        if not self.may_rename(thread.id):
            log.info("thread %s not renamed to its chat's title: two renames in ten minutes already", thread.id)
            return
        self._done.setdefault(thread.id, deque()).append(self._clock())
        try:
            await thread.edit(name=name)
        except (discord.HTTPException, discord.RateLimited) as exc:
            log.warning("could not rename thread %s after its chat's title: %s", thread.id, exc)
