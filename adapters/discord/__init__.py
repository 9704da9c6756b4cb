"""Discord: mention the bot and the answer streams into a thread; each thread is one OpenWebUI chat.

`run_discord(core)` is what `bridge run` calls; `DiscordAdapter` is the same thing with `start()`/`stop()`
for tests and embedding.
"""

from adapters.discord.bot import DiscordAdapter, run_discord

__all__ = ["DiscordAdapter", "run_discord"]
