"""One turn at a time per conversation, in arrival order, across every replica sharing the database.

A message's conversation is taken in two steps. Inside one process, an asyncio wait: a message waits for
the ones of its conversation that reached this process before it, without touching the database. Then, in
the database (`bridge.store.replicas`): the message was queued when it arrived (its entry's id is the
arrival order across replicas), and its turn comes when its entry is the oldest one of a live replica in
the conversation and the conversation's lease is free or expired; it takes the lease, runs, and deletes
both at the end, also when it fails or is cancelled. Only a message that another replica is ahead of polls
(every `POLL_SECONDS`); on SQLite (one process) the first try always succeeds.

Liveness is a heartbeat: while this replica has a message queued or running, a task writes its row's
`seen_at` and extends its leases every third of the lease (`BRIDGE_LEASE_SECONDS`). One heartbeat per
replica renews all its leases at once, rather than one per turn. A replica killed mid-turn stops beating:
after the lease its entries and lease block nobody, and the engine closes its open turn as interrupted
(`Engine.recover`). A replica that is idle does not beat either: it has nothing anyone could wait for.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bridge.messages import ConversationKey
from bridge.store import Store
from bridge.store.replicas import ReplicaStore, Take

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05
"""How often a message asks the database whether its turn has come, while another replica is ahead."""


@dataclass(slots=True)
class Place:
    """One message's place in its conversation's queue (`entry`: the arrival order), and whether its turn
    here is over."""

    key: ConversationKey
    event_id: str
    entry: int
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def __lt__(self, other: Place) -> bool:
        return self.entry < other.entry


class ConversationOrder:
    """This replica's side of the per-conversation order; `replica` must be unique among running replicas."""

    def __init__(self, store: Store, replica: str, lease_seconds: float) -> None:
        self.replica = replica
        self.lease_seconds = lease_seconds
        self._db = ReplicaStore(store, replica, lease_seconds)
        self._alone = store.dialect == "sqlite"  # one process per SQLite file
        self._registered = False
        self._registering = asyncio.Lock()  # the first turns may arrive together
        self._local: dict[ConversationKey, list[Place]] = {}
        self._places = 0
        self._heartbeat: asyncio.Task[None] | None = None
        self._leftovers: list[tuple[int, str]] = []  # (entry, conversation) whose release failed

    def __len__(self) -> int:
        """Conversations with a message queued or running here."""
        return len(self._local)

    async def arrive(self, key: ConversationKey, event_id: str, *, claim: str | None = None) -> Place | None:
        """Queue `event_id` in `key`'s conversation now; with `claim` (its platform) only when the event is
        new (`ReplicaStore.enter`): None for a duplicate. Take the turn with `turn` at once."""
        await self._register()
        await self._release_leftovers()
        conversation = conversation_id(key)
        entering = asyncio.ensure_future(self._db.enter(conversation, event_id, claim=claim))
        try:
            entry = await asyncio.shield(entering)
        except asyncio.CancelledError:  # an entry nobody here waits for would block the conversation
            with contextlib.suppress(Exception):
                if (landed := await entering) is not None:
                    await self._db.release(landed, conversation)
            raise
        if entry is None:
            return None
        place = Place(key, event_id, entry)
        bisect.insort(self._local.setdefault(key, []), place)
        self._count(+1)
        return place

    @asynccontextmanager
    async def turn(self, place: Place) -> AsyncIterator[None]:
        """Wait for `place`'s turn and hold it inside the block; its place is given up at the end, whatever
        happens."""
        waiting = self._local[place.key]
        conversation = conversation_id(place.key)
        try:
            for earlier in [p for p in waiting if p.entry < place.entry]:
                await earlier.done.wait()
            await self._take(place, conversation)
            yield
        finally:
            place.done.set()
            waiting.remove(place)
            if not waiting:
                del self._local[place.key]
            self._count(-1)
            await self._release(place.entry, conversation)

    async def live_replicas(self) -> set[str]:
        """The replicas whose turns nobody may close (on SQLite, only this one)."""
        await self._register()
        return {self.replica} if self._alone else await self._db.live()

    async def forget_dead(self) -> None:
        removed = await self._db.forget_dead()
        if removed:
            log.info("forgot %d replica(s) not seen for %.0f s", removed, self.lease_seconds)

    async def close(self) -> None:
        """A clean stop: other replicas need not wait for this one's lease to expire."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        if self._registered:
            await self._db.retire()

    async def _register(self) -> None:
        async with self._registering:
            if not self._registered:
                await self._db.register(alone=self._alone)
                self._registered = True

    async def _release(self, entry: int, conversation: str) -> None:
        """Give the turn up; when the database fails, the answer already shown stays a success, and the
        release is tried again with this replica's next message or heartbeat (meanwhile this live replica's
        entry holds its conversation)."""
        try:
            await self._db.release(entry, conversation)
        except Exception as exc:
            log.error("could not give up the turn in %s (tried again later): %s", conversation, exc)
            self._leftovers.append((entry, conversation))

    async def _release_leftovers(self) -> None:
        while self._leftovers:
            entry, conversation = self._leftovers[0]
            await self._db.release(entry, conversation)
            self._leftovers.pop(0)

    async def _take(self, place: Place, conversation: str) -> None:
        while (taken := await self._db.take(place.entry, conversation)) is not Take.TAKEN:
            if taken is Take.GONE:  # this replica was taken for dead (a long pause) and its entry removed
                log.warning("queue entry of %s in %s was dropped; queuing it again", place.event_id, conversation)
                place.entry = await self._db.enter(conversation, place.event_id)  # type: ignore[assignment]
            await asyncio.sleep(POLL_SECONDS)

    def _count(self, change: int) -> None:
        """Beat while anything is queued or running here, and only then."""
        self._places += change
        if self._places and self._heartbeat is None:
            self._heartbeat = asyncio.create_task(self._beat(), name="replica-heartbeat")
        elif not self._places and self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                await self._db.heartbeat()
                await self._release_leftovers()
            except Exception as exc:  # the database is away: others may take this replica for dead
                log.warning("replica heartbeat failed: %s", exc)


def conversation_id(key: ConversationKey) -> str:
    """The conversation's one text id in the queue and lease tables."""
    return json.dumps([key.platform, key.workspace, key.channel, key.thread])
