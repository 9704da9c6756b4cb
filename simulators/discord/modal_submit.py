"""A user submitting the modal a bot opened: the MODAL_SUBMIT interaction Discord then sends the bot.

Discord's client enforces each field's `required`, `min_length` and `max_length` before it lets the user
submit; a test that submits what the client would refuse gets a `SimUsageError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulators.discord.commands import interaction_payload
from simulators.discord.errors import SimUsageError
from simulators.discord.modals import (
    ACTION_ROW,
    CALLBACK_MODAL,
    INTERACTION_MODAL_SUBMIT,
    TEXT_INPUT,
    SimModal,
    check_modal,
)
from simulators.discord.models import SimInteraction

if TYPE_CHECKING:
    from simulators.discord.server import DiscordSimulator


def opened_modal(interaction: SimInteraction) -> SimModal | None:
    """The modal the bot answered `interaction` with, if it did."""
    for callback in interaction.callbacks:
        if callback.type == CALLBACK_MODAL:
            return check_modal(callback.data, interaction.type)
    return None


async def submit_modal(sim: DiscordSimulator, interaction: SimInteraction, values: dict[str, str]) -> SimInteraction:
    """The user who got `interaction`'s modal fills in `values` (by text input custom_id) and submits."""
    modal = opened_modal(interaction)
    if modal is None:
        raise SimUsageError("the bot did not answer this interaction with a modal")
    unknown = set(values) - {f.custom_id for f in modal.fields}
    if unknown:
        raise SimUsageError(f"the modal has no fields {sorted(unknown)}")
    rows = []
    for field in modal.fields:
        value = values.get(field.custom_id, "")
        if (field.required or value) and not field.min_length <= len(value) <= field.max_length:
            raise SimUsageError(f"Discord's client refuses {field.custom_id!r}: {field.min_length}-{field.max_length}")
        if field.required and not value:
            raise SimUsageError(f"Discord's client refuses an empty required field {field.custom_id!r}")
        rows.append(
            {"type": ACTION_ROW, "components": [{"type": TEXT_INPUT, "custom_id": field.custom_id, "value": value}]}
        )
    state = sim.state
    channel = state.channels[interaction.channel_id]
    interaction_id, token = state.ids.next(), state.new_interaction_token()
    body = interaction_payload(
        state,
        interaction_id=interaction_id,
        token=token,
        type=INTERACTION_MODAL_SUBMIT,
        data={"custom_id": modal.custom_id, "components": rows},
        channel=channel,
        user_id=interaction.user_id,
        attachment_size_limit=sim.config.upload_size_limit,
    )
    submitted = SimInteraction(
        interaction_id,
        token,
        INTERACTION_MODAL_SUBMIT,
        f"modal:{modal.custom_id}",
        channel.id,
        channel.guild_id,
        interaction.user_id,
        sim.clock.monotonic(),
        sim.clock.wall(),
        body,
    )
    state.interactions[submitted.id] = submitted
    state.interactions_by_token[token] = submitted
    await sim.gateway.dispatch("INTERACTION_CREATE", body)
    return submitted
