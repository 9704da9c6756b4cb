"""Buttons on the bot's messages, and the one place their clicks arrive.

Every button is a `ControlButton`: a discord.py `DynamicItem` whose `custom_id` is the bridge's id scheme
(`bridge.control_ids`, `owb:<action>:<argument>`). discord.py routes a click on *any* message whose button
matches the template to it, with no view kept in memory, so buttons on messages posted before a restart
keep working. The click goes to the client's `Dispatcher`, which calls the handler registered for the
action; other features add actions there (`register`) rather than listening for interactions themselves.

A handler answers within Discord's three seconds (a deferred update, or a message only the clicker sees);
a `UserFacingError` it raises becomes such a private message, and an action no handler knows says the
button has expired.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord.ui import Button, DynamicItem

from adapters.discord.surface import NO_PINGS
from bridge import texts
from bridge.control_ids import control_id
from bridge.errors import UserFacingError

log = logging.getLogger(__name__)

TEMPLATE = r"owb:(?P<action>[a-z_]+):(?P<argument>\S*)"

Handler = Callable[[discord.Interaction, str], Awaitable[None]]
"""Handles one click: the interaction, and the argument of the button's id."""


class Dispatcher:
    """Which handler answers which action's clicks."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, action: str, handler: Handler) -> None:
        if action in self._handlers:
            raise ValueError(f"two handlers for the button action {action!r}")
        self._handlers[action] = handler

    async def dispatch(self, interaction: discord.Interaction, action: str, argument: str) -> None:
        handler = self._handlers.get(action)
        if handler is None:
            await tell_privately(interaction, texts.CONTROL_EXPIRED)
            return
        try:
            await handler(interaction, argument)
        except UserFacingError as exc:
            await tell_privately(interaction, str(exc))
        except Exception:
            log.exception("Discord: the %s button failed", action)
            await tell_privately(interaction, f"⚠️ {texts.FAILED}")


class ControlButton(DynamicItem[Button[Any]], template=TEMPLATE):
    """A button of the bridge's; its click goes to the client's `Dispatcher`."""

    def __init__(
        self,
        action: str,
        argument: str,
        *,
        label: str | None = None,
        emoji: str | None = None,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        row: int | None = None,
    ) -> None:
        button = Button(label=label, emoji=emoji, style=style, custom_id=control_id(action, argument))
        super().__init__(button, row=row)
        self.action = action
        self.argument = argument

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> ControlButton:
        return cls(match["action"], match["argument"])

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        dispatcher: Dispatcher = getattr(interaction.client, "components")  # noqa: B009 (BridgeClient's)
        await dispatcher.dispatch(interaction, self.action, self.argument)


def view_of(*buttons: ControlButton) -> discord.ui.View:
    """A message's buttons, in one row unless they name theirs; no timeout (the buttons outlive the view: see
    the module docstring)."""
    view = discord.ui.View(timeout=None)
    for button in buttons:
        view.add_item(button)
    return view


async def tell_privately(interaction: discord.Interaction, text: str) -> None:
    """A message only the clicker sees, as the answer to the click or after it was deferred."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
    except discord.HTTPException as exc:
        log.warning("Discord: could not answer a click: %s", exc)
