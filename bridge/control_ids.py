"""The ids of the bridge's buttons, the same on every platform: `owb:<action>:<argument>`.

A Discord `custom_id` (at most 100 characters) or a Slack `action_id` carries everything a click needs, so
no button depends on the process that posted it: after a restart a click still names its action and what
it acts on (a turn's row, a question's id), and an adapter's one dispatcher routes it. Actions other parts
add take new names in the same scheme.
"""

from __future__ import annotations

import enum
import re

PREFIX = "owb"
MAX_ARGUMENT = 90  # room for the prefix and an action name within Discord's 100 characters
_FOLLOW_UP = re.compile(r"([0-9]{1,18})\.([0-9]{1,3})")


class Action(enum.StrEnum):
    """The controls on an answer."""

    STOP = "stop"  # argument: the id the running turn was started under (its question, a click)
    REGENERATE = "regen"  # argument: the turn's row id
    RATE_UP = "up"  # argument: the turn's row id
    RATE_DOWN = "down"  # argument: the turn's row id
    FOLLOW_UP = "next"  # argument: `follow_up_argument` (the turn's row id and which of its suggestions)


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


def follow_up_argument(turn_id: int, index: int) -> str:
    """The argument of the button offering suggestion `index` of turn `turn_id`'s answer. The suggestion's
    text (up to 400 characters) does not fit in an id: a click reads it back from the answer in OpenWebUI."""
    return f"{turn_id}.{index}"


def parse_follow_up(argument: str) -> tuple[int, int] | None:
    """(turn id, suggestion index) of a follow-up button's argument; None for anything else."""
    found = _FOLLOW_UP.fullmatch(argument)
    return (int(found[1]), int(found[2])) if found else None
