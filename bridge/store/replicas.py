"""The replica tables (`migrations/*/0005_replicas.sql`): heartbeats, each conversation's queue and its lease.

Kept apart from `Store`'s conversation tables but on the same connection and thread (`Store._run`). Every
decision that two replicas could race for is one statement or one transaction here: taking a lease is an
upsert guarded by its expiry, so exactly one replica gets it. `bridge.conversation_order` decides when to ask.
"""

from __future__ import annotations

import enum
import time

from bridge.store.store import Store


class Take(enum.Enum):
    TAKEN = "taken"  # the entry holds its conversation's lease: its turn may run
    WAITING = "waiting"  # an older live entry, or a live lease, is ahead of it
    GONE = "gone"  # the entry was removed (its replica was taken for dead): enter again


_LIVE_QUEUE_HEAD = (
    "SELECT q.id FROM conversation_queue q JOIN replicas r ON r.id = q.replica "
    "WHERE q.conversation = ? AND r.seen_at >= ? ORDER BY q.id LIMIT 1"
)

_TAKE_LEASE = (
    "INSERT INTO conversation_leases (conversation, replica, entry, expires_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (conversation) DO UPDATE SET replica = excluded.replica, entry = excluded.entry, "
    "expires_at = excluded.expires_at WHERE conversation_leases.expires_at < ? "
    "OR conversation_leases.entry = excluded.entry RETURNING entry"
)


class ReplicaStore:
    """Async access to `replicas`, `conversation_queue` and `conversation_leases`; `ttl` is the lease in
    seconds (`BRIDGE_LEASE_SECONDS`): a replica not seen for that long is dead."""

    def __init__(self, store: Store, replica: str, ttl: float) -> None:
        self._store = store
        self.replica = replica
        self.ttl = ttl

    async def register(self, *, alone: bool) -> None:
        """Start as a live replica, dropping what an earlier process with the same id left queued or held
        (it is gone: ids are unique among running replicas). `alone` (SQLite: one process per file) drops
        every other replica's rows too, so that what a crashed predecessor left blocks nothing."""
        sql = self._store._sql
        others = "" if alone else " WHERE replica = ?"
        params = () if alone else (self.replica,)

        def write() -> None:
            now = time.time()
            with sql.transaction():
                sql.execute(f"DELETE FROM conversation_queue{others}", params)
                sql.execute(f"DELETE FROM conversation_leases{others}", params)
                if alone:
                    sql.execute("DELETE FROM replicas")
                sql.execute(
                    "INSERT INTO replicas (id, started_at, seen_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE "
                    "SET started_at = excluded.started_at, seen_at = excluded.seen_at",
                    (self.replica, now, now),
                )

        await self._store._run(write)

    async def enter(self, conversation: str, event_id: str, *, claim: str | None = None) -> int | None:
        """Queue `event_id` in `conversation` (arrival order: the entry's id); the replica is seen now.

        With `claim` (a platform), the event is claimed in the same transaction (`Store.claim_event`), so
        that its place in the queue is fixed the moment it is known to be new; None when it is a duplicate.
        """
        store = self._store

        def write() -> int | None:
            now = time.time()
            with store._sql.transaction():
                if claim is not None and not store._claim(claim, event_id):
                    return None
                self._seen(now)
                cursor = store._sql.execute(
                    "INSERT INTO conversation_queue (conversation, event_id, replica, arrived_at) "
                    "VALUES (?, ?, ?, ?) RETURNING id",
                    (conversation, event_id, self.replica, now),
                )
                return int(cursor.fetchone()[0])

        return await store._run(write)

    async def take(self, entry: int, conversation: str) -> Take:
        """Take the conversation's lease for `entry` if it is the oldest entry of a live replica there and the
        lease is free, expired or already its own."""
        sql = self._store._sql

        def write() -> Take:
            now = time.time()
            with sql.transaction():
                head = sql.execute(_LIVE_QUEUE_HEAD, (conversation, now - self.ttl)).fetchone()
                if head is None or int(head[0]) != entry:
                    exists = sql.execute("SELECT 1 FROM conversation_queue WHERE id = ?", (entry,)).fetchone()
                    return Take.WAITING if exists else Take.GONE
                taken = sql.execute(_TAKE_LEASE, (conversation, self.replica, entry, now + self.ttl, now)).fetchone()
                return Take.TAKEN if taken else Take.WAITING

        return await self._store._run(write)

    async def release(self, entry: int, conversation: str) -> None:
        """The turn ended (or its wait was given up): the next entry may go."""
        sql = self._store._sql

        def write() -> None:
            with sql.transaction():
                sql.execute(
                    "DELETE FROM conversation_leases WHERE conversation = ? AND entry = ?", (conversation, entry)
                )
                sql.execute("DELETE FROM conversation_queue WHERE id = ?", (entry,))

        await self._store._run(write)

    async def heartbeat(self) -> None:
        """This replica is alive: its row is seen now and the leases it holds last another `ttl`."""
        sql = self._store._sql

        def write() -> None:
            now = time.time()
            with sql.transaction():
                self._seen(now)
                sql.execute(
                    "UPDATE conversation_leases SET expires_at = ? WHERE replica = ?", (now + self.ttl, self.replica)
                )

        await self._store._run(write)

    async def live(self) -> set[str]:
        """The ids of the replicas seen within `ttl`."""
        rows = await self._store._run(
            lambda: self._store._sql.execute(
                "SELECT id FROM replicas WHERE seen_at >= ?", (time.time() - self.ttl,)
            ).fetchall()
        )
        return {str(row[0]) for row in rows}

    async def forget_dead(self) -> int:
        """Drop the rows of replicas not seen for `ttl`, with their queue entries and expired leases; returns
        how many replicas. (They already block nobody: this keeps the tables small.)"""
        sql = self._store._sql

        def write() -> int:
            now = time.time()
            dead = "SELECT id FROM replicas WHERE seen_at < ?"
            with sql.transaction():
                sql.execute(f"DELETE FROM conversation_queue WHERE replica IN ({dead})", (now - self.ttl,))
                sql.execute("DELETE FROM conversation_leases WHERE expires_at < ?", (now,))
                return sql.execute("DELETE FROM replicas WHERE seen_at < ?", (now - self.ttl,)).rowcount

        return await self._store._run(write)

    async def retire(self) -> None:
        """A clean stop: this replica's rows go at once instead of after `ttl`."""
        sql = self._store._sql

        def write() -> None:
            with sql.transaction():
                for table in ("conversation_queue", "conversation_leases"):
                    sql.execute(f"DELETE FROM {table} WHERE replica = ?", (self.replica,))
                sql.execute("DELETE FROM replicas WHERE id = ?", (self.replica,))

        await self._store._run(write)

    def _seen(self, now: float) -> None:
        """Upsert this replica's heartbeat (inside a transaction of the store's thread)."""
        self._store._sql.execute(
            "INSERT INTO replicas (id, started_at, seen_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE "
            "SET seen_at = excluded.seen_at",
            (self.replica, now, now),
        )
