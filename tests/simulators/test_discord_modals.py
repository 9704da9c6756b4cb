"""Modals in the Discord simulator, driven by the real discord.py: `send_modal` (callback type 9) is checked as
Discord checks it, the user's submission comes back as a MODAL_SUBMIT interaction that discord.py routes to
the modal's `on_submit`, and what Discord's client would not let a user submit is a `SimUsageError`."""

from __future__ import annotations

import discord
import pytest
from discord import app_commands

from simulators.discord import DiscordSimulator, SimUsageError
from simulators.discord.server import BasicWorld
from simulators.discord.testing import bot_client, running_client


class Form(discord.ui.Modal):
    answer: discord.ui.TextInput[Form] = discord.ui.TextInput(label="Answer", min_length=3, max_length=10)

    def __init__(self, title: str, seen: list[str], errors: list[discord.HTTPException]) -> None:
        super().__init__(title=title)
        self.seen, self.errors = seen, errors

    async def on_submit(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        self.seen.append(self.answer.value)
        try:
            await interaction.response.send_modal(Form("again", self.seen, self.errors))
        except discord.HTTPException as error:  # a modal cannot answer a modal's submission
            self.errors.append(error)
            await interaction.response.send_message("thanks", ephemeral=True)


async def test_a_modal_is_opened_submitted_and_checked(
    discord_sim: DiscordSimulator, discord_sim_world: BasicWorld
) -> None:
    sim, world = discord_sim, discord_sim_world
    client = bot_client()
    tree = app_commands.CommandTree(client)
    seen: list[str] = []
    errors: list[discord.HTTPException] = []

    @tree.command(name="form", description="Opens a form")
    @app_commands.describe(title="the form's title")
    async def form(interaction: discord.Interaction, title: str) -> None:
        try:
            await interaction.response.send_modal(Form(title, seen, errors))
        except discord.HTTPException as error:
            errors.append(error)

    async with running_client(sim, client):
        await tree.sync()
        opened = await sim.run_slash_command(world.channel, world.user, "form", {"title": "Tell me"})
        await sim.wait_for_response(opened)
        with pytest.raises(SimUsageError):
            await sim.submit_modal(opened, {"nope": "x"})
        field = opened.callbacks[0].data["components"][0]["components"][0]["custom_id"]  # type: ignore[index]
        with pytest.raises(SimUsageError):
            await sim.submit_modal(opened, {field: "ab"})  # under min_length: the client refuses it
        submitted = await sim.submit_modal(opened, {field: "forty-two"})
        await sim.wait_for_response(submitted, final=True)
        assert seen == ["forty-two"]
        assert errors and errors[0].status == 400, "no modal in answer to a modal"
        assert submitted.original_message is not None and submitted.original_message.content == "thanks"

        too_long = await sim.run_slash_command(world.channel, world.user, "form", {"title": "x" * 46})
        await sim.wait_until(lambda: len(errors) == 2, what="the refused modal")
        assert errors[1].status == 400 and errors[1].code == 50035 and not too_long.acknowledged
