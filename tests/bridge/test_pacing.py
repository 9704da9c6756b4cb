"""RateBudget: never over its rate, fair between replies, final edits first, follows the server."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from bridge.pacing import RateBudget


async def test_grants_never_exceed_the_rate() -> None:
    budget = RateBudget(rate=20, capacity=2)
    stamps: list[float] = []

    async def worker() -> None:
        for _ in range(5):
            await budget.acquire()
            stamps.append(time.monotonic())

    start = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(4)))
    assert len(stamps) == 20
    # 20 grants with 2 free at once and 20 per second: at least (20 - 2) / 20 s
    assert stamps[-1] - start >= 18 / 20 * 0.95
    for i in range(len(stamps)):
        for j in range(i + 1, len(stamps)):
            # any window holds at most capacity + rate * window grants (0.5 of slack for timer jitter)
            assert j - i + 1 <= 2 + 20 * (stamps[j] - stamps[i]) + 0.5


async def test_replies_share_the_budget_fairly() -> None:
    budget = RateBudget(rate=100, capacity=1)
    counts: Counter[int] = Counter()
    stop = asyncio.Event()

    async def reply(n: int) -> None:
        while not stop.is_set():
            await budget.acquire()
            counts[n] += 1

    tasks = [asyncio.create_task(reply(n)) for n in range(5)]
    await asyncio.sleep(1.0)
    stop.set()
    await asyncio.sleep(0.05)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    # about 20 grants each; the first one to ask may be one or two ahead
    assert len(counts) == 5 and min(counts.values()) >= 15
    assert max(counts.values()) - min(counts.values()) <= 2


async def test_final_edits_jump_the_queue() -> None:
    budget = RateBudget(rate=10, capacity=1)
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


async def test_server_headers_and_429_block_grants() -> None:
    budget = RateBudget(rate=100, capacity=5)
    budget.sync(remaining=0, reset_after=0.2)
    start = time.monotonic()
    await budget.acquire()
    assert time.monotonic() - start >= 0.18
    budget.block(0.15)
    start = time.monotonic()
    await budget.acquire(urgent=True)
    assert time.monotonic() - start >= 0.13


async def test_cancelled_waiter_does_not_consume_a_grant() -> None:
    budget = RateBudget(rate=5, capacity=1)
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


async def test_try_acquire_takes_only_a_free_grant() -> None:
    budget = RateBudget(rate=10, capacity=1)
    assert budget.try_acquire()
    assert not budget.try_acquire()  # the bucket is empty: no waiting, just no
    await asyncio.sleep(0.12)
    assert budget.try_acquire()
