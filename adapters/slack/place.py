"""Where a Slack reply goes: the value every part of a reply (stream, posts, notes) is addressed with."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReplyPlace:
    """Where a reply goes and whom it answers.

    `thread_ts` is the thread to answer in; None means the top level of a DM. `user_id` is the asker:
    the stream's recipient and the one who gets ephemeral notes.
    """

    team_id: str
    channel: str
    thread_ts: str | None
    user_id: str
