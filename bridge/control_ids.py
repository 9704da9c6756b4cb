"""The ids of the bridge's buttons, the same on every platform: `owb:<action>:<argument>`.

A Discord `custom_id` (at most 100 characters) or a Slack `action_id` carries everything a click needs, so
no button depends on the process that posted it: after a restart a click still names its action and what
it acts on (a turn's row, a question's id), and an adapter's one dispatcher routes it. Actions other parts
add (follow-up suggestions, say) take new names in the same scheme.
"""

from __future__ import annotations

import enum

PREFIX = "owb"
MAX_ARGUMENT = 90  # room for the prefix and an action name within Discord's 100 characters


class Action(enum.StrEnum):
    """The controls on an answer."""

    STOP = "stop"  # argument: the id the running turn was started under (its question, a click)
    REGENERATE = "regen"  # argument: the turn's row id
    RATE_UP = "up"  # argument: the turn's row id
    RATE_DOWN = "down"  # argument: the turn's row id


def control_id(action: str, argument: str) -> str:
    """The id of a button doing `action` on `argument` (which may contain ':', never whitespace)."""
    if len(argument) > MAX_ARGUMENT or any(c.isspace() for c in argument):
        raise ValueError(f"a control's argument has at most {MAX_ARGUMENT} characters and no spaces: {argument!r}")
    return f"{PREFIX}:{action}:{argument}"


def parse_control_id(value: str) -> tuple[str, str] | None:
    """(action, argument) of a bridge button's id; None for anything else."""
    prefix, _, rest = value.partition(":")
    action, separator, argument = rest.partition(":")
    if prefix != PREFIX or not separator or not action:
        return None
    return action, argument
