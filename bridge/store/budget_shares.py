"""The `budget_shares` table on PostgreSQL: where replicas publish their demand per rate budget
(`bridge.shared_budgets`).

It has a connection of its own, asynchronous on the event loop, not the store's thread: an exchange every
half second must not queue behind a turn's statements, nor a turn behind it. Time is the server's clock
(`clock_timestamp()`), so replicas on machines whose clocks differ agree on which rows are live. Replicas
exchange one at a time (a transaction-scoped advisory lock): one reads the others' shares and writes its
own before the next reads, which is what keeps the shares in force within the whole budget.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import psycopg

from bridge.shared_budgets import Row, Seen
from bridge.store.backends import redact

FORGET_AFTER = 60.0
"""Seconds after which a dead replica's rows are deleted (they stopped counting after the TTL already)."""

_NOW = "EXTRACT(EPOCH FROM clock_timestamp())"


class PostgresBudgetShares:
    """`bridge.shared_budgets.BudgetShares` on one PostgreSQL connection, opened again after it is lost."""

    kind = "postgresql"

    def __init__(self, url: str, *, connect_timeout: float = 5.0) -> None:
        self._url = url
        self._timeout = max(1, round(connect_timeout))
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def _live(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, connect_timeout=self._timeout, application_name="openwebui-bridge-budgets"
            )
        return self._conn

    async def exchange(
        self, replica: str, names: list[str], ttl: float, decide: Callable[[Seen], Mapping[str, Row]]
    ) -> None:
        """In one transaction under an advisory lock, so that replicas exchange one at a time: read the others'
        live rows, write this replica's (and drop rows long dead)."""
        try:
            conn = await self._live()
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_EXCHANGE_LOCK,))
                cursor = await conn.execute(
                    "SELECT budget, replica, demand, share FROM budget_shares "
                    f"WHERE budget = ANY(%s) AND replica <> %s AND seen_at >= {_NOW} - %s",
                    (names, replica, ttl),
                )
                seen: Seen = {}
                for budget, other, demand, share in await cursor.fetchall():
                    seen.setdefault(budget, {})[other] = Row(float(demand), float(share))
                mine = decide(seen)
                await conn.execute(_WRITE.format(rows=", ".join([_ROW] * len(mine))), _params(replica, mine))
        except psycopg.Error as exc:
            await self.close()  # opened again at the next exchange
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ConnectionError(f"the database at {redact(self._url)}: {reason}") from exc

    async def withdraw(self, replica: str) -> None:
        conn = await self._live()
        await conn.execute("DELETE FROM budget_shares WHERE replica = %s", (replica,))

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


_EXCHANGE_LOCK = 0x0B0D6E7
_ROW = f"(%s, %s, %s, %s, {_NOW})"
_WRITE = (
    "WITH gone AS (DELETE FROM budget_shares WHERE seen_at < " + _NOW + " - " + str(FORGET_AFTER) + ") "
    "INSERT INTO budget_shares (budget, replica, demand, share, seen_at) VALUES {rows} "
    "ON CONFLICT (budget, replica) DO UPDATE SET demand = EXCLUDED.demand, share = EXCLUDED.share, "
    "seen_at = EXCLUDED.seen_at"
)


def _params(replica: str, rows: Mapping[str, Row]) -> list[Any]:
    return [value for name, row in rows.items() for value in (name, replica, row.demand, row.share)]
