"""`/link`, `/whoami`, `/unlink`: each person links their own OpenWebUI account.

`/link` answers with a modal (Discord's form, seen only by the person), so the API key is never a visible
message and never an option of a slash command (those are shown in the channel as "used /link key:…").
The answers are ephemeral. The key goes straight to the core, which checks it against OpenWebUI and keeps
it encrypted; nothing here logs or repeats it.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from adapters.discord.access import Access, asker_of
from adapters.discord.events import PLATFORM
from adapters.discord.surface import NO_PINGS
from bridge.core import Core
from bridge.errors import OpenWebUIError, UserFacingError, explain
from bridge.identity.texts import LINKING_OFF

log = logging.getLogger(__name__)

LINK = "/link"
UNLINK = "/unlink"
MODAL_SECONDS = 600.0


class KeyModal(discord.ui.Modal, title="Link your OpenWebUI account"):
    """The form `/link` opens: one field for the API key. Its custom id is random (discord.py's default), so
    two people linking at once each get their own form back."""

    key: discord.ui.TextInput[KeyModal] = discord.ui.TextInput(
        label="OpenWebUI API key",
        placeholder="sk-… (OpenWebUI → Settings → Account → API keys)",
        min_length=8,
        max_length=512,
    )

    def __init__(self, core: Core) -> None:
        super().__init__(timeout=MODAL_SECONDS)
        self.core = core

    async def on_submit(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            text = await self.core.link(PLATFORM, str(interaction.user.id), self.key.value, UNLINK)
        except (UserFacingError, OpenWebUIError) as exc:
            text = f"⚠️ {explain(exc)}"
        await interaction.edit_original_response(content=text, allowed_mentions=NO_PINGS)

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:  # type: ignore[override]
        # discord.py's default logs the modal with its children, values included: only the error's type here.
        log.error("Discord: linking failed for user %s: %s", interaction.user.id, type(error).__name__)


def register(tree: app_commands.CommandTree[discord.Client], core: Core, access: Access) -> None:
    """Add `/link`, `/whoami` and `/unlink` to `tree`."""
    core.set_link_command(PLATFORM, LINK)

    async def refused(interaction: discord.Interaction) -> bool:
        """Answer (only them) and return True when the person may not use the bot here, or linking is off."""
        refusal = access.refusal(asker_of(interaction.user, interaction.channel, interaction.guild))
        text = f"⛔ {refusal}" if refusal else ("" if core.linking else LINKING_OFF)
        if text:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
        return bool(text)

    @tree.command(name="link", description="Link your OpenWebUI account (your API key, in a private form)")
    async def link(interaction: discord.Interaction) -> None:
        if not await refused(interaction):
            await interaction.response.send_modal(KeyModal(core))

    @tree.command(name="whoami", description="Which OpenWebUI account you talk to")
    async def whoami(interaction: discord.Interaction) -> None:
        if not await refused(interaction):
            text = await core.whoami(PLATFORM, str(interaction.user.id))
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)

    @tree.command(name="unlink", description="Forget your OpenWebUI key at once")
    async def unlink(interaction: discord.Interaction) -> None:
        if not await refused(interaction):
            text = await core.unlink(PLATFORM, str(interaction.user.id))
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
