"""HTTP mode under a flood of idle connections: `bridge run` as a process with a small open-file limit.

Connections that never send a byte once used up the process's file descriptors: Slack's next delivery
failed every attempt and the log grew by thousands of lines a second. The bridge now closes connections
that stay silent for `SLACK_HTTP_IDLE_TIMEOUT`, keeps at most `SLACK_HTTP_MAX_CONNECTIONS` open (a new
one pushes out the oldest idle one), and says so in the log once per interval.
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from simulators.openwebui_fake import FakeOpenWebUI
from simulators.slack import SlackSimulator

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"
FILE_LIMIT = 400  # the bridge's RLIMIT_NOFILE: fewer descriptors than the idle connections below
IDLE_CONNECTIONS = 600
IDLE_TIMEOUT = 3.0


class BridgeRun(NamedTuple):
    log: Path
    max_connections: int  # SLACK_HTTP_MAX_CONNECTIONS as set


@pytest.fixture(params=[48, 1000], ids=["limit-48", "limit-1000-over-the-file-limit"])
def bridge_run(
    request: pytest.FixtureRequest,
    slack_sim: SlackSimulator,
    fake_owui: FakeOpenWebUI,
    tmp_path: Path,
) -> Iterator[BridgeRun]:
    """`python -m bridge run` with Slack in HTTP mode on a free port and a lowered open-file limit; the
    connection limit is 48, or 1000, which the file limit does not allow (the bridge lowers it)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENWEBUI_", "BRIDGE_", "DISCORD_", "SLACK_"))}
    env = {
        **clean,
        "OPENWEBUI_URL": fake_owui.url,
        "OPENWEBUI_API_KEY": fake_owui.api_key,
        "OPENWEBUI_DEFAULT_MODEL": "echo-1",
        "BRIDGE_DATA_DIR": str(tmp_path / "data"),
        "SLACK_BOT_TOKEN": slack_sim.bot_token,
        "SLACK_SIGNING_SECRET": slack_sim.signing_secret,
        "SLACK_API_URL": slack_sim.api_url,
        "SLACK_MODE": "http",
        "SLACK_HTTP_HOST": "127.0.0.1",
        "SLACK_HTTP_PORT": "0",
        "SLACK_HTTP_MAX_CONNECTIONS": str(request.param),
        "SLACK_HTTP_IDLE_TIMEOUT": str(IDLE_TIMEOUT),
    }
    log = tmp_path / "bridge.log"

    def lower_file_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, FILE_LIMIT))

    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bridge", "run"],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=out,
            preexec_fn=lower_file_limit,
        )
    try:
        yield BridgeRun(log, request.param)
    finally:
        process.kill()
        process.wait(timeout=30)


def log_text(log: Path) -> str:
    return log.read_text(errors="replace")


async def events_url(log: Path, timeout: float = 30.0) -> str:
    """The Request URL the bridge logged when its HTTP endpoint started listening."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"serving events at (http://\S+)", log_text(log))
        if found:
            return found.group(1)
        await asyncio.sleep(0.1)
    raise AssertionError("the HTTP endpoint never started:\n" + log_text(log)[-3000:])


class Client:
    """A hostile client's connection, read without blocking; `received` is what the server answered."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.received = b""
        self.closed = False

    @classmethod
    def slow(cls, port: int, start: bytes) -> Client:
        """A connection that sends the start of a request and never the rest."""
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(start)
        sock.setblocking(False)
        return cls(sock)

    def closed_by_server(self) -> bool:
        """True once the server closed the connection (end of stream or reset)."""
        while not self.closed:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return False
            except ConnectionResetError:
                self.closed = True
            except OSError:  # not connected yet
                return False
            else:
                self.received += data
                self.closed = not data
        return True


async def open_idle_connections(port: int, count: int) -> list[Client]:
    """`count` connections that never send a byte, in waves of 50: all at once would overflow the kernel's
    accept queue, whose extra connections look open to the client but reach the server only seconds later.
    (Non-blocking: a full queue must not stall the test.)"""
    clients = []
    for _ in range(count // 50):
        for _ in range(50):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            clients.append(Client(sock))
        await asyncio.sleep(0.02)
    return clients


async def test_idle_and_slow_connections_do_not_starve_slack(
    bridge_run: BridgeRun,
    slack_sim: SlackSimulator,
) -> None:
    bridge_log = bridge_run.log
    url = await events_url(bridge_log)
    port = int(url.split(":")[2].split("/")[0])
    headers = b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    idle = await open_idle_connections(port, IDLE_CONNECTIONS)
    # After the idle ones: the oldest idle connections are the first closed to make room.
    slow_headers = [Client.slow(port, headers) for _ in range(20)]
    slow_bodies = [
        Client.slow(port, headers + b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"type":')
        for _ in range(10)
    ]
    clients = idle + slow_headers + slow_bodies
    opened = time.monotonic()
    try:
        slack_sim.use_http(url)
        posted = await slack_sim.user_mentions_app(CHANNEL, ALICE, "through the flood")
        assert await posted.acked(10), "Slack's delivery never got through"
        for delivery in posted.deliveries:
            assert [a.outcome for a in delivery.attempts] == ["acked"]
        await slack_sim.wait_bot_messages(CHANNEL, posted.ts, count=1, timeout=15)
        assert slack_sim.bot_messages(CHANNEL, posted.ts) == ["echo: through the flood"]

        deadline = opened + IDLE_TIMEOUT + 2.0
        while time.monotonic() < deadline and not all(c.closed_by_server() for c in clients):
            await asyncio.sleep(0.1)
        still_open = sum(1 for c in clients if not c.closed_by_server())
        assert still_open == 0, f"{still_open} connections still open {IDLE_TIMEOUT + 2.0} s after opening"
        assert all(c.received.startswith(b"HTTP/1.1 408") for c in slow_bodies)
    finally:
        for client in clients:
            client.sock.close()

    lines = log_text(bridge_log).splitlines()
    assert not [line for line in lines if "Too many open files" in line]
    flood = [line for line in lines if "closed at the limit" in line and "SLACK_HTTP_MAX_CONNECTIONS" in line]
    assert len(flood) == 1, flood  # said once for the whole burst, naming the setting
    lowered = [line for line in lines if "SLACK_HTTP_MAX_CONNECTIONS=1000 leaves too few" in line]
    assert len(lowered) == (1 if bridge_run.max_connections == 1000 else 0)
    assert len(lines) < 40, "\n".join(lines[-40:])
