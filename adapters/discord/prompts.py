"""`/prompt`: a prompt of OpenWebUI's prompt library, its variables filled from `text`, asked as `/ask` asks.

The command autocompletes from the library (cached for a minute by the core); filling the variables follows
`bridge.prompts` (`name=value` pairs, the rest for the one variable left or `{{CLIPBOARD}}`), and a prompt
that needs more is answered with what it needs.
"""

from __future__ import annotations

import discord
from discord import app_commands

from adapters.discord.commands import SlashCommands, named_choices
from bridge.core import Core
from bridge.errors import OpenWebUIError


def register(tree: app_commands.CommandTree[discord.Client], commands: SlashCommands, core: Core) -> None:
    """Add `/prompt` to `tree`; it answers through `commands.ask` (refusals, deferral, streaming)."""

    @tree.command(name="prompt", description="Ask with a prompt of OpenWebUI's prompt library")
    @app_commands.describe(
        command="the prompt's command",
        text="fills its variables: name=value pairs, then the text for the one left",
        ephemeral="only you see the answer",
    )
    async def prompt(interaction: discord.Interaction, command: str, text: str = "", ephemeral: bool = False) -> None:
        name = interaction.user.display_name
        await commands.ask(interaction, lambda: core.prompt_question(command, text, name), ephemeral=ephemeral)

    @prompt.autocomplete("command")
    async def prompt_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        try:
            library = await core.prompts()
        except OpenWebUIError:
            return []
        return named_choices([(p.command, p.name) for p in library], current.lstrip("/"))
