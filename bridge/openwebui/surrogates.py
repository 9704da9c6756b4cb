"""Text that can be encoded: UTF-16 surrogates joined into their characters or replaced.

JSON may carry a character outside the BMP as two escaped halves (`"\\ud83d\\ude00"`), and an upstream
that escapes each stream chunk on its own sends the halves in two events; Python then holds two lone
surrogates, which no UTF-8 encoder accepts: httpx refused the write-back of such an answer (the turn ended
in "Something went wrong", and every later turn of that chat failed the same way, since each write carries
the chat's messages). So the client makes valid every string it sends or receives: a split pair becomes
its character again, a lone half becomes U+FFFD.
"""

from __future__ import annotations

import json
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
_HIGH = ("\ud800", "\udbff")


def valid_text(text: str) -> str:
    """`text` with adjacent surrogate halves joined into their character and every lone one as U+FFFD."""
    if text.isascii() or not _SURROGATE.search(text):  # isascii first: most of a stream, and cheaper
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def valid_json(value: Any) -> Any:
    """A JSON value (dicts, lists, strings, numbers) with every string and key made valid."""
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, dict):
        return {valid_text(key) if isinstance(key, str) else key: valid_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [valid_json(item) for item in value]
    return value


def json_body(value: Any) -> bytes:
    """`value` as a JSON request body, as httpx would encode it; only when that fails on a lone surrogate is
    its text made valid first, so a body costs no more than before in the usual case (a write-back carries
    the whole chat's text)."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        return json.dumps(valid_json(value), ensure_ascii=False, separators=(",", ":")).encode()


def parsed(raw: bytes) -> Any:
    """JSON text parsed, with its text made valid. A surrogate can only come from a `\\uD8xx`-`\\uDFxx`
    escape (or bytes that are not UTF-8, which `json.loads` lets through as surrogates), so a body without
    either is not walked: the check is a byte search, cheaper than the parse."""
    value = json.loads(raw)
    if b"\\ud" in raw or b"\\uD" in raw or b"\xed" in raw:
        return valid_json(value)
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
