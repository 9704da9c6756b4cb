"""Runs a real Redis server as a subprocess on loopback, for the rate-budget board's tests on Redis and the
benchmark's `--budget-store redis`.

Not a simulator: the Redis that replicas may share their rate budgets through in production (Debian's
`redis-server` package, which scripts/install-redis.sh installs when it is missing). Each start gets a fresh
server on a free port with nothing saved to disk (`--save '' --appendonly no`), in a temporary folder.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from simulators.processes import ServerProcess, free_port

INSTALL_HINT = "install Debian's redis-server package (bash scripts/install-redis.sh); .ci/run does it"


class RedisUnavailable(RuntimeError):
    """No `redis-server` on this machine, or it did not start."""


class RealRedis(ServerProcess):
    """`with RealRedis() as server:` a running server; `server.url(db)` for a connection URL."""

    def __init__(self) -> None:
        self.port = free_port()
        self.host = "127.0.0.1"
        self._folder = Path(tempfile.mkdtemp(prefix="bridge-redis-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._next_db = 0

    def url(self, db: int = 0) -> str:
        return f"redis://{self.host}:{self.port}/{db}"

    def new_url(self) -> str:
        """A URL on a database number nobody used yet (Redis has 16), so that a test sees no other's keys."""
        self._next_db = self._next_db % 15 + 1
        return self.url(self._next_db)

    def start(self, timeout: float = 15.0) -> RealRedis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisUnavailable(f"no redis-server found; {INSTALL_HINT}")
        log = self._folder / "server.log"
        command = [binary, "--port", str(self.port), "--bind", self.host, "--save", "", "--appendonly", "no"]
        command += ["--dir", str(self._folder), "--logfile", str(log)]
        self._process = subprocess.Popen(command, cwd=self._folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                stderr = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
                tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
                raise RedisUnavailable(f"redis-server exited with {self._process.returncode}: {stderr}{tail}")
            if self._answers():
                return self
            time.sleep(0.05)
        raise RedisUnavailable(f"redis-server did not answer on port {self.port} within {timeout:g} s")

    def _answers(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        return False

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._folder, ignore_errors=True)
