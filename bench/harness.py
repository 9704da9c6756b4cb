"""One benchmark run: model upstream, OpenWebUI stand-in, one simulated platform, the bridge, N questions.

The upstream, the stand-in and the simulator run in this process, on this event loop, so every record
they keep is on one `time.monotonic()` clock; the bridge runs in its own process (`BridgeProcess`).
With `replicas` the bridge runs as that many processes on one real PostgreSQL (`--replicas`), and the
replicas share the platforms' rate budgets (README "Several replicas: shared rate budgets") through that
PostgreSQL or, with `budget_store` "redis", through a real Redis started for the run (`--budget-store`).
A run waits until every reply shows the upstream's whole text, or nothing changes for `QUIET` seconds
after the upstream finished, or until its time cap; what was seen by then is what gets measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.bridge_process import BridgeProcess, BridgeReplicas, cpu_seconds, profiled
from bench.drivers import DRIVERS, DiscordDriver, Driver
from bench.linking import link_everyone
from bench.records import Conversation, Cost, Run
from simulators.model_upstream import ModelUpstream, UpstreamRequest, long_reply
from simulators.openwebui_fake import FakeOpenWebUI
from simulators.postgres_server import RealPostgres
from simulators.redis_server import RealRedis

Bridge = BridgeProcess | BridgeReplicas

QUIET = 20.0
"""Seconds without a visible change in any reply, after every upstream finished, before waiting stops."""
POLL = 0.25
CONNECT_TIMEOUT = 30.0
WARM_UP_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Plan:
    """What one run does: `n` conversations of `reply_chars` characters at the upstream's pace."""

    platform: str
    n: int
    reply_chars: int
    tokens_per_second: float
    first_token_delay: float
    time_cap: float
    real_openwebui: bool = False
    profile: Path | None = None
    """Record the bridge with py-spy into this file (collapsed stacks; `bench.profile` summarises them)."""
    hidden_limits: bool = False
    """Discord: posts and edits in one channel also share a budget no header announces (`DiscordDriver`)."""
    mode: str = "key"
    """How the bridge runs turns (README "Two ways to run a turn"): "key", pass-through with the API key; or
    "signed-in", the web UI's way with OpenWebUI's socket, which needs a real OpenWebUI (the stand-in has no
    sign-in and no socket)."""
    linked: bool = False
    """Every person linked to an OpenWebUI user of their own, policy `linked` (`bench.linking`)."""
    replicas: int = 0
    """0: one bridge process on its SQLite file (the default); else this many processes on one PostgreSQL."""
    budget_store: str = "postgresql"
    """With `replicas`: where they exchange their rate budgets' rows, "postgresql" (the store) or "redis"."""


@dataclass(slots=True)
class _OpenWebUI:
    url: str
    api_key: str
    email: str = ""
    password: str = ""
    fake: FakeOpenWebUI | None = None
    pid: int | None = None
    """A real OpenWebUI's process, whose CPU the run reports."""


@contextlib.asynccontextmanager
async def openwebui(upstream: ModelUpstream, real: bool) -> AsyncIterator[_OpenWebUI]:
    """The fake OpenWebUI on this loop, or a real one (its blocking start runs in a thread, so this loop
    keeps serving the upstream it calls during start-up)."""
    if not real:
        async with FakeOpenWebUI(upstream.base_url) as fake:
            yield _OpenWebUI(fake.url, fake.api_key, fake=fake)
        return
    from simulators.openwebui_server import RealOpenWebUI

    server = RealOpenWebUI(upstream.base_url)
    await asyncio.to_thread(server.start)
    try:
        yield _OpenWebUI(server.base_url, server.api_key, server.admin_email, server.admin_password, pid=server.pid)
    finally:
        await asyncio.to_thread(server.stop)


async def run(plan: Plan) -> Run:
    """Do one run and return what it recorded (raises with the bridge's log tail if the bridge fails)."""
    upstream = ModelUpstream(tokens_per_second=plan.tokens_per_second, first_token_delay=plan.first_token_delay)
    driver = _driver(plan)
    signed_in = plan.mode == "signed-in"
    async with upstream, openwebui(upstream, plan.real_openwebui or signed_in) as owui:
        await driver.start()
        try:
            with tempfile.TemporaryDirectory(prefix="bench-") as folder:
                await driver.prepare(plan.n + 1)
                env = _bridge_env(owui, driver, signed_in)
                if plan.linked:
                    assert owui.fake is not None, "--linked runs on the OpenWebUI stand-in only"
                    database = Path(folder) / "data" / "bridge.db"
                    env |= await link_everyone(plan.platform, driver.user_ids(), owui.fake, database)
                async with _database(plan) as url, _budget_redis(plan) as budget_url:
                    bridge: Bridge = BridgeProcess(Path(folder), env)
                    if url:  # each replica logs its exchanges' round trips (at INFO) when it stops
                        replicated = env | {"BRIDGE_DB_URL": url, "BRIDGE_LOG_LEVEL": "INFO"}
                        replicated |= {"BRIDGE_BUDGET_URL": budget_url} if budget_url else {}
                        bridge = BridgeReplicas(Path(folder), replicated, plan.replicas)
                    try:
                        recorded = await _drive(plan, driver, upstream, bridge, owui.pid)
                        if owui.fake is not None:
                            recorded.chat_owners = len({chat["user_id"] for chat in owui.fake.chats.values()})
                    except BaseException:
                        print(f"--- bridge log tail ({plan.platform}, N={plan.n}) ---\n{bridge.log_tail()}")
                        raise
                    finally:
                        await bridge.stop()
                    if isinstance(bridge, BridgeReplicas):
                        recorded.budget_round_trips = bridge.budget_round_trips()
                        recorded.budget_store = "+".join(sorted(set(bridge.budget_stores()))) or "none logged"
                    return recorded
        finally:
            await driver.stop()


@contextlib.asynccontextmanager
async def _database(plan: Plan) -> AsyncIterator[str]:
    """A fresh database on a real PostgreSQL for `plan.replicas` (its URL), or "" for the SQLite default."""
    if not plan.replicas:
        yield ""
        return
    server = RealPostgres()
    await asyncio.to_thread(server.start)
    try:
        yield await asyncio.to_thread(server.create_database, "bench")
    finally:
        await asyncio.to_thread(server.stop)


@contextlib.asynccontextmanager
async def _budget_redis(plan: Plan) -> AsyncIterator[str]:
    """A real Redis for the replicas' rate budgets (its URL) when `plan.budget_store` says so, else ""."""
    if not plan.replicas or plan.budget_store != "redis":
        yield ""
        return
    server = RealRedis()
    await asyncio.to_thread(server.start)
    try:
        yield server.url()
    finally:
        await asyncio.to_thread(server.stop)


def _driver(plan: Plan) -> Driver:
    """The platform's driver; hidden limits are Discord's only."""
    if plan.platform == "discord":
        return DiscordDriver(hidden_limits=plan.hidden_limits)
    return DRIVERS[plan.platform]()


def _bridge_env(owui: _OpenWebUI, driver: Driver, signed_in: bool) -> dict[str, str]:
    account = {"OPENWEBUI_EMAIL": owui.email, "OPENWEBUI_PASSWORD": owui.password} if signed_in else {}
    return {
        **account,
        "OPENWEBUI_URL": owui.url,
        "OPENWEBUI_API_KEY": owui.api_key,
        "OPENWEBUI_DEFAULT_MODEL": "echo-1",
        "BRIDGE_LOG_LEVEL": "WARNING",
        "BRIDGE_SHUTDOWN_GRACE": "2",
        **driver.bridge_env(),
    }


async def _drive(plan: Plan, driver: Driver, upstream: ModelUpstream, bridge: Bridge, openwebui_pid: int | None) -> Run:
    """Warm up, ask the N questions at once, wait for the replies; `openwebui_pid`: a real OpenWebUI's."""
    await bridge.start()
    await _until(lambda: _connected(driver, max(plan.replicas, 1)), CONNECT_TIMEOUT, bridge, "the bridge to connect")
    await _warm_up(plan, driver, upstream, bridge)

    cpu_before, bench_before, started = bridge.cpu_seconds(), time.process_time(), time.monotonic()
    owui_before = cpu_seconds(openwebui_pid) if openwebui_pid else math.nan
    tags = [f"BENCH-{plan.platform}-{plan.n}-{i:03d}" for i in range(plan.n)]
    async with profiled(bridge.pid, plan.profile):
        handles = await asyncio.gather(
            *(driver.ask(i, f"{tag} [[reply:{plan.reply_chars}]]") for i, tag in enumerate(tags))
        )
        expected = long_reply(plan.reply_chars, False)
        waiter = _Waiter(driver, upstream, list(zip(tags, handles, strict=True)), expected)
        timed_out = not await waiter.wait(plan.time_cap, bridge)
        ended = time.monotonic()
    cost = Cost(
        cpu_seconds=bridge.cpu_seconds() - cpu_before,
        peak_rss_mb=bridge.peak_rss_mb(),
        bench_cpu_seconds=time.process_time() - bench_before,
        wall_seconds=ended - started,
        openwebui_cpu_seconds=cpu_seconds(openwebui_pid) - owui_before if openwebui_pid else math.nan,
    )
    conversations = [_conversation(tag, started, handle, driver, upstream) for tag, handle in waiter.items]
    return Run(
        platform=plan.platform,
        n=plan.n,
        reply_chars=plan.reply_chars,
        tokens_per_second=plan.tokens_per_second,
        first_token_delay=plan.first_token_delay,
        conversations=conversations,
        count_429=driver.count_429(),
        refused_for_length=driver.refused_for_length(),
        budget=driver.budget(),
        cost=cost,
        timed_out=timed_out,
        hidden_limits=plan.hidden_limits,
        linked=plan.linked,
        replicas=plan.replicas,
    )


async def _connected(driver: Driver, processes: int) -> bool:
    """Every bridge process has connected to the platform."""
    try:
        await driver.wait_connected(0.2)
    except TimeoutError:
        return False
    return driver.connections() >= processes


async def _until(check: Any, timeout: float, bridge: Bridge, what: str) -> None:
    """Poll the async `check` until true, failing early (with the log) if the bridge dies."""
    deadline = time.monotonic() + timeout
    while not await check():
        bridge.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}:\n{bridge.log_tail()}")
        await asyncio.sleep(0.1)


async def _warm_up(plan: Plan, driver: Driver, upstream: ModelUpstream, bridge: Bridge) -> None:
    """One short exchange before measuring, so first-use costs (connections, lazy imports) are not counted
    as the streaming path's; then a pause so the budgets it used are full again."""
    tag = f"WARMUP-{plan.platform}"
    handle = await driver.warm_up(f"{tag} [[reply:40]]")
    expected = long_reply(40, False)

    async def shown() -> bool:
        timeline = driver.timeline(handle)
        return bool(timeline) and timeline[-1].text == expected

    await _until(shown, WARM_UP_TIMEOUT, bridge, "the warm-up reply")
    await asyncio.sleep(driver.warm_up_pause)


class _Waiter:
    """Waits until every reply shows the upstream's whole text, or nothing changes anywhere for `QUIET`
    seconds after every upstream finished (a reply the bridge will never complete), or the time cap.

    Quiet is judged across all replies, not per reply: final edits queued behind a shared budget arrive
    one after another, and a reply waiting its turn is not a reply given up.
    """

    def __init__(self, driver: Driver, upstream: ModelUpstream, items: list[tuple[str, Any]], expected: str) -> None:
        self.driver = driver
        self.upstream = upstream
        self.items = items
        self.expected = expected
        self._requests: dict[str, UpstreamRequest] = {}

    def _state(self, tag: str, handle: Any) -> tuple[bool, bool, int]:
        """(the reply is complete, its upstream finished, how many visible updates it had)."""
        timeline = self.driver.timeline(handle)
        request = self._requests.get(tag) or _request(self.upstream, tag)
        if request is not None:
            self._requests[tag] = request
        finished = request is not None and request.reply == self.expected
        return finished and bool(timeline) and timeline[-1].text == self.expected, finished, len(timeline)

    async def wait(self, cap: float, bridge: Bridge) -> bool:
        """True when every reply is done (or given up after `QUIET`), False when `cap` passed first."""
        deadline = time.monotonic() + cap
        pending = list(self.items)
        seen, changed_at = -1, time.monotonic()
        while pending:
            bridge.check_alive()
            now = time.monotonic()
            states = {tag: self._state(tag, handle) for tag, handle in pending}
            pending = [(tag, handle) for tag, handle in pending if not states[tag][0]]
            updates = sum(state[2] for state in states.values())
            if updates != seen:
                seen, changed_at = updates, now
            if all(state[1] for state in states.values()) and now - changed_at >= QUIET:
                return True
            if pending and now > deadline:
                return False
            await asyncio.sleep(POLL)
        return True


def _request(upstream: ModelUpstream, tag: str) -> UpstreamRequest | None:
    found = upstream.requests_containing(tag)
    return found[-1] if found else None


def _conversation(tag: str, asked_at: float, handle: Any, driver: Driver, upstream: ModelUpstream) -> Conversation:
    request = _request(upstream, tag)
    conversation = Conversation(tag=tag, asked_at=asked_at, timeline=driver.timeline(handle))
    conversation.demand_per_s = driver.demand_per_s(handle)
    conversation.messages = driver.messages(handle)
    conversation.streamed = driver.streamed(handle)
    if request is not None:
        conversation.upstream_reply = request.reply
        conversation.model_asked_at = request.received_at
        conversation.first_token_at = request.first_token_at
        conversation.last_token_at = request.last_token_at
        conversation.progress = list(request.progress)
        conversation.tokens = request.chunks_sent
    return conversation
