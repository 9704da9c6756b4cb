"""Errors that end in a sentence for the person who asked, and the one place that picks that sentence.

Every adapter shows a failure the same way: `explain(exc)` turns whatever went wrong into one short
sentence (what happened, what to do), and the detail stays in the log. `OpenWebUIError` (the base of the
OpenWebUI client's errors) is named here too, so adapters catch it without importing the client.
"""

from __future__ import annotations

from bridge.openwebui import errors as openwebui
from bridge.openwebui.errors import OpenWebUIError

__all__ = ["OpenWebUIError", "StoreError", "UserFacingError", "explain"]


class UserFacingError(Exception):
    """A request the bridge cannot serve, with the sentence to show the user as its text."""


class StoreError(Exception):
    """The bridge's database failed (locked, disk full, corrupt); the message says which and what to do."""


SOMETHING_WENT_WRONG = "Something went wrong on the bridge's side; try again, and tell an admin if it keeps happening."
DATABASE_FAILED = "The bridge's database failed; an admin must check its disk."


def explain(exc: BaseException, model: str = "") -> str:
    """The sentence a user sees for `exc` (never a traceback, a URL with a token, or a server's internals)."""
    if isinstance(exc, openwebui.ModelNotFound) and model:
        return f"The model `{model}` is not available in OpenWebUI; choose another one (/model)."
    if isinstance(exc, openwebui.OpenWebUIError):
        return exc.user_message
    if isinstance(exc, UserFacingError):
        return str(exc)
    if isinstance(exc, StoreError):
        return DATABASE_FAILED
    return SOMETHING_WENT_WRONG
