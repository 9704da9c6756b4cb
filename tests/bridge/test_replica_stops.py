"""The Stop button across replicas (issue 16): a click that reaches a replica which does not run the answer
is passed to the one that does, through the shared PostgreSQL database (`bridge.remote_stops`), and stops it
as a local click would: the same rule, the same note, the same answers to the clicker.

Two replicas in one test process, each its own `Store` and engine (`tests.bridge.test_replicas`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bridge import texts
from bridge.messages import IncomingMessage, Person
from bridge.outcomes import TurnOutcome
from bridge.remote_stops import POLL_SECONDS
from bridge.store.stop_requests import StopRequestStore
from tests.bridge.test_replicas import Replica, StartReplica, start_replica, until
from tests.messages import key, message
from tests.surfaces import RecordingSurface

__all__ = ["start_replica"]  # the fixture, shared with the replica tests

ADA = Person("u1", "Ada")  # `tests.messages.message` asks as u1
BOB = Person("u2", "Bob")


async def _requests_left(replica: Replica) -> list[tuple]:
    store = replica.store
    return await store._run(lambda: store._sql.execute("SELECT question, result FROM stop_requests").fetchall())


@dataclass
class Streaming:
    asked: IncomingMessage
    surface: RecordingSurface
    turn: asyncio.Task[TurnOutcome]


@asynccontextmanager
async def streaming(replica: Replica, text: str = "go on [[endless]] [[rate:40]]") -> AsyncIterator[Streaming]:
    """An endless answer streaming on `replica` (it has shown its first words); cancelled at the end."""
    asked = message(key(), text)
    surface = RecordingSurface()
    turn = asyncio.create_task(replica.engine.handle(asked, surface))
    try:
        await until(lambda: bool(surface.messages))
        yield Streaming(asked, surface, turn)
    finally:
        turn.cancel()
        await asyncio.gather(turn, return_exceptions=True)


async def test_a_stop_clicked_on_another_replica_stops_the_answer_with_its_note(start_replica: StartReplica) -> None:
    a, b = await start_replica("a"), await start_replica("b")
    async with streaming(a) as answer:
        await until(lambda: len("".join(answer.surface.messages.values())) > 40)
        loop = asyncio.get_running_loop()
        clicked = loop.time()
        assert await b.app.core.controls.stop("test", answer.asked.event_id, ADA, admin=False) == ""
        assert loop.time() - clicked < 1.5, "the running replica applies the stop within about a second"
        outcome = await asyncio.wait_for(answer.turn, 10)
    assert outcome.status == "answered"
    shown = answer.surface.visible(outcome.message_ids)
    assert shown.endswith(texts.stopped_by("Ada")) and len(shown) > 40
    assert await _requests_left(b) == [], "a handled request is deleted"
    assert await b.app.core.controls.stop("test", answer.asked.event_id, ADA, admin=False) == texts.ALREADY_FINISHED


async def test_a_stop_by_someone_who_may_not_is_refused_on_either_replica(start_replica: StartReplica) -> None:
    a, b = await start_replica("a"), await start_replica("b")
    async with streaming(a) as answer:
        question = answer.asked.event_id
        assert await a.app.core.controls.stop("test", question, BOB, admin=False) == texts.STOP_NOT_YOURS
        assert await b.app.core.controls.stop("test", question, BOB, admin=False) == texts.STOP_NOT_YOURS
        shown = len("".join(answer.surface.messages.values()))
        await until(lambda: len("".join(answer.surface.messages.values())) > shown)
        assert not answer.turn.done(), "the answer still streams"
        assert await b.app.core.controls.stop("test", question, BOB, admin=True) == ""  # an admin may
        outcome = await asyncio.wait_for(answer.turn, 10)
        assert outcome.text.endswith(texts.stopped_by("Bob"))


async def test_a_regenerated_answer_is_stopped_from_another_replica_by_its_own_button(
    start_replica: StartReplica,
) -> None:
    a, b = await start_replica("a"), await start_replica("b")
    async with streaming(a, "pick a colour [[endless]] [[rate:40]]") as answer:
        assert await a.app.core.controls.stop("test", answer.asked.event_id, ADA, admin=False) == ""  # on a itself
        first = await asyncio.wait_for(answer.turn, 10)
    assert first.turn_id is not None
    surface = RecordingSurface()
    again = asyncio.create_task(a.app.core.controls.regenerate("test", first.turn_id, ADA, "click-7", surface))
    try:
        await until(lambda: bool(surface.messages))
        assert await b.app.core.controls.stop("test", "click-7", ADA, admin=False) == ""  # the button names the click
        outcome = await asyncio.wait_for(again, 10)
    finally:
        again.cancel()
        await asyncio.gather(again, return_exceptions=True)
    assert outcome.text.endswith(texts.stopped_by("Ada"))


async def test_a_stop_for_an_answer_that_finished_says_so_and_asks_no_replica(start_replica: StartReplica) -> None:
    a, b = await start_replica("a"), await start_replica("b")
    asked = message(key(), "short")
    outcome = await a.engine.handle(asked, RecordingSurface())
    assert outcome.status == "answered"
    await asyncio.sleep(2 * POLL_SECONDS)  # a click a moment later: a, running nothing, reads no requests
    assert await b.app.core.controls.stop("test", asked.event_id, ADA, admin=False) == texts.ALREADY_FINISHED
    assert await _requests_left(b) == []


async def test_a_stop_the_running_replica_does_not_answer_in_time_is_said_to_be_passed_on(
    start_replica: StartReplica,
) -> None:
    a, b = await start_replica("a"), await start_replica("b")
    async with streaming(a) as answer:
        watcher = a.engine.stops._watcher
        assert watcher is not None
        watcher.cancel()  # a is alive but does not get to its requests (stuck, overloaded)
        question = answer.asked.event_id
        assert await b.app.core.controls.stop("test", question, ADA, admin=False) == texts.STOP_PASSED_ON
        assert await _requests_left(b) == [(question, None)], "the request waits for a"
        assert not answer.turn.done()


async def test_requests_older_than_a_minute_are_deleted_by_a_replica_running_answers(
    start_replica: StartReplica,
) -> None:
    a = await start_replica("a")
    stale = await StopRequestStore(a.store).add("gone", "test", "q-old", "u1", "Ada", admin=False)
    await StopRequestStore(a.store).add("gone", "test", "q-new", "u1", "Ada", admin=False)
    await a.store._run(
        lambda: a.store._write("UPDATE stop_requests SET requested_at = requested_at - 61 WHERE id = ?", (stale,))
    )
    async with streaming(a):
        await asyncio.sleep(2 * POLL_SECONDS)
        assert await _requests_left(a) == [("q-new", None)]
