"""Discord: mention the bot and the answer streams into a thread; each thread is one OpenWebUI chat.

`DISCORD` is the platform the core finds through the `openwebui_bridge.adapters` entry point; discord.py is
imported only when its adapter is created (`bridge.adapter.lazy`).
"""

from adapters.discord.settings import PLATFORM, DiscordSettings
from bridge.adapter import Platform, lazy

DISCORD = Platform(PLATFORM, DiscordSettings, lazy("adapters.discord.bot:DiscordAdapter"))

__all__ = ["DISCORD", "DiscordSettings"]
