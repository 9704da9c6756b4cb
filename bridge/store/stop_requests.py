"""The `stop_requests` table (`migrations/*/0007_stop_requests.sql`): Stop clicks passed to the replica that
runs the answer (`bridge.remote_stops` decides when).

On the store's connection and thread (`Store._run`), as `bridge.store.replicas`. A request is one row: the
clicking replica adds it and later reads its `result` and deletes it; the running replica reads the pending
rows addressed to it, all in one query, and writes each one's result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bridge.store.store import Store


@dataclass(frozen=True, slots=True)
class StopRequest:
    id: int
    platform: str
    question: str
    user_id: str
    user_name: str
    admin: bool


class StopRequestStore:
    """Async access to `stop_requests`."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def add(
        self, replica: str, platform: str, question: str, user_id: str, user_name: str, *, admin: bool
    ) -> int:
        """Ask `replica` to stop the answer to `question`; the request's id."""
        sql = self._store._sql

        def write() -> int:
            with sql.transaction():
                cursor = sql.execute(
                    "INSERT INTO stop_requests (platform, question, user_id, user_name, admin, replica, requested_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (platform, question, user_id, user_name, int(admin), replica, time.time()),
                )
                return int(cursor.fetchone()[0])

        return await self._store._run(write)

    async def pending(self, replica: str) -> list[StopRequest]:
        """The requests addressed to `replica` that it has not answered yet, oldest first."""
        rows = await self._store._run(
            lambda: self._store._sql.execute(
                "SELECT id, platform, question, user_id, user_name, admin FROM stop_requests "
                "WHERE replica = ? AND result IS NULL ORDER BY id",
                (replica,),
            ).fetchall()
        )
        return [StopRequest(int(r[0]), r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]

    async def answer(self, request: int, result: str) -> None:
        """The running replica's answer to `request` (a `bridge.stopping.StopResult` value)."""
        await self._store._run(
            lambda: self._store._write("UPDATE stop_requests SET result = ? WHERE id = ?", (result, request))
        )

    async def take_result(self, request: int) -> str | None:
        """The answer to `request` once there is one; the answered request is deleted with its reading."""
        sql = self._store._sql

        def write() -> str | None:
            with sql.transaction():
                row = sql.execute(
                    "DELETE FROM stop_requests WHERE id = ? AND result IS NOT NULL RETURNING result", (request,)
                ).fetchone()
            return None if row is None else str(row[0])

        return await self._store._run(write)

    async def forget_older(self, seconds: float) -> int:
        """Delete requests older than `seconds` (nobody waits for them any more); how many."""
        return await self._store._run(
            lambda: (
                self._store._write(
                    "DELETE FROM stop_requests WHERE requested_at < ?", (time.time() - seconds,)
                ).rowcount
            )
        )
