"""Platform limits shared by every replica of the bridge: each process takes its part of one budget.

Discord allows a bot 50 requests a second and Slack each workspace about 50 `chat.update` a minute, however
many processes send them. Each adapter keeps its budgets in `RateBudget`s and registers each named limit
here ("discord:global", "slack:T123") with its *demand*: the replies in progress that draw on it. Every
`BRIDGE_BUDGET_SYNC_INTERVAL` seconds the board writes this replica's demand for each budget to a table in
the shared database and reads the others' (`BudgetShares`); each budget then grants

    its whole rate * my demand / the demand of every replica alive

with an idle replica counted as `IDLE_DEMAND` replies, so that a first reply there starts at once from the
grants its bucket holds, and replicas all idle split evenly. A replica that stops refreshing its rows (it
died) is left out once they are `BRIDGE_BUDGET_TTL` seconds old: the others take its share back. One
replica alone, or the SQLite store (one process), keeps the whole budget, as before.

Shares follow demand with a delay of one interval: a replica whose replies just began takes the others'
spare rate half a second later. That costs a little rate while demand moves, never a burst beyond the
platform's limit, because the buckets' capacities shrink with their rates (`RateBudget.share`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import statistics
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from bridge.metrics import METRICS

log = logging.getLogger(__name__)

IDLE_DEMAND = 0.1
"""The demand an idle replica counts for: a tenth of a reply, next to busy replicas a small share that still
refills a first text's grant; and when every replica is idle, an even split."""

Demands = dict[str, dict[str, float]]
"""Per budget name, the demand of each live replica (by replica id)."""


class BudgetShares(Protocol):
    """Where replicas see each other's demand: a table in the shared database (`bridge.store.budget_shares`)."""

    async def exchange(self, replica: str, demands: Mapping[str, float], ttl: float) -> Demands:
        """Write this replica's demand per budget (now) and return every live replica's, this one included."""
        ...

    async def withdraw(self, replica: str) -> None:
        """Remove this replica's rows: it stops, and the others may take its share at once."""
        ...

    async def close(self) -> None: ...


def fraction(mine: float, others: list[float]) -> float:
    """This replica's part of a budget, from its demand and the other live replicas' (replies in progress)."""
    weight = max(mine, IDLE_DEMAND)
    return weight / (weight + sum(max(other, IDLE_DEMAND) for other in others))


@dataclass(slots=True)
class _Registered:
    demand: Callable[[], float]
    apply: Callable[[float], None]
    fraction: float = 1.0


class SharedBudgets:
    """The budgets adapters register, and this replica's share of each (see the module docstring).

    Without a shared table (`shares` None: the SQLite store) it never changes a share: every budget stays whole.
    """

    def __init__(self, shares: BudgetShares | None = None, *, interval: float = 0.5, ttl: float = 2.0) -> None:
        self._shares = shares
        self.interval = interval
        self.ttl = ttl
        self.replica = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._budgets: dict[str, _Registered] = {}
        self._replicas = 1  # live replicas at the last exchange, for a budget registered in between
        self.round_trips: deque[float] = deque(maxlen=2000)
        """Seconds each exchange with the table took, newest last (the benchmark reports them)."""
        self._failing = False

    @property
    def shared(self) -> bool:
        return self._shares is not None

    def register(self, name: str, demand: Callable[[], float], apply: Callable[[float], None]) -> None:
        """Share budget `name` with the other replicas: `demand()` says how many replies want it now, and
        `apply(fraction)` makes the budget grant that part of the platform's limit. Until the next exchange a
        new budget takes an even part among the replicas seen last, not the whole: they may all start
        using it at once (a workspace's first messages reach every replica together)."""
        entry = self._budgets[name] = _Registered(demand, apply)
        if self._shares is not None and self._replicas > 1:
            entry.fraction = 1 / self._replicas
            apply(entry.fraction)

    def fraction_of(self, name: str) -> float:
        entry = self._budgets.get(name)
        return entry.fraction if entry else 1.0

    async def run(self) -> None:
        """Exchange demands every `interval` seconds until cancelled; then withdraw this replica's rows."""
        if self._shares is None:
            return
        try:
            while True:
                await self.exchange()
                await asyncio.sleep(self.interval)
        finally:
            summary = self.round_trip_summary()
            if summary:
                log.info(
                    "budget board: %d exchanges, round trip median %.1f ms, p99 %.1f ms",
                    len(self.round_trips),
                    summary[0] * 1000,
                    summary[1] * 1000,
                )
            await self._withdraw()

    async def exchange(self) -> None:
        """One round: publish this replica's demand, read the others', set every budget's share."""
        assert self._shares is not None
        demands = {name: float(entry.demand()) for name, entry in self._budgets.items()}
        started = time.monotonic()
        try:
            seen = await self._shares.exchange(self.replica, demands, self.ttl)
        except Exception as exc:  # the database is away: keep the shares as they are, and say so once
            if not self._failing:
                log.warning("cannot share rate budgets with the other replicas (%s); keeping the last shares", exc)
            self._failing = True
            return
        elapsed = time.monotonic() - started
        self.round_trips.append(elapsed)
        METRICS.budget_sync.observe(elapsed)
        if self._failing:
            log.info("sharing rate budgets with the other replicas again")
            self._failing = False
        self._replicas = len({replica for rows in seen.values() for replica in rows}) or 1
        for name, entry in self._budgets.items():
            rows = seen.get(name, {})
            others = [demand for replica, demand in rows.items() if replica != self.replica]
            share = fraction(demands[name], others)
            if share != entry.fraction:
                entry.fraction = share
                entry.apply(share)

    def round_trip_summary(self) -> tuple[float, float] | None:
        """(median, 99th percentile) of the exchanges' round trips in seconds; None before the first."""
        trips = sorted(self.round_trips)
        if not trips:
            return None
        return statistics.median(trips), trips[min(len(trips) - 1, int(len(trips) * 0.99))]

    async def _withdraw(self) -> None:
        assert self._shares is not None
        try:
            await self._shares.withdraw(self.replica)
        except Exception as exc:  # stopping anyway: the rows expire after the TTL
            log.info("could not withdraw this replica's budget shares (%s); they expire by themselves", exc)
        await self._shares.close()
