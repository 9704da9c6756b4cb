"""The two class attributes that point an unmodified discord.py at another Discord.

discord.py 2.7 builds every REST URL from ``discord.http.Route.BASE`` (webhooks and interaction callbacks
included) and a plain ``Client`` connects straight to ``DiscordWebSocket.DEFAULT_GATEWAY`` (only
``AutoShardedClient`` asks ``GET /gateway/bot``), then follows READY's ``resume_gateway_url``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def point_discord_py_at(rest_base: str, gateway_url: str) -> Iterator[None]:
    """Patch discord.py's REST base and gateway URL for the duration of the block, then restore them."""
    import yarl
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    Route.BASE = rest_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved
