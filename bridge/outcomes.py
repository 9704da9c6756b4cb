"""The states a turn goes through, as the store keeps them, and what a turn's end tells its adapter."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bridge.surface import Source

if TYPE_CHECKING:
    from bridge.live_reply import LiveReply


class TurnState(enum.StrEnum):
    """A turn's row in the `turns` table (the same values as its CHECK constraint)."""

    STREAMING = "streaming"  # still running; found open after a crash, it is closed as interrupted
    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class TurnStatus(enum.StrEnum):
    """How one message ended, for the adapter and the metrics."""

    ANSWERED = "answered"
    FAILED = "failed"
    DUPLICATE = "duplicate"  # a platform's redelivery of a message already taken
    INTERRUPTED = "interrupted"  # cancelled by a shutdown
    REFUSED = "refused"  # the bridge is shutting down, or the identity policy does not let the asker in


@dataclass(slots=True)
class TurnOutcome:
    """What happened to one message."""

    status: TurnStatus
    chat_id: str = ""
    text: str = ""
    error: str = ""
    notices: list[str] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)
    reply: LiveReply | None = None
    private_note: str = ""
    """For the asker only (a refused or missing link): the adapter delivers it privately, never in the thread."""
    turn_id: int | None = None  # the store's row: what the buttons on the answer name
