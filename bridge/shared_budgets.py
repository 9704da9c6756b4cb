"""Platform limits shared by every replica of the bridge: each process takes its part of one budget.

Discord allows a bot 50 requests a second and Slack each workspace about 50 `chat.update` a minute, however
many processes send them. Each adapter keeps its budgets in `RateBudget`s and registers each named limit
here ("discord:<bot>:global", "slack:T123") with its *demand*: the replies in progress that draw on it.
Every `BRIDGE_BUDGET_SYNC_INTERVAL` seconds the board reads the other replicas' rows in a table of the shared
database (or in Redis, `BRIDGE_BUDGET_URL`) and writes its own (`BudgetShares`): per budget, its demand and
the share it grants. Its *target* is

    my demand / the demand of every replica alive

with an idle replica counted as `IDLE_DEMAND` replies, so that replicas all idle split evenly and one with a
first reply takes a share at once. The share it grants is its target, but never more than what the others'
published shares leave free: replicas exchange one at a time (`BudgetShares` serialises them), a replica
publishes a share no smaller than the one it grants, and it lowers its share before it publishes it, raises
it only after; so the shares in force never add up to more than the whole, even while demand moves (a share
given up is taken by the others at their next exchange). The buckets' capacities and per-second peaks
shrink with their rates (`RateBudget.share`), so bursts add up the same way, and a bucket keeps one grant
beyond its reserve, so a first text on a replica with a small share goes out at once.

A replica that stops refreshing its rows (it died) is left out once they are `BRIDGE_BUDGET_TTL` seconds
old: the others take its share back. One that stops cleanly withdraws its rows at once. One replica alone,
or the SQLite store (one process), keeps the whole budget, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
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
LEAST_SHARE = 0.01
"""The smallest share a replica grants, when the others hold the rest: a budget never stops completely."""


@dataclass(frozen=True, slots=True)
class Row:
    """One replica's row for one budget: the replies that want it, and the share it may grant."""

    demand: float
    share: float


Seen = dict[str, dict[str, Row]]
"""Per budget name, the other live replicas' rows (by replica id)."""


class BudgetShares(Protocol):
    """Where replicas see each other's demand: a table in the shared database (`bridge.store.budget_shares`), or
    Redis (`bridge.store.redis_budget_shares`)."""

    kind: str
    """"postgresql" or "redis": named in the log line of round trips (the benchmark reads it there)."""

    async def exchange(
        self, replica: str, names: list[str], ttl: float, decide: Callable[[Seen], Mapping[str, Row]]
    ) -> None:
        """One exchange at a time among all replicas: read the other live replicas' rows of the budgets `names`,
        then write this replica's rows as `decide` makes them from what was read."""
        ...

    async def withdraw(self, replica: str) -> None:
        """Remove this replica's rows: it stops, and the others may take its share at once."""
        ...

    async def close(self) -> None: ...


def fraction(mine: float, others: list[float]) -> float:
    """This replica's target part of a budget, from its demand and the other live replicas' (replies in progress)."""
    weight = max(mine, IDLE_DEMAND)
    return weight / (weight + sum(max(other, IDLE_DEMAND) for other in others))


def granted(mine: float, others: list[Row]) -> float:
    """The share to grant: the target, within what the others' published shares leave free."""
    free = 1.0 - sum(row.share for row in others)
    return max(min(fraction(mine, [row.demand for row in others]), free), LEAST_SHARE)


@dataclass(slots=True)
class _Registered:
    demand: Callable[[], float]
    apply: Callable[[float], None]
    fraction: float = 1.0


class SharedBudgets:
    """The budgets adapters register, and this replica's share of each (see the module docstring).

    Without a shared table (`shares` None: the SQLite store) it never changes a share: every budget stays whole.
    """

    def __init__(
        self, shares: BudgetShares | None = None, *, interval: float = 0.5, ttl: float = 2.0, replica: str = ""
    ) -> None:
        self._shares = shares
        self.interval = interval
        self.ttl = ttl
        # the replica's one id (BRIDGE_REPLICA_ID), as in the conversation order; several boards in one test
        # process each get one of their own
        self.replica = replica or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._budgets: dict[str, _Registered] = {}
        self._wake = asyncio.Event()  # a budget was registered: exchange now rather than at the next interval
        self.round_trips: deque[float] = deque(maxlen=2000)
        """Seconds each exchange with the table took, newest last (the benchmark reports them)."""
        self._failing = False

    def register(self, name: str, demand: Callable[[], float], apply: Callable[[float], None]) -> None:
        """Share budget `name` with the other replicas: `demand()` says how many replies want it now, and
        `apply(fraction)` makes the budget grant that part of the platform's limit. Shared, a new budget grants
        only `LEAST_SHARE` until its first exchange, which comes at once: the others may hold the whole."""
        entry = self._budgets[name] = _Registered(demand, apply)
        if self._shares is not None:
            self._set(entry, LEAST_SHARE)
            self._wake.set()

    def fraction_of(self, name: str) -> float:
        entry = self._budgets.get(name)
        return entry.fraction if entry else 1.0

    async def run(self) -> None:
        """Exchange demands every `interval` seconds until cancelled; then withdraw this replica's rows."""
        if self._shares is None:
            return
        try:
            while True:
                self._wake.clear()
                await self.exchange()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.interval)
        finally:
            summary = self.round_trip_summary()
            if summary:
                log.info(
                    "budget board on %s: %d exchanges, round trip median %.1f ms, p99 %.1f ms",
                    self._shares.kind,
                    len(self.round_trips),
                    summary[0] * 1000,
                    summary[1] * 1000,
                )
            await self._withdraw()

    async def exchange(self) -> None:
        """One round: read the others' rows, lower shares that must go down, publish, then raise the others."""
        assert self._shares is not None
        budgets = dict(self._budgets)
        if not budgets:  # nothing to share yet (an adapter registers its budgets as it starts)
            return
        raised: dict[str, float] = {}

        def decide(seen: Seen) -> dict[str, Row]:
            rows = {}
            for name, entry in budgets.items():
                demand = float(entry.demand())
                share = granted(demand, list(seen.get(name, {}).values()))
                if share < entry.fraction:  # lowered before it is published: the others may take it at once
                    self._set(entry, share)
                elif share > entry.fraction:
                    raised[name] = share
                rows[name] = Row(demand, share)
            return rows

        started = time.monotonic()
        try:
            await self._shares.exchange(self.replica, list(budgets), self.ttl, decide)
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
        for name, share in raised.items():  # raised only now that the larger share is published
            self._set(budgets[name], share)

    @staticmethod
    def _set(entry: _Registered, share: float) -> None:
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
