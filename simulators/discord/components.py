"""Message components as Discord checks and delivers them: action rows of buttons on a message, and the
MESSAGE_COMPONENT interaction (type 3) a click sends the bot.

What Discord enforces (and the simulator too): at most 5 action rows (type 1) per message, each with 1 to 5
buttons (type 2); an interactive button has a `custom_id` of 1 to 100 characters, unique in the message, and
a label of at most 80; a link button (style 5) has a `url` and no `custom_id`. A click on a button the
message does not show, or shows disabled, cannot happen in Discord's client and is a usage error here.
A component interaction is answered with type 4/5 (a new message), 6 (deferred update: nothing changes
yet) or 7 (update the message the button is on); `@original` of its webhook is that message.
"""

from __future__ import annotations

from typing import Any

from simulators.discord.errors import SimUsageError, form_error

INTERACTION_MESSAGE_COMPONENT = 3
ACTION_ROW = 1
BUTTON = 2
LINK_STYLE = 5
MAX_ROWS = 5
MAX_BUTTONS = 5
CUSTOM_ID_LIMIT = 100
LABEL_LIMIT = 80


def _invalid(path: str, message: str) -> Exception:
    return form_error({"components": {path: {"_errors": [{"code": "COMPONENT_INVALID", "message": message}]}}})


def check_components(components: Any) -> list[dict[str, Any]]:
    """The `components` of a message body as Discord accepts them, or the 400 it answers."""
    if components is None:
        return []
    if not isinstance(components, list) or len(components) > MAX_ROWS:
        raise _invalid("_root", f"Must be a list of at most {MAX_ROWS} action rows")
    seen: set[str] = set()
    for r, row in enumerate(components):
        buttons = row.get("components") if isinstance(row, dict) else None
        if row.get("type") != ACTION_ROW or not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
            raise _invalid(str(r), f"An action row holds 1 to {MAX_BUTTONS} components")
        for b, button in enumerate(buttons):
            where = f"{r}.components.{b}"
            if not isinstance(button, dict) or button.get("type") != BUTTON:
                raise _invalid(where, "Only buttons are simulated")
            if len(str(button.get("label") or "")) > LABEL_LIMIT:
                raise _invalid(where, f"A label has at most {LABEL_LIMIT} characters")
            if button.get("style") == LINK_STYLE:
                if not button.get("url") or "custom_id" in button:
                    raise _invalid(where, "A link button has a url and no custom_id")
                continue
            custom_id = button.get("custom_id")
            if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= CUSTOM_ID_LIMIT:
                raise _invalid(where, f"custom_id must be 1 to {CUSTOM_ID_LIMIT} characters")
            if custom_id in seen:
                raise _invalid(where, "Component custom id cannot be duplicated")
            seen.add(custom_id)
    return components


def buttons_of(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every button of a message's action rows, in order."""
    return [button for row in components for button in row.get("components", [])]


def clickable(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any]:
    """The enabled button `custom_id` the message shows; a usage error when a person could not click it."""
    for button in buttons_of(components):
        if button.get("custom_id") == custom_id:
            if button.get("disabled"):
                raise SimUsageError(f"button {custom_id!r} is disabled")
            return button
    shown = [b.get("custom_id") for b in buttons_of(components)]
    raise SimUsageError(f"the message shows no button {custom_id!r} (it shows {shown})")
