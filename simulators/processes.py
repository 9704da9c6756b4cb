"""What tests and the benchmark need to run a bridge or a server as a process of its own."""

from __future__ import annotations

import os
import socket

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
