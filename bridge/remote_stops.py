"""A Stop click that reaches a replica which does not run the answer (issue 16: replicas share PostgreSQL).

The platform delivers a click to any replica, while the answer streams on the one that took its turn. When
the answer is not running here but the store has its turn still streaming on another live replica, the click
becomes a row of `stop_requests` addressed to that replica. Each replica, while it runs turns, reads the
requests addressed to it every `POLL_SECONDS` (one query for all its turns) and applies each one to its
`RunningTurns` exactly as a local click: the same rule (the asker or an admin) and the same note on the
answer. It writes the result back; the clicking replica waits up to `ANSWER_SECONDS` for it, so that the
person sees what a local click would have shown ("only the asker…", "already finished", or nothing but the
answer ending). Without an answer in time it says the stop was passed on.

Requests are deleted when their result is read, and any request after `FORGET_SECONDS`. On SQLite (one
process per file) nothing of this runs: every running answer is this process's.
"""

from __future__ import annotations

import asyncio
import logging

from bridge.branching import stop_id_of
from bridge.errors import StoreError
from bridge.stopping import RunningTurns, StopResult
from bridge.store import Store
from bridge.store.replicas import ReplicaStore
from bridge.store.stop_requests import StopRequestStore

log = logging.getLogger(__name__)

POLL_SECONDS = 0.4
"""How often a replica running turns reads the stop requests addressed to it."""

ANSWER_SECONDS = 2.0
"""How long a click waits for the running replica's result (Discord wants an interaction answered in 3 s)."""

FORGET_SECONDS = 60.0
"""Requests older than this are deleted: their clicker gave up waiting long ago."""

_RESULT_POLL_SECONDS = 0.1


class RemoteStops:
    """This replica's side of Stop clicks across replicas: passing a click on, and answering the ones passed
    to it while `running` has turns."""

    def __init__(self, store: Store, running: RunningTurns, replica: str, lease_seconds: float) -> None:
        self._store = store
        self._running = running
        self._replica = replica
        # not `ConversationOrder.live_replicas`, which registers this replica: a click alone must not
        self._replicas = ReplicaStore(store, replica, lease_seconds)
        self._requests = StopRequestStore(store)
        self._shared = store.dialect != "sqlite"
        self._watcher: asyncio.Task[None] | None = None

    async def stop(self, platform: str, question: str, user_id: str, name: str, *, admin: bool) -> StopResult:
        """Stop the answer to `question` wherever it runs, as `RunningTurns.stop` does here."""
        if self._running.runs(platform, question) or not self._shared:
            return self._running.stop(platform, question, user_id, name, admin=admin)
        runner = await self._runner(platform, question)
        if runner is None:
            return StopResult.NOT_RUNNING
        request = await self._requests.add(runner, platform, question, user_id, name, admin=admin)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ANSWER_SECONDS
        while loop.time() < deadline:
            if (result := await self._requests.take_result(request)) is not None:
                return StopResult(result)
            await asyncio.sleep(_RESULT_POLL_SECONDS)
        log.info("stop of %s passed to replica %s, not answered within %.0f s", question, runner, ANSWER_SECONDS)
        return StopResult.REQUESTED

    def watch(self) -> None:
        """A turn began here: read the requests addressed to this replica until no turn runs (shared store only)."""
        if self._shared and (self._watcher is None or self._watcher.done()):
            self._watcher = asyncio.create_task(self._watch(), name="stop-requests")

    async def _runner(self, platform: str, question: str) -> str | None:
        """The live replica, not this one, whose turn answering `question` the store has as streaming."""
        turns = [t for t in await self._store.open_turns(platform) if stop_id_of(t.event_id) == question]
        if not turns or turns[-1].replica in ("", self._replica):
            return None
        return turns[-1].replica if turns[-1].replica in await self._replicas.live() else None

    async def _watch(self) -> None:
        polls = 0
        while True:
            await asyncio.sleep(POLL_SECONDS)
            if not len(self._running):  # checked after the pause: the last turn may have ended meanwhile
                return
            try:
                for request in await self._requests.pending(self._replica):
                    result = self._running.stop(
                        request.platform, request.question, request.user_id, request.user_name, admin=request.admin
                    )
                    log.info("stop of %s requested by another replica: %s", request.question, result.value)
                    await self._requests.answer(request.id, result.value)
                polls += 1
                if polls % int(FORGET_SECONDS / POLL_SECONDS) == 1:
                    await self._requests.forget_older(FORGET_SECONDS)
            except StoreError as exc:
                log.warning("could not read stop requests: %s", exc)
