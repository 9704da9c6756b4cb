"""Discord: mention the bot and the answer streams into a thread; each thread is one OpenWebUI chat.

`DISCORD` is the platform the core finds through the `openwebui_bridge.adapters` entry point. Loading it
imports only the settings: discord.py is imported when the adapter is created, so a bridge that runs only
Slack (or the terminal chat) does not carry it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.discord.settings import PLATFORM, DiscordSettings
from bridge.adapter import Platform

if TYPE_CHECKING:
    from adapters.discord.bot import DiscordAdapter
    from bridge.core import Core


def create(core: Core, settings: DiscordSettings) -> DiscordAdapter:
    from adapters.discord.bot import DiscordAdapter

    return DiscordAdapter(core, settings)


DISCORD = Platform(PLATFORM, DiscordSettings, create)

__all__ = ["DISCORD", "DiscordSettings"]
