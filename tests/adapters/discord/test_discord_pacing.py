"""The pacing rules on their own: fixed windows from headers, urgent first, 429s, shared buckets, exemptions,
hidden budgets learned from 429s, a more careful global budget after a global 429.

The gates and budgets run on virtual time (`in_virtual_time`, their clock is the loop's): each test says
exactly when a call may go."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from discord.http import Route

from adapters.discord.gates import LAST_CALL_HORIZON, BucketGate, SharedGate
from adapters.discord.hidden_limits import SHAPE_LIFETIME
from adapters.discord.pacing import (
    FOLLOWUP_EDIT,
    GLOBAL_CAUTION,
    GLOBAL_CAUTION_FOR,
    MESSAGE_CREATE,
    MESSAGE_EDIT,
    DiscordRateLimits,
)
from adapters.discord.surface import ChannelReplySurface
from tests.clock import in_virtual_time, loop_clock

BASE = "https://discord.test/api/v10"


@pytest.fixture(autouse=True)
def _rest_base(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Route, "BASE", BASE)


def _headers(limit: int, remaining: int, reset_after: float, bucket: str = "abc") -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": bucket,
    }


def _request(method: str, url: str) -> SimpleNamespace:
    """What the trace hook reads of aiohttp's `TraceRequestStartParams`."""
    return SimpleNamespace(method=method, url=url)


@in_virtual_time
async def test_a_gate_grants_its_window_then_waits_for_the_reset() -> None:
    clock = loop_clock()
    gate = BucketGate(limit=3, window=1.5, clock=clock)
    started = clock()
    for _ in range(2):
        await gate.acquire()
    assert clock() == started
    routine = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0.05)
    assert not routine.done(), "routine calls leave the window's last call to a final text"
    await gate.acquire(urgent=True)
    assert clock() - started == pytest.approx(0.05), "which takes it at once"
    await routine
    assert clock() - started >= 1.5, "the next call waits for the window to end"


@in_virtual_time
async def test_routine_calls_get_the_last_call_in_the_window_last_second() -> None:
    """A reply editing once a second uses all of a 5-per-5-s window; a final text waits a second at most."""
    clock = loop_clock()
    gate = BucketGate(limit=3, window=1.5, clock=clock)
    started = clock()
    for _ in range(2):
        await gate.acquire()
    await gate.acquire()
    assert clock() - started == pytest.approx(1.5 - LAST_CALL_HORIZON)


@in_virtual_time
async def test_headers_lower_what_is_left_and_move_the_reset() -> None:
    clock = loop_clock()
    gate = BucketGate(limit=5, window=5.0, clock=clock)
    await gate.acquire()
    gate.observe(limit=5, remaining=0, reset_after=0.2)  # someone else used the bucket
    started = clock()
    await gate.acquire()
    assert 0.2 <= clock() - started <= 0.2 + 0.1, "the new reset, not the old window's 5 s"
    assert gate.window == 5.0, "only the call that opens a window tells its length"
    gate.observe(limit=2, remaining=1, reset_after=0.25)
    assert (gate.limit, gate.window) == (2, 0.25)


@in_virtual_time
async def test_an_answer_from_a_window_that_began_after_ours_is_believed() -> None:
    """The window's last call, sent just before our reset, reached Discord just after its own: Discord counts
    it in a new window and says 4 are left there. Believing our old window's 0 would stall five seconds."""
    gate = BucketGate(limit=5, window=5.0, clock=loop_clock())
    gate.observe(limit=5, remaining=1, reset_after=0.1)
    await gate.acquire(urgent=True)
    await asyncio.sleep(0.05)
    gate.observe(limit=5, remaining=4, reset_after=5.0)
    assert gate.remaining == 4
    await asyncio.wait_for(gate.acquire(urgent=True), 0.5)


@in_virtual_time
async def test_urgent_requests_go_first() -> None:
    gate = BucketGate(limit=1, window=0.2, clock=loop_clock())
    await gate.acquire()
    order: list[str] = []

    async def wait(name: str, urgent: bool) -> None:
        await gate.acquire(urgent)
        order.append(name)

    routine = asyncio.create_task(wait("routine", False))
    await asyncio.sleep(0.01)
    final = asyncio.create_task(wait("final", True))
    await asyncio.wait_for(asyncio.gather(routine, final), 2)
    assert order == ["final", "routine"]


@in_virtual_time
async def test_a_429_closes_the_bucket_and_a_global_429_blocks_everything() -> None:
    clock = loop_clock()
    limits = DiscordRateLimits(clock=clock)
    url = f"{BASE}/channels/42/messages/7"
    limits.observe("PATCH", url, 429, {"Retry-After": "1", "X-RateLimit-Reset-After": "0.3", "Via": "1.1 google"})
    gate = limits.gate(MESSAGE_EDIT, "42")
    started = clock()
    await gate.acquire()
    assert clock() - started >= 0.3, "the bucket is closed for the time Discord asks"
    limits.observe("POST", f"{BASE}/channels/43/messages", 429, {"Retry-After": "1", "X-RateLimit-Global": "true"})
    assert limits.rate_limited == 2
    started = clock()
    await limits.global_budget.acquire()
    assert clock() - started == pytest.approx(1.0), "a global 429 stops every request for Retry-After"


@in_virtual_time
async def test_routes_discord_names_as_one_bucket_share_one_gate() -> None:
    limits = DiscordRateLimits()
    limits.observe("POST", f"{BASE}/channels/42/messages", 200, _headers(5, 4, 5.0, bucket="shared"))
    limits.observe("PATCH", f"{BASE}/channels/42/messages/9", 200, _headers(5, 3, 4.9, bucket="shared"))
    assert limits.gate(MESSAGE_CREATE, "42") is limits.gate(MESSAGE_EDIT, "42")
    assert limits.gate(MESSAGE_CREATE, "42").remaining == 3
    assert limits.gate(MESSAGE_CREATE, "43") is not limits.gate(MESSAGE_CREATE, "42"), "channels never share"


@in_virtual_time
async def test_interaction_responses_are_paced_per_token_and_outside_the_global_budget() -> None:
    clock = loop_clock()
    limits = DiscordRateLimits(per_second=1, clock=clock)
    trace = limits.trace_config()
    start = trace.on_request_start[0]
    token_url = f"{BASE}/webhooks/1/tok-en/messages/@original"
    limits.observe("PATCH", token_url, 200, _headers(5, 2, 4.0))
    assert limits.gate(FOLLOWUP_EDIT, "1+tok-en").remaining == 2

    while limits.global_budget.try_acquire():  # use up what the budget has now
        pass
    started = clock()
    await asyncio.wait_for(start(None, None, _request("PATCH", token_url)), 1)  # type: ignore[arg-type]
    await asyncio.wait_for(start(None, None, _request("GET", "https://cdn.discord.test/attachments/1/2/a.txt")), 1)  # type: ignore[arg-type]
    assert clock() == started, "interaction responses and downloads do not wait for the budget"
    await asyncio.wait_for(start(None, None, _request("POST", f"{BASE}/channels/1/typing")), 3)  # type: ignore[arg-type]
    assert clock() - started >= 0.5, "a bot request does"


@in_virtual_time
async def test_a_routine_update_that_gives_way_returns_its_bucket_call() -> None:
    """A routine update holding its channel's call while it waits for the global budget gives the call back
    when the final text arrives (its wait is cancelled): the final text may need exactly that call."""
    limits = DiscordRateLimits(per_second=1, clock=loop_clock())
    surface = ChannelReplySurface(SimpleNamespace(id=42), limits)  # type: ignore[arg-type]
    while limits.global_budget.try_acquire():  # the global budget is spent: the update waits there
        pass
    gate = limits.gate(MESSAGE_EDIT, "42")
    before = gate.remaining
    pacing = asyncio.create_task(surface.pace("edit", False))
    await asyncio.sleep(0.05)
    assert gate.remaining == before - 1
    pacing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pacing
    assert gate.remaining == before


async def test_a_grant_taken_in_advance_lets_one_request_through_the_hook() -> None:
    """A reply pays for its request while pacing; the trace hook must not charge it again, nor let a second
    request (a retry) or a later one through on a grant that was not used."""
    limits = DiscordRateLimits()
    start = limits.trace_config().on_request_start[0]
    path = "/channels/42/messages/7"
    edit = _request("PATCH", f"{BASE}{path}")
    with limits.paid_for("PATCH", path):
        with limits.paid_for("PATCH", path):
            pass  # this one's request never went out: its grant is not left for others
        await start(None, None, edit)  # type: ignore[arg-type]
        assert limits.global_budget.granted == 0, "the paid request takes no second grant"
        await start(None, None, edit)  # type: ignore[arg-type]
        assert limits.global_budget.granted == 1, "a second request (discord.py retrying) takes its own"
    await start(None, None, edit)  # type: ignore[arg-type]
    await start(None, None, _request("POST", f"{BASE}/channels/42/messages"))  # type: ignore[arg-type]
    assert limits.global_budget.granted == 3


def _shared_429(remaining: int = 3, retry_after: str = "2", scope: str | None = "shared") -> dict[str, str]:
    """A 429 from a budget the route's headers do not show: they still say `remaining` calls are left."""
    headers = {**_headers(5, remaining, 4.0, bucket="edit"), "Retry-After": retry_after, "Via": "1.1 google"}
    return headers if scope is None else {**headers, "X-RateLimit-Scope": scope}


async def _call(limits: DiscordRateLimits, route: str, channel: int, urgent: bool = True) -> None:
    """One paced request in `channel`, answered at once with room left in its bucket (posts and edits have
    buckets of their own, as their headers say)."""
    await limits.acquire(route, str(channel), urgent)
    post = route == MESSAGE_CREATE
    url = f"{BASE}/channels/{channel}/messages" + ("" if post else "/9")
    limits.observe("POST" if post else "PATCH", url, 200, _headers(5, 4, 5.0, bucket="post" if post else "edit"))


@in_virtual_time
async def test_a_shared_429_teaches_every_channel_that_posts_and_edits_share_one_budget() -> None:
    clock = loop_clock()
    limits = DiscordRateLimits(clock=clock)
    await _call(limits, MESSAGE_CREATE, 42)
    for _ in range(4):
        await _call(limits, MESSAGE_EDIT, 42)
    limits.observe("PATCH", f"{BASE}/channels/42/messages/9", 429, _shared_429())

    [shape] = limits.hidden.shapes
    assert shape.routes == {MESSAGE_CREATE, MESSAGE_EDIT} and (shape.limit, shape.window) == (5, 5.0)
    assert limits.gate(MESSAGE_EDIT, "42").remaining > 0, "the route's own bucket is not what refused"
    started = clock()
    await _call(limits, MESSAGE_EDIT, 42)
    assert clock() - started >= 2.0, "the refusing channel waits for Retry-After"

    started = clock()
    for route in [MESSAGE_CREATE, MESSAGE_EDIT, MESSAGE_EDIT, MESSAGE_CREATE, MESSAGE_EDIT]:
        await _call(limits, route, 43)
    assert clock() == started, "another channel has the budget's five calls at once"
    await _call(limits, MESSAGE_CREATE, 43)
    assert clock() - started >= 5.0, "a sixth post or edit there waits for the first to leave the window"


@in_virtual_time
async def test_a_429_while_the_route_had_room_counts_as_a_hidden_limit_without_a_scope() -> None:
    limits = DiscordRateLimits(clock=loop_clock())
    await _call(limits, MESSAGE_EDIT, 42)
    limits.observe("PATCH", f"{BASE}/channels/42/messages/9", 429, _shared_429(remaining=4, scope=None))
    assert [s.routes for s in limits.hidden.shapes] == [{MESSAGE_EDIT}]
    limits.observe("POST", f"{BASE}/channels/43/messages", 429, _shared_429(remaining=0, scope="user"))
    assert len(limits.hidden.shapes) == 1, "a 429 from a bucket its headers said was empty is no hidden limit"


@in_virtual_time
async def test_a_learned_shape_is_corrected_by_a_later_429_and_forgotten_after_its_lifetime() -> None:
    clock = loop_clock()
    limits = DiscordRateLimits(clock=clock)
    await _call(limits, MESSAGE_CREATE, 42)
    await _call(limits, MESSAGE_EDIT, 42)
    limits.observe("PATCH", f"{BASE}/channels/42/messages/9", 429, _shared_429())
    [shape] = limits.hidden.shapes
    await asyncio.sleep(6)
    await _call(limits, MESSAGE_EDIT, 44)
    limits.observe("PATCH", f"{BASE}/channels/44/messages/9", 429, _shared_429())
    assert shape.limit == 4, "refused a whole window after learning: the hidden budget is smaller"
    assert limits.hidden.gates(MESSAGE_CREATE, "45")[0].limit == 4, "in every channel"

    await asyncio.sleep(SHAPE_LIFETIME + 1)
    assert limits.hidden.shapes == [] and limits.hidden.gates(MESSAGE_EDIT, "42") == []


@in_virtual_time
async def test_a_request_waiting_for_the_global_budget_takes_a_hidden_budget_learned_meanwhile() -> None:
    """Replies already past their channel's gates when the first shared 429 comes would each meet it again."""
    limits = DiscordRateLimits(per_second=1, clock=loop_clock())
    surface = ChannelReplySurface(SimpleNamespace(id=43), limits)  # type: ignore[arg-type]
    await _call(limits, MESSAGE_EDIT, 42)
    while limits.global_budget.try_acquire():  # the global budget is spent: the update waits there
        pass
    pacing = asyncio.create_task(surface.pace("edit", False))
    await asyncio.sleep(0.05)
    limits.observe("PATCH", f"{BASE}/channels/42/messages/9", 429, _shared_429())
    await asyncio.wait_for(pacing, 3)
    [gate] = limits.hidden.gates(MESSAGE_EDIT, "43")
    for _ in range(4):
        await asyncio.wait_for(gate.acquire(urgent=True), 0.01)
    with pytest.raises(TimeoutError):  # the waiting update holds one of the five
        await asyncio.wait_for(gate.acquire(urgent=True), 1)


@in_virtual_time
async def test_a_shared_gate_counts_a_call_from_its_answer_and_keeps_its_last_call_for_a_final_text() -> None:
    clock = loop_clock()
    gate = SharedGate(limit=3, window=1.0, clock=clock)
    started = clock()
    await gate.acquire()
    await asyncio.sleep(0.5)  # the request waited, went out and was answered only now
    gate.answered()
    await gate.acquire()
    gate.answered()
    routine = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0.05)
    assert not routine.done(), "the last call is left to a final text..."
    await asyncio.wait_for(gate.acquire(urgent=True), 0.01)
    gate.answered()
    await routine
    assert clock() - started >= 1.5, "...and the next counts from the first answer (0.5 s), not its grant"


@in_virtual_time
async def test_a_global_429_lowers_the_global_rate_for_a_while_then_it_recovers() -> None:
    clock = loop_clock()
    limits = DiscordRateLimits(per_second=10, clock=clock)
    usual = limits.global_budget.rate
    refused = {"Retry-After": "1", "X-RateLimit-Global": "true"}
    for _ in range(3):
        limits.observe("GET", f"{BASE}/users/@me", 429, refused)
    assert limits.global_budget.rate == pytest.approx(usual * GLOBAL_CAUTION), "requests sent together: one event"
    await asyncio.sleep(1)
    limits.observe("GET", f"{BASE}/users/@me", 429, {"Retry-After": "1", "X-RateLimit-Scope": "global"})
    assert limits.global_budget.rate == pytest.approx(usual * GLOBAL_CAUTION**2), "a later one: more careful"

    started = clock()
    for _ in range(20):
        await limits.acquire_global()
    assert clock() - started >= 1 + 18 / (usual * GLOBAL_CAUTION**2), "fewer grants a second"
    await asyncio.sleep(GLOBAL_CAUTION_FOR)
    await limits.acquire_global()
    assert limits.global_budget.rate == usual and limits.global_caution == 1.0


@in_virtual_time
async def test_a_channel_already_streaming_counts_its_calls_once_on_a_budget_learned_elsewhere() -> None:
    """Posts and edits Discord names as one bucket share it: their answers count once, not once per route."""
    clock = loop_clock()
    limits = DiscordRateLimits(clock=clock)
    for channel in (43, 42):
        for route in (MESSAGE_CREATE, MESSAGE_EDIT):
            await limits.acquire(route, str(channel), urgent=True)
            path = f"/channels/{channel}/messages" + ("/9" if route == MESSAGE_EDIT else "")
            limits.observe("POST" if route == MESSAGE_CREATE else "PATCH", BASE + path, 200, _headers(5, 4, 5.0))
    limits.observe("PATCH", f"{BASE}/channels/42/messages/9", 429, {**_shared_429(), "X-RateLimit-Bucket": "abc"})
    assert limits.gate(MESSAGE_CREATE, "43") is limits.gate(MESSAGE_EDIT, "43")

    [gate] = limits.hidden.gates(MESSAGE_EDIT, "43")
    started = clock()
    for _ in range(3):
        await gate.acquire(urgent=True)
    assert clock() == started, "two of the five were used in channel 43 before the budget was learned"
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(gate.acquire(urgent=True), 1)
