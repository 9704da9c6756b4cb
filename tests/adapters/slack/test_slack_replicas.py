"""Two bridge replicas on one Slack app: in Socket Mode each holds its own connection and Slack spreads the
events over them; in HTTP mode each serves its own endpoint behind a load balancer (the simulator posts to
the two URLs in turn). The replicas share one database file, as they share one store, so an event Slack
retries to the other replica is still answered once. A Stop click that reaches the replica not running the
answer is passed on to the one that does, through a shared PostgreSQL database."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import psycopg
import pytest

from adapters.slack import controls as slack_controls
from bridge import texts
from bridge.control_ids import Action, control_id
from simulators.model_upstream import ModelUpstream
from simulators.openwebui_fake import FakeOpenWebUI
from simulators.postgres_server import RealPostgres
from simulators.slack.server import UserMessage
from tests.adapters.slack.conftest import SlackBridge

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"


@pytest.fixture
async def second_replica(
    slack_bridge: SlackBridge, fake_owui: FakeOpenWebUI, model_upstream: ModelUpstream
) -> AsyncIterator[SlackBridge]:
    """Another bridge process on the same simulated app and the same database file (not started yet)."""
    other = SlackBridge(slack_bridge.sim, fake_owui, model_upstream, slack_bridge.db)
    try:
        yield other
    finally:
        await other.stop()


async def settle(*replicas: SlackBridge) -> None:
    """Every delivery acknowledged and no replica running anything (twice round: one may have started work
    while the other was being waited for)."""
    for _ in range(2):
        for replica in replicas:
            await replica.settle()


async def start_connected(replica: SlackBridge) -> None:
    """Start `replica` in Socket Mode beside the running one: until Slack has both connections."""
    await replica.start()
    assert await replica.sim.wait_for(lambda: len(replica.sim.socket.connections) == 2, 5)


async def http_endpoints(*replicas: SlackBridge) -> list[str]:
    """(Re)start each replica in HTTP mode on a port of its own; their events URLs, in that order."""
    urls = []
    for replica in replicas:
        adapter = await replica.restart(mode="http")
        urls.append(f"http://127.0.0.1:{adapter.http_port}{adapter.settings.http_path}")
    return urls


def answered_once(bridge: SlackBridge, posted: list[UserMessage], question: str) -> None:
    for number, message in enumerate(posted):
        text = f"{question} {number}"
        assert len(bridge.asked(text)) == 1, f"{text!r} went to the model once"
        assert bridge.sim.bot_messages(CHANNEL, message.ts) == [bridge.reply_to(text)], f"{text!r} answered once"


async def test_socket_mode_replicas_each_hold_a_connection_and_answer_every_event_once(
    slack_bridge: SlackBridge, second_replica: SlackBridge
) -> None:
    sim = slack_bridge.sim
    await start_connected(second_replica)
    assert slack_bridge.adapter is not None and slack_bridge.adapter.ready()
    assert second_replica.adapter is not None and second_replica.adapter.ready()

    posted = [await sim.user_mentions_app(CHANNEL, ALICE, f"spread question {n}") for n in range(8)]
    await settle(slack_bridge, second_replica)
    answered_once(slack_bridge, posted, "spread question")
    mentions = [m.deliveries[0] for m in posted]
    assert {d.attempts[0].via for d in mentions} == {"socket-1", "socket-2"}, "both replicas got events"

    # Slack retries each of them (as after a lost ack): whichever replica gets a retry, nothing is answered twice
    retries = [sim.deliver_again(d.event_id or "") for d in mentions]
    await settle(slack_bridge, second_replica)
    assert all(d.attempts[-1].retry_num == 1 and d.attempts[-1].outcome == "acked" for d in retries)
    assert {d.attempts[-1].via for d in retries} == {"socket-1", "socket-2"}
    answered_once(slack_bridge, posted, "spread question")


async def test_a_thread_goes_on_whichever_replica_gets_the_next_message(
    slack_bridge: SlackBridge, second_replica: SlackBridge
) -> None:
    sim = slack_bridge.sim
    await start_connected(second_replica)
    first = await sim.user_mentions_app(CHANNEL, ALICE, "remember MARKER-shared")
    await settle(slack_bridge, second_replica)
    carriers = {first.deliveries[0].attempts[0].via}
    for number in range(5):
        follow_up = await sim.user_posts(CHANNEL, ALICE, f"follow-up {number}", thread_ts=first.ts)
        await settle(slack_bridge, second_replica)
        carriers.add(follow_up.deliveries[0].attempts[-1].via)
        request = slack_bridge.asked(f"follow-up {number}")[-1]
        assert request.message_count == 3 + 2 * number, "the whole thread is the context, whoever answers"
    assert carriers == {"socket-1", "socket-2"}
    assert len(sim.bot_messages(CHANNEL, first.ts)) == 6


async def test_http_replicas_behind_a_load_balancer_check_signatures_and_answer_retries_once(
    slack_bridge: SlackBridge, second_replica: SlackBridge
) -> None:
    sim = slack_bridge.sim
    urls = await http_endpoints(slack_bridge, second_replica)
    assert urls[0] != urls[1]
    sim.use_http(urls)
    dm = sim.dm_channel(ALICE)

    for url in urls:
        verified = await sim.send_http("events_api", {"type": "url_verification", "challenge": "c-1"}, url=url)
        assert verified.status == 200 and verified.json() == {"challenge": "c-1"}
        forged = sim.build_message_event(dm, ALICE, "forged message")
        bad = await sim.send_http("events_api", forged, signature="v0=" + "0" * 64, url=url)
        stale = await sim.send_http("events_api", forged, timestamp=int(time.time()) - 600, url=url)
        assert (bad.status, stale.status) == (401, 401), f"{url} checks the signature"

    # direct messages posted to the two endpoints in turn: one conversation, each message answered once
    for number in range(4):
        event = sim.build_message_event(dm, ALICE, f"alternate dm {number}")
        answer = await sim.send_http("events_api", event, url=urls[number % 2])
        assert answer.status == 200
        await settle(slack_bridge, second_replica)
    replies = [slack_bridge.reply_to(f"alternate dm {n}") for n in range(4)]
    assert [m.visible_text for m in sim.bot_message_records(dm)] == replies
    assert slack_bridge.asked("alternate dm 3")[-1].message_count == 7, "the whole DM is the context on both"
    assert not slack_bridge.asked("forged message")

    # mentions through the balancer, then Slack's retries (X-Slack-Retry-Num) of them, each to the next
    # replica in turn: acknowledged, never answered twice
    posted = [await sim.user_mentions_app(CHANNEL, ALICE, f"balanced question {n}") for n in range(6)]
    await settle(slack_bridge, second_replica)
    answered_once(slack_bridge, posted, "balanced question")
    mentions = [m.deliveries[0] for m in posted]
    retries = [sim.deliver_again(d.event_id or "") for d in mentions]
    await settle(slack_bridge, second_replica)
    assert [(d.attempts[-1].retry_num, d.attempts[-1].http_status) for d in retries] == [(1, 200)] * len(retries)
    assert any(d.attempts[-1].via != d.attempts[0].via for d in retries), "some retries reached the other replica"
    answered_once(slack_bridge, posted, "balanced question")


async def test_a_request_the_balancer_sends_to_a_stopped_replica_is_answered_by_the_other_on_slacks_retry(
    slack_bridge: SlackBridge, second_replica: SlackBridge
) -> None:
    sim = slack_bridge.sim
    alive, stopped = await http_endpoints(slack_bridge, second_replica)
    await second_replica.stop()
    sim.use_http([stopped, alive])  # the balancer has not noticed yet: the next request goes to the stopped one

    message = await sim.user_dm(ALICE, "is anyone there?")
    await settle(slack_bridge)
    [delivery] = message.deliveries
    assert [(a.retry_num, a.via, a.outcome) for a in delivery.attempts] == [
        (0, stopped, "connection_failed"),
        (1, alive, "acked"),
    ]
    assert sim.bot_messages(sim.dm_channel(ALICE)) == [slack_bridge.reply_to("is anyone there?")]


async def test_a_stop_clicked_on_the_replica_that_does_not_run_the_answer_ends_it(
    slack_bridge: SlackBridge, second_replica: SlackBridge, postgres: RealPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind the balancer the Stop click reaches the other replica, which passes it on through PostgreSQL."""
    monkeypatch.setattr(slack_controls, "STOP_AFTER", 0.3)
    url = postgres.create_database()
    slack_bridge.bridge = {"db_url": url, "replica_id": "s1"}
    second_replica.bridge = {"db_url": url, "replica_id": "s2"}
    sim = slack_bridge.sim
    running, other = await http_endpoints(slack_bridge, second_replica)
    sim.use_http(running)
    posted = await sim.user_mentions_app(CHANNEL, ALICE, "go on and on [[endless]] [[rate:30]]")
    assert await sim.wait_for(lambda: bool(sim.ephemerals(CHANNEL, ALICE)), timeout=10)
    [offer] = sim.ephemerals(CHANNEL, ALICE)
    stop = control_id(Action.STOP, f"{sim.team_id}:{CHANNEL}:{posted.ts}")

    sim.use_http(other)
    click = await sim.user_clicks(CHANNEL, offer["ts"], ALICE, stop)
    await settle(slack_bridge, second_replica)
    assert [a.via for a in click.attempts] == [other]
    [answer] = sim.bot_message_records(CHANNEL, posted.ts)
    assert answer.visible_text.endswith(texts.stopped_by("alice"))
    assert [e["visible_text"] for e in sim.ephemerals(CHANNEL, ALICE)] == [offer["visible_text"]], "no other note"
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT replica, state FROM turns").fetchall() == [("s1", "done")]
