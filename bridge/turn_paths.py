"""How a turn's completion is produced: the two ways the bridge can run a turn, behind one seam.

The engine writes the user message, asks its `CompletionPath` for the answer's events and reads them into
the live reply; it does not know which way runs:

- `PassThrough` (the default, an API key only): OpenWebUI's pass-through stream over HTTP, the messages and
  files only; the bridge writes the answer into the chat.
- `SignedInPath` (the service account signed in, `OPENWEBUI_EMAIL` / `OPENWEBUI_PASSWORD`): the web UI's own
  way, OpenWebUI's whole pipeline (tools, code interpreter, filters, status lines, titles), its events over
  the socket; OpenWebUI saves the answer (`SavedAnswer`).

Both yield the same `CompletionEvent`s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from bridge.openwebui import CompletionEvent, OpenWebUIClient, webui_turn
from bridge.openwebui.signin import ServiceSession
from bridge.openwebui.socket import EventSocket
from bridge.settings import OpenWebUISettings


@dataclass(frozen=True, slots=True)
class TurnRequest:
    """What a path needs to produce one answer."""

    body: dict[str, Any]
    """The completion: `model`, `messages` (the chat's context), `files`."""
    chat_id: str
    user_message: dict[str, Any]
    """The user message as written into the chat (its `id` and `parentId`)."""
    assistant_id: str


class CompletionPath(Protocol):
    runs_pipeline: bool
    """Whether OpenWebUI runs its whole pipeline for the turn (image generation, titles, tags, follow-ups):
    then the bridge does not take those steps itself."""
    adds_question: bool
    """Whether OpenWebUI adds the user's message to the chat itself as the turn starts (the web UI's way: its
    `insert_chat_turn` writes the question and the empty answer in one go): then the bridge does not write it
    first, which on a busy OpenWebUI was a whole-chat write (tens of ms at 10 turns at once, up to seconds at
    50) in every turn's wait for the model."""

    def events(self, request: TurnRequest) -> AsyncIterator[CompletionEvent]:
        """The answer's events, as an async generator the engine closes when it stops reading."""
        ...

    async def aclose(self) -> None: ...


class PassThrough:
    """OpenWebUI's pass-through stream (no `chat_id`): the only HTTP stream an API key gets."""

    runs_pipeline = False
    adds_question = False

    def __init__(self, client: OpenWebUIClient) -> None:
        self.client = client

    def events(self, request: TurnRequest) -> AsyncIterator[CompletionEvent]:
        return self.client.stream(request.body)

    async def aclose(self) -> None:
        """Nothing of its own to close: the client is the app's."""


class SignedInPath:
    """The web UI's way, as the signed-in service account, over one shared socket."""

    runs_pipeline = True
    adds_question = True

    def __init__(self, client: OpenWebUIClient, session: ServiceSession, socket: EventSocket, *, idle: float) -> None:
        self.client = client
        self.session = session
        self.socket = socket
        self.idle = idle

    def events(self, request: TurnRequest) -> AsyncIterator[CompletionEvent]:
        return webui_turn.run(
            self.client,
            self.session,
            self.socket,
            chat_id=request.chat_id,
            assistant_id=request.assistant_id,
            user_message=request.user_message,
            body=request.body,
            idle=self.idle,
        )

    async def aclose(self) -> None:
        await self.socket.aclose()


def completion_path(settings: OpenWebUISettings, client: OpenWebUIClient) -> CompletionPath:
    """The signed-in path when the service account's sign-in is configured, else pass-through."""
    if not settings.signs_in:
        return PassThrough(client)
    session = ServiceSession(client, settings.email, settings.password.get_secret_value())
    socket = EventSocket(settings.url, session, connect_timeout=settings.connect_timeout)
    return SignedInPath(client, session, socket, idle=settings.idle_timeout)
