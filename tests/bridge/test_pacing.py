"""RateBudget: never over its rate, fair between replies, final edits first, follows the server.

The budgets run on virtual time (`in_virtual_time`, `FakeClock`): each test states which grant comes
when, exactly, on any machine."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from bridge.pacing import RateBudget
from tests.clock import FakeClock, in_virtual_time, loop_clock


@in_virtual_time
async def test_grants_never_exceed_the_rate() -> None:
    clock = loop_clock()
    budget = RateBudget(rate=20, capacity=2, clock=clock)
    start = clock()
    stamps: list[float] = []

    async def worker() -> None:
        for _ in range(5):
            await budget.acquire()
            stamps.append(clock() - start)

    await asyncio.gather(*(worker() for _ in range(4)))
    assert len(stamps) == 20
    for i in range(len(stamps)):
        for j in range(i + 1, len(stamps)):
            # any window holds at most the burst (2) plus what the rate refills in it
            assert j - i + 1 <= 2 + 20 * (stamps[j] - stamps[i]) + 1e-6
    assert stamps[-1] == pytest.approx(18 / 20), "and the budget is used: the last grant comes as soon as it may"


@in_virtual_time
async def test_replies_share_the_budget_fairly() -> None:
    budget = RateBudget(rate=100, capacity=1, clock=loop_clock())
    counts: Counter[int] = Counter()
    stop = asyncio.Event()

    async def reply(n: int) -> None:
        while not stop.is_set():
            await budget.acquire()
            counts[n] += 1

    tasks = [asyncio.create_task(reply(n)) for n in range(5)]
    await asyncio.sleep(1.0)
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    # a hundred grants in the second, in rotation: the first one to ask may be one or two ahead
    assert sum(counts.values()) in (100, 101)
    assert len(counts) == 5 and max(counts.values()) - min(counts.values()) <= 2


@in_virtual_time
async def test_final_edits_jump_the_queue() -> None:
    budget = RateBudget(rate=10, capacity=1, clock=loop_clock())
    await budget.acquire()
    order: list[str] = []

    async def take(name: str, urgent: bool) -> None:
        await budget.acquire(urgent)
        order.append(name)

    routine = [asyncio.create_task(take(f"r{i}", False)) for i in range(3)]
    await asyncio.sleep(0)
    final = asyncio.create_task(take("final", True))
    await asyncio.gather(*routine, final)
    assert order[0] == "final"


@in_virtual_time
async def test_server_headers_and_429_block_grants() -> None:
    clock = loop_clock()
    budget = RateBudget(rate=100, capacity=5, clock=clock)
    budget.sync(remaining=0, reset_after=0.2)
    start = clock()
    await budget.acquire()
    assert clock() - start == pytest.approx(0.2), "nothing until the server's reset"
    budget.block(0.15)
    start = clock()
    await budget.acquire(urgent=True)
    assert clock() - start == pytest.approx(0.15), "nothing until Retry-After has passed, not even a final text"


@in_virtual_time
async def test_cancelled_waiter_does_not_consume_a_grant() -> None:
    budget = RateBudget(rate=5, capacity=1, clock=loop_clock())
    await budget.acquire()
    waiter = asyncio.create_task(budget.acquire())
    await asyncio.sleep(0.01)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert budget.waiting == 0
    before = budget.granted
    await budget.acquire()
    assert budget.granted == before + 1


async def test_a_grant_given_as_its_waiter_gives_up_goes_back() -> None:
    clock = FakeClock(0.0)
    budget = RateBudget(rate=0.01, capacity=1, clock=clock)
    await budget.acquire()
    waiter = asyncio.create_task(budget.acquire(priority=(1.0,)))
    await asyncio.sleep(0)
    clock.advance(100.0)  # one token back
    await budget._dispatch()  # hands it to the waiter, which has not run yet...
    waiter.cancel()  # ...and gives up (a final text arrived) before it could use it
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert budget.try_acquire()  # the token is still there


def test_try_acquire_takes_only_a_free_grant() -> None:
    clock = FakeClock()
    budget = RateBudget(rate=10, capacity=1, clock=clock)
    assert budget.try_acquire()
    assert not budget.try_acquire()  # the bucket is empty: no waiting, just no
    clock.advance(0.09)
    assert not budget.try_acquire(), "a token takes a tenth of a second to come back"
    clock.advance(0.01)
    assert budget.try_acquire()


@in_virtual_time
async def test_routine_requests_go_in_order_of_priority() -> None:
    """A scarce budget goes to the lowest priority (fewest updates, then shown longest ago), not to whoever
    asked first."""
    budget = RateBudget(rate=50, capacity=1, clock=loop_clock())
    await budget.acquire()
    order: list[str] = []

    async def take(name: str, priority: tuple[float, ...]) -> None:
        await budget.acquire(priority=priority)
        order.append(name)

    tasks = [
        asyncio.create_task(take(name, prio))
        for name, prio in (("had one", (1, 5.0)), ("older", (0, 10.0)), ("newer", (0, 20.0)))
    ]
    await asyncio.sleep(0)
    final = asyncio.create_task(budget.acquire(urgent=True))
    await asyncio.gather(*tasks, final)
    assert order == ["older", "newer", "had one"]


@in_virtual_time
async def test_cancelled_prioritised_waiter_leaves_the_queue() -> None:
    budget = RateBudget(rate=20, capacity=1, clock=loop_clock())
    await budget.acquire()
    first = asyncio.create_task(budget.acquire(priority=(1.0,)))
    second = asyncio.create_task(budget.acquire(priority=(2.0,)))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert budget.waiting == 1
    await asyncio.wait_for(second, 1.0)
    assert budget.waiting == 0


async def test_urgent_try_acquire_and_delay_ignore_routine_waiters() -> None:
    clock = FakeClock(0.0)
    budget = RateBudget(rate=0.01, capacity=1, clock=clock)  # refills only when the test says so
    await budget.acquire()
    waiter = asyncio.create_task(budget.acquire(priority=(5.0,)))
    await asyncio.sleep(0)
    assert budget.delay() == pytest.approx(200.0)  # a token in 100 s, then the waiter ahead: 100 s more
    assert budget.delay(urgent=True) == pytest.approx(100.0)
    clock.advance(100.0)  # a token is back; the dispatcher, asleep on the loop's clock, has not handed it out yet
    assert not budget.try_acquire()  # a routine request would go after the waiter
    assert budget.try_acquire(urgent=True)  # an urgent one goes first
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter


async def test_the_reserve_is_kept_for_urgent_requests() -> None:
    budget = RateBudget(rate=0.01, capacity=3, reserve=1, clock=FakeClock(0.0))
    await budget.acquire()
    await budget.acquire()  # one token left: the reserve
    assert not budget.try_acquire()
    routine = asyncio.create_task(budget.acquire())
    await asyncio.sleep(0)
    assert not routine.done() and budget.delay() == pytest.approx(200.0)
    await asyncio.wait_for(budget.acquire(urgent=True), 0.1)  # a final text does not queue behind it
    routine.cancel()
    with pytest.raises(asyncio.CancelledError):
        await routine


@in_virtual_time
async def test_peak_caps_the_grants_in_any_second() -> None:
    """A fast bucket with a `peak`: bursts stay small, and no second ever holds more than `peak` grants."""
    clock = loop_clock()
    budget = RateBudget(rate=30, capacity=2, peak=10, clock=clock)
    start = clock()
    stamps: list[float] = []

    async def take() -> None:
        await budget.acquire()
        stamps.append(clock() - start)

    await asyncio.gather(*(take() for _ in range(25)))
    stamps.sort()
    assert sum(1 for t in stamps if t < 1.0) == 10, "the first ten come at the bucket's pace, within the first second"
    assert stamps[10] == pytest.approx(1.0), "the eleventh waits for the first to leave the second"
    assert all(sum(1 for t in stamps if at <= t < at + 1.0) <= 10 for at in stamps), "no second holds more than 10"


def test_a_lowered_burst_is_half_as_large_never_below_one_beyond_the_reserve() -> None:
    """After a refusal the platform did not announce, the budget allows half as many grants at once; the
    rate stays, and a share of the budget for a replica is a share of the lowered burst."""
    clock = FakeClock()
    budget = RateBudget(rate=1.0, capacity=9, reserve=1, clock=clock)
    budget.lower_burst()
    assert (budget.capacity, budget.rate) == (4.5, 1.0)
    assert budget.available() == 4.5, "what it held beyond the new burst is gone"
    budget.share(0.5)
    assert budget.capacity == 2.25, "a replica's share is a share of the lowered burst"
    budget.share(1.0)
    budget.lower_burst()
    budget.lower_burst()
    assert budget.capacity == 2, "never less than one grant beyond the reserve"
    clock.advance(10)
    assert budget.available() == 2
