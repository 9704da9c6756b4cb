"""What can go wrong talking to OpenWebUI, as types a caller can catch and turn into a sentence.

Like httpx's exception hierarchy: every error says what went wrong and what to do (`hint`), and none
carries a header or a token. Its text (with the server's own `detail`) is for the log only: OpenWebUI
relays a model provider's error body as it came, with whatever paths or credentials that names, so a
person is shown the `hint` alone.
"""

from __future__ import annotations

from bridge import texts


class OpenWebUIError(Exception):
    """Base class. `hint` is a short sentence for the person waiting for an answer; `detail` is the
    server's or model's own explanation, for the log (it is part of the error's text)."""

    hint = "OpenWebUI could not answer; try again in a moment."

    def __init__(self, message: str, *, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail

    @property
    def user_message(self) -> str:
        """What a person is told: the hint, never the server's words."""
        return self.hint


class Unreachable(OpenWebUIError):
    hint = "OpenWebUI is unreachable right now; try again when it is back."


class Timeout(OpenWebUIError):
    hint = "OpenWebUI took too long to answer; try again, or ask for something shorter."


class Unauthorized(OpenWebUIError):
    hint = "The bridge's OpenWebUI API key was refused; an admin must check OPENWEBUI_API_KEY."


class LinkRefused(Unauthorized):
    """A linked person's key was refused (deleted, expired, or the account removed). Never retried with
    another key: the person is told privately to link again."""

    hint = "Not answered: OpenWebUI refused the linked key this conversation uses (see the private note)."


class Forbidden(OpenWebUIError):
    hint = (
        "OpenWebUI refused the bridge's key for this (API keys disabled, or the key's user lacks "
        "permission); an admin must check the OpenWebUI settings."
    )


class NotFound(OpenWebUIError):
    hint = "OpenWebUI does not know that item any more."


class ModelNotFound(NotFound):
    hint = "That model is not available in OpenWebUI; pick another one (list them with /models)."


class NotAnAPI(OpenWebUIError):
    hint = "OPENWEBUI_URL points at a web page, not OpenWebUI's API; an admin must check the URL."


class BadRequest(OpenWebUIError):
    hint = "OpenWebUI refused the request."


class Busy(OpenWebUIError):
    """OpenWebUI on SQLite (its default) answered "database is locked": another write held the database past
    its busy timeout (5 s), so the statement that failed did not apply. The client sends the same request
    again a few times (`client.BUSY_WAITS`); a person sees this hint only when the database stayed locked.
    OpenWebUI names the lock where it relays the exception's text (`POST /api/chat/completions`, the
    signed-in turn's start); elsewhere a locked write answers "Something went wrong :/" and stays `BadRequest`."""

    hint = "OpenWebUI's database was busy; try again in a moment."


class UpstreamError(OpenWebUIError):
    hint = "The model failed while answering; try again in a moment."


class FileProcessingError(OpenWebUIError):
    hint = "OpenWebUI could not read that file; try another format (text, Markdown, PDF)."


class SignInRefused(OpenWebUIError):
    hint = (
        "OpenWebUI refused the bridge's sign-in; an admin must check OPENWEBUI_EMAIL and OPENWEBUI_PASSWORD "
        "(and that password sign-in is enabled in OpenWebUI)."
    )


class ConnectionLost(OpenWebUIError):
    """The socket that carried a signed-in turn's events dropped mid-answer; the answer ends where it was."""

    hint = texts.CONNECTION_LOST


class AccountMismatch(Forbidden):
    hint = (
        "The bridge signs in to OpenWebUI as another user than its API key's, who cannot answer in the key's "
        "chats; an admin must set OPENWEBUI_EMAIL to the API key's account."
    )


class SignInLimited(OpenWebUIError):
    hint = "OpenWebUI is refusing the bridge's sign-ins for a few minutes (too many attempts); try again later."
