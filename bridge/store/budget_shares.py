"""The `budget_shares` table on PostgreSQL: where replicas publish their demand per rate budget
(`bridge.shared_budgets`).

It has a connection of its own, asynchronous on the event loop, not the store's thread: an exchange every
half second must not queue behind a turn's statements, nor a turn behind it. Time is the server's clock
(`clock_timestamp()`), so replicas on machines whose clocks differ agree on which rows are live. One
statement per exchange: write this replica's rows, drop rows long dead, read the live rows of the
budgets it has.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg

from bridge.shared_budgets import Demands
from bridge.store.backends import redact

FORGET_AFTER = 60.0
"""Seconds after which a dead replica's rows are deleted (they stopped counting after the TTL already)."""

_NOW = "EXTRACT(EPOCH FROM clock_timestamp())"


class PostgresBudgetShares:
    """`bridge.shared_budgets.BudgetShares` on one PostgreSQL connection, opened again after it is lost."""

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

    async def exchange(self, replica: str, demands: Mapping[str, float], ttl: float) -> Demands:
        if not demands:
            return {}
        names = list(demands)
        rows = ", ".join(f"(%s, %s, %s, {_NOW})" for _ in names)
        sql = (
            "WITH mine AS (INSERT INTO budget_shares (budget, replica, demand, seen_at) VALUES "
            f"{rows} ON CONFLICT (budget, replica) DO UPDATE SET demand = EXCLUDED.demand, "
            "seen_at = EXCLUDED.seen_at RETURNING budget, replica, demand), "
            f"gone AS (DELETE FROM budget_shares WHERE seen_at < {_NOW} - %s) "
            "SELECT budget, replica, demand FROM mine UNION ALL "
            "SELECT budget, replica, demand FROM budget_shares "
            f"WHERE budget = ANY(%s) AND replica <> %s AND seen_at >= {_NOW} - %s"
        )
        params: list[Any] = [value for name in names for value in (name, replica, demands[name])]
        params += [FORGET_AFTER, names, replica, ttl]
        try:
            conn = await self._live()
            cursor = await conn.execute(sql, params)  # type: ignore[arg-type]  # built from constants only
            found = await cursor.fetchall()
        except psycopg.Error as exc:
            await self.close()  # opened again at the next exchange
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ConnectionError(f"the database at {redact(self._url)}: {reason}") from exc
        seen: Demands = {}
        for budget, who, demand in found:
            seen.setdefault(budget, {})[who] = float(demand)
        return seen

    async def withdraw(self, replica: str) -> None:
        conn = await self._live()
        await conn.execute("DELETE FROM budget_shares WHERE replica = %s", (replica,))

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
