"""What an adapter gives the core to show a reply: the platform half of streaming.

The core's `LiveReply` decides *what* text to show and *when*; a `ReplySurface` only knows how to post
and edit one message on its platform, how long a message may be, and how to wait for the platform's
rate budget. Keeping the interface this small is what lets the console, Discord and Slack share one
streaming implementation.

Waiting for the budget (`pace`) and making the call (`post`, `edit`) are two steps, because the text is
picked between them: a call carries the newest text, not the one that existed when it queued. What the
wait obtained travels from one step to the next as a `Grant` value, never in the surface's fields, so a
call can be read on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

Operation = Literal["post", "edit"]


@dataclass(frozen=True, slots=True)
class Grant:
    """What `ReplySurface.pace` obtained, handed to the one `post` or `edit` that follows it.

    op: the call it was paced for.
    final: the call shows the reply's final text (or a complete message): it goes ahead of routine updates.
    token: the platform budget the grant was already taken from, if any (Slack's `chat.update` budget,
        Discord's global budget), so the call does not take a second one. Opaque to the core.
    """

    op: Operation
    final: bool
    token: object = None


class EditDeferred(Exception):
    """Raised by `ReplySurface.edit` when the platform could not show an edit that only adds text soon
    enough (Slack: the workspace's `chat.update` budget is spent for seconds to come), or its grant was
    for a new message (Slack: a posted reply that may now start a native stream). The message keeps the
    text it shows and the rest goes on in a new message: a post, on a budget of its own, instead of a wait
    that can grow with every reply streaming at once.

    grant: what the post of the rest goes out on, when the surface already obtained it (the core then
        does not pace that post again); None: the post is paced as any other.
    """

    def __init__(self, grant: Grant | None = None) -> None:
        super().__init__()
        self.grant = grant


@dataclass(frozen=True, slots=True)
class SurfaceLimits:
    """A platform's limits for one reply.

    max_chars: longest message the platform accepts (Discord 2,000; a Slack markdown block 12,000).
    min_edit_interval: seconds between two edits of the same reply (about one visible update a second).
    max_message_age: seconds after posting a message that it may still be edited; past it the reply
        continues in a new message (Discord refuses edits of messages older than an hour).
    render: the text as the platform is sent it (Slack: a model's mentions defused, which adds characters).
        `LiveReply` splits the rendered text, so `max_chars` holds for what is sent, not for what the model
        wrote. It must be idempotent (a surface may apply it again to anything it sends) and keep prefixes
        (the rendering of a text starts with the rendering of every prefix of it), because a growing text
        is re-rendered and re-split on every update.
    """

    max_chars: int
    min_edit_interval: float = 1.0
    max_message_age: float = 55 * 60
    render: Callable[[str], str] = str


@dataclass(frozen=True, slots=True)
class Source:
    """A document a retrieval-augmented answer was built from, as OpenWebUI's `sources` event names it."""

    name: str
    url: str = ""
    excerpt: str = ""


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    """A file an answer produced (a generated image, a file the model linked), to post as an attachment.

    link: where OpenWebUI serves it, said instead of the file where a platform cannot take it.
    """

    name: str
    data: bytes
    content_type: str
    link: str = ""


class SurfaceExtras:
    """What a surface may do beyond showing the reply, each a no-op until a platform opts in: a surface
    inherits these defaults, so the core can offer a new ability without every platform implementing it."""

    max_upload_bytes: int = 0
    """The largest file `post_files` takes (0: it takes none; the core then names the files' links)."""

    async def post_files(self, files: list[OutgoingFile]) -> None:
        """Post `files` (each within `max_upload_bytes`) in the conversation, under the answer."""
        return None

    async def set_title(self, title: str) -> None:
        """The conversation's OpenWebUI chat got `title`: name the platform's conversation after it where the
        bridge owns it (a thread it opened, an assistant thread), else nothing."""
        return None

    async def show_followups(self, turn_id: int, followups: list[str]) -> None:
        """Suggestions OpenWebUI made for the person's next message, after the answer of turn `turn_id` (stored
        on that answer in OpenWebUI, where a click reads its suggestion back: `AnswerControls.follow_up`)."""
        return None


class ReplySurface(Protocol):
    """One reply on a platform: a message the bot posts, then edits as the text grows. The optional
    abilities are `SurfaceExtras`'s (a surface inherits them)."""

    limits: SurfaceLimits
    max_upload_bytes: int

    async def show_progress(self, activity: str = "") -> None:
        """Show that an answer is coming (typing indicator, assistant status) until the first post; runs as
        a task the reply cancels then. `activity` ("Searching the web…") says what OpenWebUI was asked to
        do: shown where the platform shows progress, in place of its generic sign, and replaced by the
        answer's first text. A reply may call it again with another activity (the previous one is
        cancelled first)."""

    async def pace(self, op: Operation, final: bool) -> Grant:
        """Wait until the platform's budgets allow one more `op`, and return the grant for that call;
        `final` (the reply's final text, or a message that is complete) goes before routine updates."""

    async def post(self, text: str, grant: Grant) -> str:
        """Post a new message with `text` (never empty, never over `max_chars`) on `grant`; return its id."""

    async def edit(self, message_id: str, text: str, grant: Grant) -> None:
        """Replace the text of a message this surface posted, on `grant`; may raise `EditDeferred` when
        `text` extends the message's text and a new message would show the addition sooner."""

    async def close(self) -> None:
        """The reply's final text is shown: end what streaming needs ended (Slack's `chat.stopStream`)."""

    async def show_sources(self, sources: list[Source]) -> None:
        """Name the documents the answer came from, once the answer is complete."""

    async def post_files(self, files: list[OutgoingFile]) -> None: ...

    async def set_title(self, title: str) -> None: ...

    async def show_followups(self, turn_id: int, followups: list[str]) -> None: ...
