"""Modals: a bot answers an interaction with one (callback type 9), the user fills it in and submits it
(`modal_submit`), and the bot gets a MODAL_SUBMIT interaction (type 5) carrying the values.

Discord checks the modal when the bot sends it (400 50035 for a bad one). A modal cannot answer a MODAL_SUBMIT or an
autocomplete interaction. Text inputs come in an action row (type 1, discord.py's default) or a label
(type 18, Discord's newer layout); both are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulators.discord.errors import form_error

INTERACTION_MODAL_SUBMIT = 5
CALLBACK_MODAL = 9
ACTION_ROW, TEXT_INPUT, LABEL = 1, 4, 18


@dataclass(frozen=True, slots=True)
class TextField:
    """One text input of a modal, as the bot declared it."""

    custom_id: str
    label: str
    style: int
    required: bool
    min_length: int
    max_length: int


@dataclass(frozen=True, slots=True)
class SimModal:
    """A modal a bot opened for a user."""

    custom_id: str
    title: str
    fields: list[TextField]


def _leaf(code: str, message: str) -> dict[str, Any]:
    return {"_errors": [{"code": code, "message": message}]}


def _text_inputs(components: list[Any]) -> list[tuple[dict[str, Any], str]]:
    """(text input, its label) for each row or label of the modal."""
    found = []
    for row in components:
        if not isinstance(row, dict):
            continue
        if row.get("type") == ACTION_ROW:
            found += [(c, str(c.get("label") or "")) for c in row.get("components") or [] if isinstance(c, dict)]
        elif row.get("type") == LABEL and isinstance(row.get("component"), dict):
            found.append((row["component"], str(row.get("label") or "")))
    return found


def check_modal(data: dict[str, Any] | None, interaction_type: int) -> SimModal:
    """The modal of a type-9 callback, or the 400 Discord answers for it."""
    if interaction_type in (INTERACTION_MODAL_SUBMIT, 4):
        raise form_error({"type": _leaf("INTERACTION_RESPONSE_TYPE_INVALID", "Invalid interaction response type")})
    data = data or {}
    errors: dict[str, Any] = {}
    custom_id, title = str(data.get("custom_id") or ""), str(data.get("title") or "")
    if not 1 <= len(custom_id) <= 100:
        errors["custom_id"] = _leaf("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    if not 1 <= len(title) <= 45:
        errors["title"] = _leaf("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.")
    components = data.get("components") if isinstance(data.get("components"), list) else []
    if not 1 <= len(components) <= 5:
        errors["components"] = _leaf("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
    fields = []
    for item, label in _text_inputs(components):
        if item.get("type") != TEXT_INPUT or not item.get("custom_id") or not 1 <= len(label) <= 45:
            errors["components"] = _leaf("COMPONENT_INVALID", "Invalid text input")
            continue
        low, high = int(item.get("min_length") or 0), int(item.get("max_length") or 4000)
        if not 0 <= low <= high <= 4000 or item.get("style") not in (1, 2):
            errors["components"] = _leaf("COMPONENT_INVALID", "Invalid text input")
            continue
        required = item.get("required", True) is not False
        fields.append(TextField(str(item["custom_id"]), label, int(item["style"]), required, low, high))
    if errors:
        raise form_error(errors)
    return SimModal(custom_id, title, fields)
