"""What tests and the benchmark need to run a bridge or a server as a process of its own."""

from __future__ import annotations

import os
import socket
from types import TracebackType
from typing import Self

SETTING_PREFIXES = ("OPENWEBUI_", "BRIDGE_", "DISCORD_", "SLACK_")
"""The prefixes of the bridge's settings (README, Settings)."""


def environ_without_settings() -> dict[str, str]:
    """This process's environment without any bridge setting: a child bridge reads only what its caller
    passes, never a token or URL the developer happens to have exported."""
    return {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}


def free_port() -> int:
    """A loopback port nobody listens on now: for a server to bind, or for a test of "nothing answers there"."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """A server run for the tests as a process of its own: `start()` it (returning itself) and `stop()` it, or
    `with Server() as server:`, which stops what a failed start left behind."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.stop()
