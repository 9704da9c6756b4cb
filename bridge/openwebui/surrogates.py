"""Text that can be encoded: UTF-16 surrogates joined into their characters or replaced.

JSON may carry a character outside the BMP as two escaped halves (`"\\ud83d\\ude00"`), and an upstream
that escapes each stream chunk on its own sends the halves in two events; Python then holds two lone
surrogates, which no UTF-8 encoder accepts: httpx refused the write-back of such an answer (the turn ended
in "Something went wrong", and every later turn of that chat failed the same way, since each write carries
the chat's messages). So every string the client sends or receives goes through `valid_text`: a split pair
becomes its character again, a lone half becomes U+FFFD.
"""

from __future__ import annotations

import json
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
_HIGH = ("\ud800", "\udbff")


def valid_text(text: str) -> str:
    """`text` with adjacent surrogate halves joined into their character and every lone one as U+FFFD."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def valid_json(value: Any) -> Any:
    """A JSON value (dicts, lists, strings, numbers) with every string and key made valid; the value itself
    when nothing needed it (checked in one C-speed pass, as a chat read back can be large)."""
    try:
        if not _SURROGATE.search(json.dumps(value, ensure_ascii=False)):
            return value
    except (TypeError, ValueError):
        pass
    return _repaired(value)


def _repaired(value: Any) -> Any:
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, dict):
        return {_repaired(key): _repaired(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_repaired(item) for item in value]
    return value


class PairJoiner:
    """The pieces of a streamed text made valid one by one, without splitting a pair the stream split:
    a high surrogate ending one piece waits for the start of the next."""

    def __init__(self) -> None:
        self._held = ""

    def feed(self, piece: str) -> str:
        """The valid text `piece` completes (may be empty while a half waits)."""
        piece = self._held + piece
        self._held = ""
        if piece and _HIGH[0] <= piece[-1] <= _HIGH[1]:
            piece, self._held = piece[:-1], piece[-1]
        return valid_text(piece)

    def flush(self) -> str:
        """At the end of the stream: a half still waiting is lone (U+FFFD), else ""."""
        held, self._held = self._held, ""
        return valid_text(held)
