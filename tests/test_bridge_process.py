"""`bridge run` as an operator runs it: one real process with both adapters, against the Discord and Slack
simulators and the fake OpenWebUI. It checks what only a whole process shows: readiness and metrics,
secrets absent from DEBUG logs and from every message sent, a `kill -9` in the middle of a streamed
answer followed by a restart, and a clean stop on SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bridge.identity.vault import make_key
from bridge.openwebui import chat as chats
from bridge.texts import INTERRUPTED
from simulators.discord import DiscordSimulator
from simulators.model_upstream import ModelUpstream
from simulators.openwebui_fake import FakeOpenWebUI
from simulators.processes import environ_without_settings, free_port
from simulators.slack import SlackSimulator
from simulators.slack.views import OpenView
from tests.adapters.discord.test_discord_identity import link as link_discord

SLACK_CHANNEL = "C0GENERAL"
SLACK_ALICE = "U0ALICE"


async def open_slack_form(sim: SlackSimulator) -> OpenView:
    """Alice runs `/owui link`; the form the app opens for her."""
    await sim.slash_command("/owui", "link", SLACK_ALICE, SLACK_CHANNEL)
    assert await sim.wait_for(lambda: bool(sim.opened_views(SLACK_ALICE)), timeout=10)
    return sim.opened_views(SLACK_ALICE)[-1]


@dataclass
class BridgeProcess:
    """Starts and stops `python -m bridge run` (`env` may be changed before `start`); its log (stderr)
    accumulates across restarts."""

    env: dict[str, str]
    log: Path
    health: str
    general: object
    alice: object
    process: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bridge", "run"], env=self.env, cwd=self.log.parent, stdout=log, stderr=log
        )

    async def wait_ready(self, timeout: float = 30) -> None:
        async with httpx.AsyncClient() as http:
            for _ in range(int(timeout * 10)):
                assert self.process and self.process.poll() is None, self.log.read_text()[-3000:]
                try:
                    if (await http.get(f"{self.health}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("the bridge never became ready:\n" + self.log.read_text()[-3000:])

    async def metrics(self) -> str:
        async with httpx.AsyncClient() as http:
            return (await http.get(f"{self.health}/metrics")).text

    def kill(self, sig: int) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return self.process.wait(timeout=30)

    async def terminate(self) -> int:
        """SIGTERM, then wait for the exit without blocking the event loop: the simulators run on it, and a
        stopping bridge still talks to them (notes of interrupted answers, disconnecting)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.process.wait, 30)


@pytest.fixture
async def bridge_process(
    discord_sim: DiscordSimulator,
    slack_sim: SlackSimulator,
    fake_owui: FakeOpenWebUI,
    tmp_path: Path,
) -> AsyncIterator[BridgeProcess]:
    guild = await discord_sim.create_guild("Ops Guild")
    general = await discord_sim.create_text_channel(guild, "general")
    alice = await discord_sim.create_user("alice")
    await discord_sim.add_member(guild, alice)
    port = free_port()
    env = {
        **environ_without_settings(),
        "OPENWEBUI_URL": fake_owui.url,
        "OPENWEBUI_API_KEY": fake_owui.api_key,
        "OPENWEBUI_DEFAULT_MODEL": "echo-1",
        "BRIDGE_DATA_DIR": str(tmp_path / "data"),
        "BRIDGE_LOG_LEVEL": "DEBUG",
        "BRIDGE_HEALTH_PORT": str(port),
        "BRIDGE_HEALTH_HOST": "127.0.0.1",
        "BRIDGE_SHUTDOWN_GRACE": "5",
        "DISCORD_BOT_TOKEN": discord_sim.token,
        "DISCORD_API_URL": discord_sim.rest_base,
        "DISCORD_GATEWAY_URL": discord_sim.gateway_url,
        "SLACK_BOT_TOKEN": slack_sim.bot_token,
        "SLACK_APP_TOKEN": slack_sim.app_token,
        "SLACK_API_URL": slack_sim.api_url,
        "BRIDGE_IDENTITY_POLICY": "mixed",
        "BRIDGE_ENCRYPTION_KEY": make_key(),
    }
    bridge = BridgeProcess(env, tmp_path / "bridge.log", f"http://127.0.0.1:{port}", general, alice)
    try:
        yield bridge
    finally:
        if bridge.process and bridge.process.poll() is None:
            bridge.kill(signal.SIGKILL)


async def test_a_whole_process_with_both_platforms(
    bridge_process: BridgeProcess,
    discord_sim: DiscordSimulator,
    slack_sim: SlackSimulator,
    fake_owui: FakeOpenWebUI,
    model_upstream: ModelUpstream,
) -> None:
    bridge_process.start()
    await bridge_process.wait_ready()
    general, alice = bridge_process.general, bridge_process.alice

    # Alice links her own OpenWebUI account on both platforms (modals), so her turns run with her key.
    discord_key, slack_key = fake_owui.add_user("Alice D"), fake_owui.add_user("Alice S")
    await link_discord(discord_sim, general, alice, discord_key)  # type: ignore[arg-type]
    form = await open_slack_form(slack_sim)
    await slack_sim.user_submits_view(form, {"api_key": slack_key})
    assert "Alice S" in str(form.shown[-1])

    # Discord and Slack answer, and the metrics move.
    question = await discord_sim.user_says(general, alice, "hello from discord", mentions_bot=True)
    await discord_sim.wait_until(
        lambda: discord_sim.thread_of(question) and discord_sim.bot_messages(discord_sim.thread_of(question)),
        15,
        "the Discord answer",
    )
    thread = discord_sim.thread_of(question)
    assert thread is not None
    await discord_sim.wait_until(
        lambda: (
            discord_sim.message_history(discord_sim.bot_messages(thread)[0])[-1].content == "echo: hello from discord"
        ),
        10,
        "the final Discord text",
    )
    posted = await slack_sim.user_mentions_app(SLACK_CHANNEL, SLACK_ALICE, "hello from slack")
    await slack_sim.wait_bot_messages(SLACK_CHANNEL, posted.ts, count=1, timeout=15)
    assert slack_sim.bot_messages(SLACK_CHANNEL, posted.ts) == ["echo: hello from slack"]
    metrics = await bridge_process.metrics()
    assert 'bridge_turns_finished_total{platform="discord",status="answered"} 1.0' in metrics
    assert 'bridge_turns_finished_total{platform="slack",status="answered"} 1.0' in metrics

    # kill -9 while an answer streams in the Discord thread, then start again.
    await discord_sim.user_says(thread, alice, "a long story [[reply:3000]] [[rate:15]]")
    await discord_sim.wait_until(
        lambda: (
            len(discord_sim.bot_messages(thread)) >= 2
            and len(discord_sim.message_history(discord_sim.bot_messages(thread)[-1])) >= 2
        ),
        15,
        "the answer streaming (posted, then edited)",
    )
    assert bridge_process.kill(signal.SIGKILL) == -signal.SIGKILL
    partial = discord_sim.bot_messages(thread)[-1]
    bridge_process.start()
    await bridge_process.wait_ready()
    await discord_sim.wait_until(
        lambda: "interrupted" in discord_sim.message_history(partial)[-1].content, 15, "the interrupted note"
    )

    def story() -> dict:
        return next(c["chat"] for c in fake_owui.chats.values() if "a long story" in str(c["chat"]))

    # The note shows before the chat is closed in OpenWebUI (with its owner's key): wait for that too.
    for _ in range(100):
        if chats.chain(story())[-1]["role"] == "assistant":
            break
        await asyncio.sleep(0.1)
    path = chats.chain(story())
    assert [m["role"] for m in path] == ["user", "assistant"] * 2
    assert path[-1]["done"] is True and "interrupted" in path[-1]["error"]["content"]
    shown = path[-1]["content"]  # what the platform showed before the crash becomes the chat's answer
    assert shown and model_upstream.requests_containing("a long story")[-1].reply.startswith(shown.rstrip())
    await discord_sim.user_says(thread, alice, "still there?")
    await discord_sim.wait_until(
        lambda: discord_sim.message_history(discord_sim.bot_messages(thread)[-1])[-1].content == "echo: still there?",
        15,
        "the answer after the restart",
    )

    # SIGTERM: a clean stop.
    assert await bridge_process.terminate() == 0

    # No secret in the DEBUG log or in anything sent to a platform, linked keys and the encryption key included.
    assert [c for c in fake_owui.chats_of(discord_key) if "hello from discord" in str(c)], "Alice's own history"
    assert [c for c in fake_owui.chats_of(slack_key) if "hello from slack" in str(c)]
    secrets = [fake_owui.api_key, discord_sim.token, slack_sim.bot_token, slack_sim.app_token]
    secrets += [discord_key, slack_key, bridge_process.env["BRIDGE_ENCRYPTION_KEY"]]
    log = bridge_process.log.read_text()
    assert "DEBUG" in log
    for secret in secrets:
        assert secret not in log, "a secret is in the log"
    sent = [str(c.body) for c in discord_sim.calls()] + [str(c.params) for c in slack_sim.calls()]
    for secret in secrets:
        assert not any(secret in body for body in sent), "a secret was sent to a platform"


async def test_a_database_deleted_while_running_is_noticed_and_no_follow_up_is_dropped(
    bridge_process: BridgeProcess,
    discord_sim: DiscordSimulator,
    slack_sim: SlackSimulator,
) -> None:
    bridge_process.start()
    await bridge_process.wait_ready()
    general, alice = bridge_process.general, bridge_process.alice
    posted = await slack_sim.user_mentions_app(SLACK_CHANNEL, SLACK_ALICE, "before the loss")
    question = await discord_sim.user_says(general, alice, "discord before the loss", mentions_bot=True)
    await slack_sim.wait_bot_messages(SLACK_CHANNEL, posted.ts, count=1, timeout=15)
    await discord_sim.wait_until(lambda: discord_sim.thread_of(question), 15, "the Discord thread")
    thread = discord_sim.thread_of(question)
    await discord_sim.wait_until(lambda: discord_sim.bot_texts(thread), 15, "the Discord answer")

    database = Path(bridge_process.env["BRIDGE_DATA_DIR"]) / "bridge.db"
    for path in database.parent.glob("bridge.db*"):
        path.unlink()
    async with httpx.AsyncClient() as http:
        for _ in range(100):
            ready = await http.get(f"{bridge_process.health}/readyz")
            if ready.status_code == 503:
                break
            await asyncio.sleep(0.1)
        body = ready.json()
        assert ready.status_code == 503 and body["checks"]["database"] is False, body
        assert str(database) in body["database_error"] and "deleted" in body["database_error"]
        assert (await http.get(f"{bridge_process.health}/readyz")).status_code == 503
    loud = [line for line in bridge_process.log.read_text().splitlines() if "deleted" in line and str(database) in line]
    assert len(loud) == 1 and "CRITICAL" in loud[0], loud

    # After a restart on a new, empty database, follow-ups in both old threads are still answered.
    assert bridge_process.kill(signal.SIGTERM) == 0
    bridge_process.start()
    await bridge_process.wait_ready()
    await slack_sim.user_posts(SLACK_CHANNEL, SLACK_ALICE, "after the loss", thread_ts=posted.ts)
    await slack_sim.wait_bot_messages(SLACK_CHANNEL, posted.ts, count=2, timeout=15)
    assert slack_sim.bot_messages(SLACK_CHANNEL, posted.ts)[-1] == "echo: after the loss"
    assert [e["thread_ts"] for e in slack_sim.ephemerals(SLACK_CHANNEL, SLACK_ALICE)] == [posted.ts]
    await discord_sim.user_says(thread, alice, "discord after the loss")
    await discord_sim.wait_until(
        lambda: discord_sim.bot_texts(thread)[-1] == "echo: discord after the loss", 15, "the Discord follow-up"
    )


async def test_sigterm_while_answers_stream_closes_them_with_the_note(
    bridge_process: BridgeProcess,
    discord_sim: DiscordSimulator,
    slack_sim: SlackSimulator,
    fake_owui: FakeOpenWebUI,
    tmp_path: Path,
) -> None:
    """Answers still streaming when the grace ends are interrupted: the note shows on the platform, and the
    turn is closed in OpenWebUI (a finished answer carrying the error) and in the database."""
    bridge_process.env["BRIDGE_SHUTDOWN_GRACE"] = "1"
    bridge_process.start()
    await bridge_process.wait_ready()
    general, alice = bridge_process.general, bridge_process.alice
    slow = "[[reply:3000]] [[rate:15]]"
    question = await discord_sim.user_says(general, alice, f"sigterm discord {slow}", mentions_bot=True)
    posted = await slack_sim.user_mentions_app(SLACK_CHANNEL, SLACK_ALICE, f"sigterm slack {slow}")
    await discord_sim.wait_until(
        lambda: discord_sim.thread_of(question) and discord_sim.bot_messages(discord_sim.thread_of(question)),
        15,
        "the Discord answer streaming",
    )
    await slack_sim.wait_bot_messages(SLACK_CHANNEL, posted.ts, count=1, timeout=15)

    assert await bridge_process.terminate() == 0
    thread = discord_sim.thread_of(question)
    assert thread is not None
    assert discord_sim.bot_texts(thread)[-1].endswith(f"⚠️ {INTERRUPTED}")
    assert slack_sim.bot_messages(SLACK_CHANNEL, posted.ts)[-1].endswith(f"⚠️ {INTERRUPTED}")
    for question_text in ("sigterm discord", "sigterm slack"):
        chat = next(c["chat"] for c in fake_owui.chats.values() if question_text in str(c["chat"]))
        answer = chats.chain(chat)[-1]
        assert answer["role"] == "assistant" and answer["done"] is True
        assert answer["error"]["content"] == INTERRUPTED
    with sqlite3.connect(tmp_path / "data" / "bridge.db") as db:
        states = [state for (state,) in db.execute("SELECT state FROM turns ORDER BY id")]
    assert states == ["interrupted", "interrupted"]
