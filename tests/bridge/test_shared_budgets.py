"""Rate budgets shared by replicas (issue 16): the share arithmetic, a budget granting its share, and two
boards splitting a budget by demand and taking a dead replica's share back, on each place the rows can live:
a real PostgreSQL (the store's database) and a real Redis (`BRIDGE_BUDGET_URL`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
import redis.asyncio as redis

from bridge.app import make_budgets
from bridge.pacing import RateBudget
from bridge.settings import BridgeSettings, OpenWebUISettings, Settings
from bridge.shared_budgets import IDLE_DEMAND, LEAST_SHARE, BudgetShares, Row, Seen, SharedBudgets, fraction, granted
from bridge.store import Store, redis_budget_shares
from bridge.store.budget_shares import PostgresBudgetShares
from bridge.store.redis_budget_shares import RedisBudgetShares
from simulators.redis_server import RealRedis

Shares = Callable[[], BudgetShares]
"""Makes a connection to one place the replicas of a test share (each board gets its own)."""


@pytest.fixture(params=["postgresql", "redis"])
async def shares(request: pytest.FixtureRequest) -> Shares:
    """Once per backend: a fresh, migrated PostgreSQL database, then a Redis database nobody used."""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").create_database()
        await (await Store.open(url)).close()  # migrated, as the bridge does before it shares anything
        return lambda: PostgresBudgetShares(url)
    url = request.getfixturevalue("redis_server").new_url()
    return lambda: RedisBudgetShares(url)


def test_share_follows_demand_idle_replicas_keep_a_floor_and_all_idle_split_evenly() -> None:
    assert fraction(3, []) == 1.0  # alone: the whole budget
    assert fraction(30, [10]) == pytest.approx(0.75)
    assert fraction(10, [30]) == pytest.approx(0.25)
    assert fraction(0, [0, 0]) == pytest.approx(1 / 3)  # everybody idle: even
    idle = fraction(0, [20])
    assert idle == pytest.approx(IDLE_DEMAND / (20 + IDLE_DEMAND)) and idle > 0  # a floor, not nothing
    assert fraction(20, [0]) + idle == pytest.approx(1)  # the parts add up to the whole budget


def test_a_replica_grants_its_target_only_within_what_the_others_leave_free() -> None:
    assert granted(30, [Row(10, 0.5)]) == pytest.approx(0.5)  # target 0.75, but the other holds half yet
    assert granted(10, [Row(30, 0.5)]) == pytest.approx(0.25)  # lowering needs nobody
    assert granted(5, [Row(5, 1.0)]) == LEAST_SHARE  # a newcomer next to a replica that had it all
    assert granted(5, []) == 1.0


def test_a_budget_grants_its_share_of_rate_capacity_and_peak() -> None:
    budget = RateBudget(rate=46, capacity=8, peak=46, reserve=1)
    budget.share(0.25)
    assert (budget.rate, budget.capacity, budget.peak) == (11.5, 2, 11)
    assert budget.available() <= 2  # tokens beyond the new capacity are gone: no burst past the share
    budget.share(0.05)
    assert budget.capacity == 2 and budget.peak == 2  # one grant beyond the reserve stays: a first text goes at once
    budget.retune(23, 23)  # a 429 halved the whole budget: the share applies to what is left
    assert budget.rate == pytest.approx(23 * 0.05)
    budget.share(1.0)
    assert (budget.rate, budget.capacity, budget.peak) == (23, 8, 23)
    with pytest.raises(ValueError):
        budget.share(0)


async def test_a_larger_share_reaches_a_request_already_waiting() -> None:
    """A request that waits on a small share's slow refill is granted soon after the share grows, not when
    the old rate would have let it through."""
    budget = RateBudget(rate=10, capacity=1)
    budget.share(0.01)  # one grant every 10 s
    await budget.acquire()
    waiting = asyncio.create_task(budget.acquire())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    started = time.monotonic()
    budget.share(1.0)
    await asyncio.wait_for(waiting, 2)
    assert time.monotonic() - started < 0.5


class _Demand:
    def __init__(self, value: float) -> None:
        self.value = value

    def __call__(self) -> float:
        return self.value


async def _board(shares: Shares, demand: _Demand, fractions: list[float], ttl: float = 1.0) -> SharedBudgets:
    board = SharedBudgets(shares(), interval=0.1, ttl=ttl)
    board.register("slack:T1", demand, fractions.append)
    return board


async def test_two_replicas_split_a_budget_by_demand_and_a_dead_one_gives_its_share_back(shares: Shares) -> None:
    seen_a: list[float] = []
    seen_b: list[float] = []
    a = await _board(shares, _Demand(30), seen_a)
    b = await _board(shares, _Demand(10), seen_b)
    assert seen_a == seen_b == [LEAST_SHARE]  # registered: the least share until the first exchange

    def total() -> float:
        return a.fraction_of("slack:T1") + b.fraction_of("slack:T1")

    await a.exchange()  # a is alone so far: whole
    assert a.fraction_of("slack:T1") == 1.0
    for board in (b, a, b):  # b comes: a gives up what b's demand calls for, then b takes it
        await board.exchange()
        assert total() <= 1.0 + LEAST_SHARE, "the shares in force never exceed the whole (but b's least share)"
    assert a.fraction_of("slack:T1") == pytest.approx(0.75)
    assert b.fraction_of("slack:T1") == pytest.approx(0.25)
    assert seen_a[-1] == pytest.approx(0.75) and seen_b[-1] == pytest.approx(0.25)  # the budgets were told
    assert a.round_trip_summary() is not None

    # demand moves to b: a lowers first, b raises after; never more than the whole in between
    a_demand, b_demand = _Demand(10), _Demand(30)
    a._budgets["slack:T1"].demand, b._budgets["slack:T1"].demand = a_demand, b_demand
    await b.exchange()
    assert b.fraction_of("slack:T1") == pytest.approx(0.25)  # its target is 0.75, but a holds 0.75 yet
    await a.exchange()
    await b.exchange()
    assert (a.fraction_of("slack:T1"), b.fraction_of("slack:T1")) == (pytest.approx(0.25), pytest.approx(0.75))

    # b dies: it stops exchanging; once its rows are older than the TTL, a has the whole budget again
    await asyncio.sleep(0.5)
    await a.exchange()
    assert a.fraction_of("slack:T1") == pytest.approx(0.25)  # within the TTL b still counts
    await asyncio.sleep(0.7)
    await a.exchange()
    assert a.fraction_of("slack:T1") == 1.0 and seen_a[-1] == 1.0
    for board in (a, b):
        await board._withdraw()


async def test_a_replica_that_stops_withdraws_its_share_at_once(shares: Shares) -> None:
    a = await _board(shares, _Demand(5), [], ttl=30)
    b = await _board(shares, _Demand(5), [], ttl=30)
    await a.exchange()
    running = asyncio.create_task(b.run())
    await asyncio.sleep(0.3)
    await a.exchange()
    await asyncio.sleep(0.3)
    assert a.fraction_of("slack:T1") == pytest.approx(0.5) == b.fraction_of("slack:T1")
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    await a.exchange()
    assert a.fraction_of("slack:T1") == 1.0  # long before the TTL of 30 s
    await a._withdraw()


async def test_without_postgresql_every_budget_stays_whole() -> None:
    board = SharedBudgets()
    told: list[float] = []
    board.register("discord:bot:global", _Demand(50), told.append)
    await asyncio.wait_for(board.run(), 1)  # returns at once: nothing to share with
    assert told == [] and board.fraction_of("discord:bot:global") == 1.0


async def test_a_budget_registered_while_the_board_runs_is_shared_at_once(shares: Shares) -> None:
    """Slack registers a workspace when it first talks to it: its first exchange does not wait for the interval."""
    board = SharedBudgets(shares(), interval=30, ttl=60)
    running = asyncio.create_task(board.run())
    try:
        await asyncio.sleep(0.2)  # its first exchange had nothing to share
        told: list[float] = []
        board.register("slack:T9", _Demand(1), told.append)
        await asyncio.sleep(0.5)
        assert told == [LEAST_SHARE, 1.0]  # alone: whole, long before the 30 s interval
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


@pytest.mark.parametrize(
    "away",
    [
        lambda: PostgresBudgetShares("postgresql://nobody:s3cret@127.0.0.1:9/none", connect_timeout=1),
        lambda: RedisBudgetShares("redis://:s3cret@127.0.0.1:9/0", connect_timeout=1),
    ],
    ids=["postgresql", "redis"],
)
async def test_a_database_away_keeps_the_shares_and_says_so_once(
    caplog: pytest.LogCaptureFixture, away: Shares
) -> None:
    board = SharedBudgets(away())
    told: list[float] = []
    board.register("discord:bot:global", _Demand(3), told.append)
    await board.exchange()
    await board.exchange()
    assert told == [LEAST_SHARE] and board.round_trip_summary() is None
    warnings = [r for r in caplog.records if "cannot share rate budgets" in r.getMessage()]
    assert len(warnings) == 1 and "127.0.0.1:9" in warnings[0].getMessage()
    assert "s3cret" not in caplog.text  # the password never reaches the log


async def test_on_redis_an_exchange_waits_while_another_replica_holds_the_lock(redis_server: RealRedis) -> None:
    """One exchange at a time, as under PostgreSQL's advisory lock; and a lock whose holder died between its two
    scripts expires, so the others go on."""
    url = redis_server.new_url()
    raw = redis.Redis.from_url(url, decode_responses=True)
    shares = RedisBudgetShares(url)
    try:
        await raw.set(redis_budget_shares.LOCK_KEY, "another replica", px=500)
        exchanging = asyncio.create_task(shares.exchange("r1", ["slack:T1"], 1.0, lambda seen: {"slack:T1": Row(1, 1)}))
        await asyncio.sleep(0.3)
        assert not exchanging.done() and await raw.hgetall(redis_budget_shares.PREFIX + "slack:T1") == {}
        await asyncio.wait_for(exchanging, 3)
        assert (await raw.hget(redis_budget_shares.PREFIX + "slack:T1", "r1") or "").startswith("1 1 ")
        assert await raw.get(redis_budget_shares.LOCK_KEY) is None  # released once written
    finally:
        await shares.close()
        await raw.aclose()


async def test_on_redis_a_replica_stalled_past_its_lock_writes_nothing(
    redis_server: RealRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its lock expired while it decided, and another replica may have read the rows since: writing now could
    put the shares in force above the whole, so it writes nothing and says so."""
    monkeypatch.setattr(redis_budget_shares, "LOCK_MS", 100)
    url = redis_server.new_url()
    raw = redis.Redis.from_url(url, decode_responses=True)
    shares = RedisBudgetShares(url)

    def stalled(seen: Seen) -> dict[str, Row]:
        time.sleep(0.3)  # the whole process stalls (a long pause): the lock expires meanwhile
        return {"slack:T1": Row(1, 1)}

    try:
        with pytest.raises(ConnectionError, match="outlasted its lock"):
            await shares.exchange("r1", ["slack:T1"], 1.0, stalled)
        assert await raw.hgetall(redis_budget_shares.PREFIX + "slack:T1") == {}
    finally:
        await shares.close()
        await raw.aclose()


async def test_the_budget_url_setting_puts_the_exchange_on_redis(redis_server: RealRedis) -> None:
    """`BRIDGE_BUDGET_URL` set: the board exchanges through Redis, even beside the SQLite store, under the
    replica's own id (`BRIDGE_REPLICA_ID`, the one the conversation order uses)."""
    url = redis_server.new_url()
    bridge = BridgeSettings(_env_file=None, budget_url=url, replica_id="bridge-7")  # type: ignore[call-arg]
    board = make_budgets(Settings(OpenWebUISettings(_env_file=None, api_key="sk-x"), bridge))  # type: ignore[call-arg]
    board.register("discord:bot:global", _Demand(2), [].append)
    await board.exchange()
    raw = redis.Redis.from_url(url, decode_responses=True)
    try:
        assert list(await raw.hgetall(redis_budget_shares.PREFIX + "discord:bot:global")) == ["bridge-7"]
    finally:
        await board._withdraw()
        await raw.aclose()
