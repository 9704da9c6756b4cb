"""Three `bridge run` processes on one PostgreSQL database, one Discord bot and the fake OpenWebUI (issue 16).

Unsharded, every gateway session of a bot gets every guild event, so each message reaches all three
replicas: every message is a duplicate twice over, and the simulator replays some once more. Messages of
several threads are interleaved, each later one faster to answer than the one before; then the replica
streaming an answer is killed with SIGKILL and the conversation goes on on the others.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psycopg
import pytest

from bridge.openwebui import chat as chats
from bridge.texts import INTERRUPTED
from simulators.discord import DiscordSimulator
from simulators.openwebui_fake import FakeOpenWebUI
from simulators.postgres_server import RealPostgres
from simulators.processes import environ_without_settings, free_port
from tests.test_bridge_process import BridgeProcess

LEASE_SECONDS = 3  # short, so the kill is taken over quickly; not so short that a loaded machine misses a heartbeat


@pytest.fixture
async def replicas(
    discord_sim: DiscordSimulator, fake_owui: FakeOpenWebUI, postgres: RealPostgres, tmp_path: Path
) -> AsyncIterator[list[BridgeProcess]]:
    guild = await discord_sim.create_guild("Replicas")
    general = await discord_sim.create_text_channel(guild, "general")
    alice = await discord_sim.create_user("alice")
    await discord_sim.add_member(guild, alice)
    url = postgres.create_database()
    started = []
    for name in ("r1", "r2", "r3"):
        folder = tmp_path / name
        folder.mkdir()
        port = free_port()
        env = {
            **environ_without_settings(),
            "OPENWEBUI_URL": fake_owui.url,
            "OPENWEBUI_API_KEY": fake_owui.api_key,
            "OPENWEBUI_DEFAULT_MODEL": "echo-1",
            "BRIDGE_DATA_DIR": str(folder / "data"),
            "BRIDGE_DB_URL": url,
            "BRIDGE_REPLICA_ID": name,
            "BRIDGE_LEASE_SECONDS": str(LEASE_SECONDS),
            "BRIDGE_HEALTH_PORT": str(port),
            "BRIDGE_HEALTH_HOST": "127.0.0.1",
            "BRIDGE_SHUTDOWN_GRACE": "2",
            "DISCORD_BOT_TOKEN": discord_sim.token,
            "DISCORD_API_URL": discord_sim.rest_base,
            "DISCORD_GATEWAY_URL": discord_sim.gateway_url,
        }
        started.append(BridgeProcess(env, folder / "bridge.log", f"http://127.0.0.1:{port}", general, alice))
    try:
        for bridge in started:
            bridge.start()
        for bridge in started:
            await bridge.wait_ready(60)
        yield started
    finally:
        for bridge in started:
            if bridge.process and bridge.process.poll() is None:
                bridge.kill(signal.SIGKILL)


def turns_by_replica(url: str) -> dict[str, list[str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT replica, state FROM turns ORDER BY id").fetchall()
    found: dict[str, list[str]] = {}
    for replica, state in rows:
        found.setdefault(replica, []).append(state)
    return found


async def test_three_replicas_answer_once_in_order_and_survive_a_kill(
    replicas: list[BridgeProcess], discord_sim: DiscordSimulator, fake_owui: FakeOpenWebUI
) -> None:
    general, alice = replicas[0].general, replicas[0].alice
    url = replicas[0].env["BRIDGE_DB_URL"]

    # Three threads, each opened by one replica (all three got each mention).
    questions = [await discord_sim.user_says(general, alice, f"topic {t}", mentions_bot=True) for t in range(3)]
    await discord_sim.wait_until(lambda: all(discord_sim.thread_of(q) for q in questions), 30, "three threads")
    threads = [discord_sim.thread_of(q) for q in questions]
    assert len(discord_sim.threads(general)) == 3  # no mention opened a second thread
    # A mention takes its place in the order once its replica has opened the thread: Alice writes on when
    # the answer has begun, as a person who sees the thread appear does.
    await discord_sim.wait_until(lambda: all(discord_sim.bot_texts(t) for t in threads), 30, "the first answers")

    # Interleaved follow-ups: round r in every thread, one message every 0.1 s (a thread's messages 0.3 s
    # apart, as a quick typist), each round faster to answer than the one before, and every message replayed
    # once more to every replica.
    sent: list[list[str]] = [[f"topic {t}"] for t in range(3)]
    for r, delay in enumerate(("0.8", "0.4", "0")):
        for t, thread in enumerate(threads):
            text = f"thread {t} round {r} [[delay:{delay}]]"
            posted = await discord_sim.user_says(thread, alice, text)
            sent[t].append(text)
            await discord_sim.redeliver(posted)
            await asyncio.sleep(0.1)

    def answered(t: int) -> list[str]:
        return [text for text in discord_sim.bot_texts(threads[t]) if text.startswith("echo: ")]

    def expected(t: int) -> list[str]:
        return ["echo: " + text.split(" [[")[0] for text in sent[t]]

    try:
        await discord_sim.wait_until(lambda: all(answered(t) == expected(t) for t in range(3)), 60, "every answer")
    except TimeoutError:
        raise AssertionError([(discord_sim.bot_texts(threads[t]), expected(t)) for t in range(3)]) from None
    await asyncio.sleep(1)  # a second answer to any message would show by now
    for t, thread in enumerate(threads):
        assert discord_sim.bot_texts(thread) == expected(t)  # once each, in order, nothing else
        chat = next(c["chat"] for c in fake_owui.chats.values() if f"topic {t}" in str(c["chat"]))
        path = chats.chain(chat)
        assert [m["content"] for m in path if m["role"] == "user"] == sent[t]
        assert [m["role"] for m in path] == ["user", "assistant"] * len(sent[t])
    answering = turns_by_replica(url)
    assert sum(len(states) for states in answering.values()) == 12
    assert len(answering) >= 2, answering  # the turns were spread over the replicas

    # each replica names itself on /readyz and /metrics
    async with httpx.AsyncClient() as http:
        for bridge in replicas:
            ready = (await http.get(f"{bridge.health}/readyz")).json()
            assert ready["ready"] and ready["replica"] == bridge.env["BRIDGE_REPLICA_ID"]
            metrics = (await http.get(f"{bridge.health}/metrics")).text
            assert f'bridge_replica_info{{replica="{bridge.env["BRIDGE_REPLICA_ID"]}"}} 1.0' in metrics

    # kill -9 the replica streaming an answer; the thread goes on on the others.
    thread = threads[0]
    await discord_sim.user_says(thread, alice, "a long story [[reply:3000]] [[rate:15]]")
    await discord_sim.wait_until(
        lambda: (
            len(discord_sim.bot_messages(thread)) == 5
            and len(discord_sim.message_history(discord_sim.bot_messages(thread)[-1])) >= 2
        ),
        30,
        "the long answer streaming",
    )
    partial = discord_sim.bot_messages(thread)[-1]
    with psycopg.connect(url) as conn:
        (running,) = conn.execute("SELECT replica FROM turns WHERE state = 'streaming'").fetchone()
    victim = next(b for b in replicas if b.env["BRIDGE_REPLICA_ID"] == running)
    assert victim.kill(signal.SIGKILL) == -signal.SIGKILL
    await discord_sim.user_says(thread, alice, "still there?")
    await discord_sim.wait_until(
        lambda: discord_sim.bot_texts(thread)[-1] == "echo: still there?", 30, "the answer after the kill"
    )
    assert discord_sim.bot_texts(thread)[-2] == partial.content
    assert partial.content.endswith(f"⚠️ {INTERRUPTED}")

    def story() -> list[dict]:
        # thread 0's chat: the fake OpenWebUI serves the whole session, and other tests tell long stories too
        return chats.chain(next(c["chat"] for c in fake_owui.chats.values() if "topic 0" in str(c["chat"])))

    # the answer is shown, then saved in OpenWebUI
    try:
        await discord_sim.wait_until(lambda: len(story()) == 12, 10, "the answer saved")
    except TimeoutError:
        raise AssertionError([(m["role"], m["content"][:40], m.get("error")) for m in story()]) from None
    path = story()
    assert [m["role"] for m in path] == ["user", "assistant"] * 6
    assert path[-3]["error"]["content"] == INTERRUPTED and path[-4]["content"].startswith("a long story")
    assert path[-2]["content"] == "still there?"
    states = turns_by_replica(url)
    assert states[running][-1] == "interrupted"
    assert not [s for replica in states.values() for s in replica if s == "streaming"]

    for bridge in replicas:
        if bridge is not victim:
            assert await bridge.terminate() == 0
    with psycopg.connect(url) as conn:  # clean stops leave nothing behind; the killed one is forgotten later
        assert [r for (r,) in conn.execute("SELECT id FROM replicas")] in ([], [running])
        assert conn.execute("SELECT count(*) FROM conversation_queue WHERE replica <> %s", (running,)).fetchone() == (
            0,
        )
