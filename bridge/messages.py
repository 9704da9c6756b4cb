"""The normalized message: the only shape of a platform event the core ever sees.

Adapters translate their platform's events into these types at the edge, once (matterbridge's
`Message`, slack-bolt's `BoltRequest`); nothing under `bridge/` imports a platform library.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

AttachmentFetcher = Callable[[], Awaitable[bytes]]
"""Downloads one attachment's bytes (an HTTP GET with the platform's auth), called only once accepted."""


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Where a conversation lives on its platform; one key is one OpenWebUI chat.

    `workspace` is a Discord guild or a Slack team ("" for DMs where the platform has none),
    `thread` is the thread id or timestamp ("" for a conversation that is a whole channel or DM).
    """

    platform: str
    workspace: str
    channel: str
    thread: str = ""

    def describe(self) -> str:
        """A short human label for logs and chat titles."""
        parts = [self.platform, self.workspace or "-", self.channel]
        if self.thread:
            parts.append(self.thread)
        return ":".join(parts)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file the user sent. `fetch` is the adapter's way of downloading it, bounded by `size`.

    The bytes are read lazily so that a refused file (too large, wrong type) is never downloaded.
    """

    filename: str
    content_type: str
    size: int
    fetch: AttachmentFetcher

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """One user message, normalized.

    `event_id` deduplicates platform redeliveries (Slack retries, gateway replays). `new_conversation`
    is set when the message must start a fresh OpenWebUI chat even if the key already has one
    (a mention that opens a thread, `/new`).
    """

    key: ConversationKey
    event_id: str
    author_id: str
    author_name: str
    text: str
    attachments: tuple[Attachment, ...] = ()
    new_conversation: bool = False
    title_hint: str = ""
    model: str | None = None
    heading: str = ""
    """A line shown above the answer on the platform, where no message there shows what was asked (a clicked
    follow-up suggestion)."""


@dataclass(frozen=True, slots=True)
class InterruptedTurn:
    """An answer an earlier process left unfinished (a crash), for its adapter to mark: where it was,
    and the platform ids of the messages it had posted (oldest first; empty if none)."""

    key: ConversationKey
    message_ids: list[str]


@dataclass(frozen=True, slots=True)
class Person:
    """Who clicked a control or edited a message: the platform's user id and the name shown for them."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Answered:
    """An answer a control names: its conversation (for the adapter's access check and the place of a new
    answer) and its turn (what the answer's buttons name)."""

    key: ConversationKey
    turn_id: int
