"""Several replicas in one test process, each its own `Store` and engine, sharing one PostgreSQL database and
the fake OpenWebUI: exactly one answer per event, one turn at a time per conversation in arrival order
whichever replica got the message, and a replica that dies mid-turn is found by another (issue 16).

A replica "dies" the way `kill -9` looks from the database: its heartbeat stops and it never releases what
it holds; its task is left stuck in a stalled answer until the test ends (`Replica.kill`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from bridge.app import App
from bridge.messages import ConversationKey, InterruptedTurn
from bridge.openwebui import OpenWebUIClient
from bridge.outcomes import TurnState
from bridge.runner import serve
from bridge.store import Store, StoreError
from simulators.model_upstream import ModelUpstream
from simulators.openwebui_fake import FakeOpenWebUI
from simulators.postgres_server import RealPostgres
from tests.bridge.test_engine import assert_tree
from tests.bridge.test_runner import Idle
from tests.conftest import make_app
from tests.messages import key, message
from tests.surfaces import RecordingSurface


@dataclass
class Replica:
    name: str
    store: Store
    client: OpenWebUIClient
    app: App

    @property
    def engine(self):  # type: ignore[no-untyped-def]
        return self.app.engine

    async def kill(self) -> None:
        """Stop beating, as a killed process does; what it holds stays held until its lease expires."""
        heartbeat = self.engine.order._heartbeat
        assert heartbeat is not None, "the replica holds nothing: there is nothing to die with"
        heartbeat.cancel()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.engine.order.close()
        await self.client.aclose()
        with contextlib.suppress(Exception):
            await self.store.close()


StartReplica = Callable[..., Awaitable[Replica]]


@pytest.fixture
async def start_replica(postgres: RealPostgres, fake_owui: FakeOpenWebUI) -> AsyncIterator[StartReplica]:
    """Start replicas (by name, with `BridgeSettings` fields as keywords) on one fresh PostgreSQL database."""
    url = postgres.create_database()
    started: list[Replica] = []

    async def start(name: str, **bridge: object) -> Replica:
        store = await Store.open(url)
        client = OpenWebUIClient(fake_owui.url, fake_owui.api_key, idle_timeout=30)
        replica = Replica(name, store, client, make_app(client, store, replica_id=name, **bridge))
        started.append(replica)
        return replica

    yield start
    for replica in started:
        await replica.close()


class Marks:
    """An adapter's `mark_interrupted`: records what it was asked to mark, and says what had been shown."""

    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.marked: list[InterruptedTurn] = []

    async def __call__(self, turn: InterruptedTurn, note: str) -> list[str]:
        self.marked.append(turn)
        return [self.shown]


async def chat_path(replica: Replica, conversation: ConversationKey) -> list[dict]:
    stored = await replica.store.conversation(conversation)
    assert stored is not None
    return assert_tree((await replica.client.get_chat(stored.chat_id))["chat"])


async def until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.02)


async def test_a_duplicate_delivered_to_two_replicas_is_answered_once(start_replica: StartReplica) -> None:
    a, b = await start_replica("a"), await start_replica("b")
    k = key()
    redelivered = message(k, "answer me once [[delay:0.3]]")
    surfaces = RecordingSurface(), RecordingSurface()
    both = a.engine.handle(redelivered, surfaces[0]), b.engine.handle(redelivered, surfaces[1])
    outcomes = await asyncio.gather(*both)
    assert sorted(o.status for o in outcomes) == ["answered", "duplicate"]
    assert sum(len(s.messages) for s in surfaces) == 1  # the duplicate posted nothing
    path = await chat_path(a, k)
    assert [(m["role"], m["content"]) for m in path] == [
        ("user", "answer me once [[delay:0.3]]"),
        ("assistant", "echo: answer me once"),
    ]


async def test_one_threads_messages_on_three_replicas_are_answered_in_arrival_order(
    start_replica: StartReplica, model_upstream: ModelUpstream
) -> None:
    """Each later message is slower to start than the one before would be if they ran at once: only the
    order across replicas makes each answer come after the previous one, with it as context."""
    replicas = [await start_replica(name) for name in ("a", "b", "c")]
    k = key()
    tag = k.thread[:8]  # the upstream is the session's: this test's questions are its own
    texts = [f"part {i} of {tag} [[delay:0.{6 - 2 * i}]]" for i in range(3)]
    turns = []
    for replica, text in zip(replicas, texts, strict=True):
        turns.append(asyncio.create_task(replica.engine.handle(message(k, text), RecordingSurface())))
        await asyncio.sleep(0.15)  # arrival order: part 0 on a, then part 1 on b, then part 2 on c
    other = await replicas[1].engine.handle(message(key(), "another thread is not held up"), RecordingSurface())
    assert other.status == "answered" and not turns[0].done()  # b answered it while part 0 still runs on a
    outcomes = await asyncio.gather(*turns)
    assert [o.status for o in outcomes] == ["answered"] * 3
    path = await chat_path(replicas[0], k)
    assert [(m["role"], m["content"]) for m in path] == [
        ("user", texts[0]),
        ("assistant", f"echo: part 0 of {tag}"),
        ("user", texts[1]),
        ("assistant", f"echo: part 1 of {tag}"),
        ("user", texts[2]),
        ("assistant", f"echo: part 2 of {tag}"),
    ]
    # each turn began after the previous answer was saved: the model saw it as context
    for i, text in enumerate(texts):
        (request,) = model_upstream.asked(text.split(" [[")[0])
        assert [r for r in request.roles if r != "system"] == ["user", "assistant"] * i + ["user"]


async def test_a_replica_killed_mid_answer_is_taken_over_after_its_lease(start_replica: StartReplica) -> None:
    a = await start_replica("a", lease_seconds=1)
    b = await start_replica("b", lease_seconds=1)
    marks = Marks(shown="half an answ")
    assert await b.engine.recover("test", marks) == 0  # b's adapter launched: it can mark turns interrupted
    k = key()
    first = await a.engine.handle(message(k, "before"), RecordingSurface())
    assert first.status == "answered"
    a_surface = RecordingSurface()
    stuck = asyncio.create_task(a.engine.handle(message(k, "a long one [[endless]] [[rate:5]]"), a_surface))
    try:
        await until(lambda: bool(a_surface.messages))  # a has shown part of its answer
        await asyncio.sleep(1.5)  # longer than the lease: a's heartbeat keeps it
        async with asyncio.timeout(5):
            assert await b.engine.sweep() == 0  # a live replica's turn is left alone
        assert marks.marked == []
        await a.kill()
        b_surface = RecordingSurface()
        started = asyncio.get_running_loop().time()
        async with asyncio.timeout(10):  # not until a's endless answer ends
            after = await b.engine.handle(message(k, "still there?"), b_surface)
        waited = asyncio.get_running_loop().time() - started
        assert after.status == "answered", after.error
        assert b_surface.visible(after.message_ids) == "echo: still there?"
        assert 0.3 < waited < 5  # it waited for a's lease to expire, not for a's answer
        assert [(m.key, m.message_ids) for m in marks.marked] == [(k, list(a_surface.messages))]
        path = await chat_path(b, k)
        assert [(m["role"], m["content"]) for m in path] == [
            ("user", "before"),
            ("assistant", "echo: before"),
            ("user", "a long one [[endless]] [[rate:5]]"),
            ("assistant", "half an answ"),
            ("user", "still there?"),
            ("assistant", "echo: still there?"),
        ]
        assert "interrupted" in path[3]["error"]["content"]
        assert await b.store.open_turns() == []
        interrupted = await b.store.turn("test", first.turn_id + 1)  # type: ignore[operator]
        assert interrupted is not None and interrupted.state == TurnState.INTERRUPTED and interrupted.replica == "a"
    finally:
        await a.store.close()  # dead: the stuck task can change nothing any more
        await a.client.aclose()
        stuck.cancel()
        await asyncio.gather(stuck, return_exceptions=True)


async def test_the_sweep_closes_a_dead_replicas_turn_when_nobody_writes_again(start_replica: StartReplica) -> None:
    a = await start_replica("a", lease_seconds=1)
    b = await start_replica("b", lease_seconds=1)
    marks = Marks(shown="")
    await b.engine.recover("test", marks)
    k = key()
    a_surface = RecordingSurface()
    stuck = asyncio.create_task(a.engine.handle(message(k, "going [[endless]] [[rate:5]]"), a_surface))
    try:
        await until(lambda: bool(a_surface.messages))
        await a.kill()
        async with asyncio.timeout(10):
            assert await b.engine.sweep() == 0  # its lease has not expired yet
            await asyncio.sleep(1.2)
            assert await b.engine.sweep() == 1
        assert [m.key for m in marks.marked] == [k]
        assert await b.store.open_turns() == []
        path = await chat_path(b, k)
        assert path[-1]["role"] == "assistant" and "interrupted" in path[-1]["error"]["content"]
    finally:
        await a.store.close()
        await a.client.aclose()
        stuck.cancel()
        await asyncio.gather(stuck, return_exceptions=True)


class Marking(Idle):
    """A launched adapter whose `mark_interrupted` is `marks`."""

    def __init__(self, marks: Marks) -> None:
        super().__init__()
        self.connected.set()
        self.mark_interrupted = marks  # type: ignore[method-assign]


async def test_a_running_bridge_sweeps_a_dead_replicas_turn_by_itself(start_replica: StartReplica) -> None:
    """`bridge run`'s sweep, every half lease: nobody writes in the conversation again."""
    a = await start_replica("a", lease_seconds=1)
    b = await start_replica("b", lease_seconds=1)
    k = key()
    a_surface = RecordingSurface()
    stuck = asyncio.create_task(a.engine.handle(message(k, "gone [[endless]] [[rate:5]]"), a_surface))
    marks = Marks(shown="")
    stop = asyncio.Event()
    running = asyncio.create_task(serve(b.app, {"test": Marking(marks)}, stop, health=False))
    try:
        await until(lambda: bool(a_surface.messages))
        await asyncio.sleep(1.5)
        assert marks.marked == []  # a beats: its turn is left alone
        await a.kill()
        async with asyncio.timeout(5):  # marked on the platform, then closed in OpenWebUI and the store
            while await b.store.open_turns():
                await asyncio.sleep(0.05)
        assert [m.key for m in marks.marked] == [k]
    finally:
        stop.set()
        await running
        await a.store.close()
        await a.client.aclose()
        stuck.cancel()
        await asyncio.gather(stuck, return_exceptions=True)


async def test_a_replica_restarted_under_its_id_closes_its_own_turns_at_once(start_replica: StartReplica) -> None:
    """A fixed `BRIDGE_REPLICA_ID` (one per container): what the killed process held is its own, not another's
    to wait for."""
    old = await start_replica("a")  # the default lease, 15 s: nothing here waits for it
    k = key()
    old_surface = RecordingSurface()
    stuck = asyncio.create_task(old.engine.handle(message(k, "cut short [[endless]] [[rate:5]]"), old_surface))
    try:
        await until(lambda: bool(old_surface.messages))
        await old.kill()
        new = await start_replica("a")
        marks = Marks(shown="cut")
        async with asyncio.timeout(5):
            assert await new.engine.recover("test", marks) == 1
            after = await new.engine.handle(message(k, "again"), RecordingSurface())
        assert [m.key for m in marks.marked] == [k] and after.status == "answered"
        path = await chat_path(new, k)
        assert [(m["role"], m["content"]) for m in path][-3:] == [
            ("assistant", "cut"),
            ("user", "again"),
            ("assistant", "echo: again"),
        ]
    finally:
        await old.store.close()
        await old.client.aclose()
        stuck.cancel()
        await asyncio.gather(stuck, return_exceptions=True)


async def test_a_turn_the_database_could_not_release_is_released_later(
    start_replica: StartReplica, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer shown stays a success; the conversation is not held by this replica's leftover entry."""
    a = await start_replica("a")
    db = a.engine.order._db
    release = db.release
    failures = []

    async def failing_once(entry: int, conversation: str) -> None:
        if not failures:
            failures.append(entry)
            raise StoreError("database error: connection lost")
        await release(entry, conversation)

    monkeypatch.setattr(db, "release", failing_once)
    k = key()
    surface = RecordingSurface()
    first = await a.engine.handle(message(k, "one"), surface)
    assert first.status == "answered" and surface.texts == ["echo: one"] and failures
    async with asyncio.timeout(5):
        second = await a.engine.handle(message(k, "two"), RecordingSurface())
    assert second.status == "answered"
    assert await a.store._run(lambda: a.store._sql.execute("SELECT count(*) FROM conversation_queue").fetchone()) == (
        0,
    )
