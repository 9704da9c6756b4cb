"""Discord: mention the bot and the answer streams into a thread; each thread is one OpenWebUI chat.

`DISCORD` is the platform the core finds through the `openwebui_bridge.adapters` entry point.
"""

from adapters.discord.bot import DiscordAdapter
from adapters.discord.events import PLATFORM
from adapters.discord.settings import DiscordSettings
from bridge.adapter import Platform

DISCORD = Platform(PLATFORM, DiscordSettings, DiscordAdapter)

__all__ = ["DISCORD", "DiscordAdapter", "DiscordSettings"]
