"""Platform messages as text for a question: "Summarize thread", "Ask about this message", and the channel
Slack's assistant view is next to.

A transcript is bounded in characters (`TRANSCRIPT_CHARS`): a summary wants the newest messages, so the
oldest are left out first, and the question says so (the model, and whoever reads the chat in OpenWebUI,
then knows the summary covers only part of it). A single message too long on its own is cut at its end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bridge.messages import Attachment

TRANSCRIPT_CHARS = 20_000
"""At most this many characters of messages go into one question (about 5,000 tokens)."""

SUMMARIZE = "Summarize this conversation: its main points, decisions and open questions."
EXPLAIN = "Explain this message, or answer it if it asks something."
ABOUT_CHANNEL = "Recent messages of the channel I am looking at"


@dataclass(frozen=True, slots=True)
class Line:
    """One message of a transcript: who wrote it and what (files named in the text by the adapter)."""

    author: str
    text: str


def transcript(lines: Sequence[Line], limit: int = TRANSCRIPT_CHARS) -> tuple[str, int]:
    """The messages (oldest first) as `author: text` lines within `limit` characters, and how many of the
    oldest were left out to fit."""
    kept: list[str] = []
    used = 0
    for line in reversed(lines):
        text = f"{line.author}: {line.text.strip()}"
        if used + len(text) + 1 > limit:
            if not kept:
                kept.append(text[: max(0, limit - 1)] + "…")
            break
        kept.append(text)
        used += len(text) + 1
    return "\n".join(reversed(kept)), len(lines) - len(kept)


def with_messages(question: str, heading: str, lines: Sequence[Line], limit: int = TRANSCRIPT_CHARS) -> str:
    """`question`, then the messages under `heading`, saying when the oldest were left out or there were none."""
    if not lines:
        return f"{question}\n\n({heading}: there are no messages I could read.)"
    text, left_out = transcript(lines, limit)
    cut = f" (the {left_out} oldest left out: at most {limit:,} characters are sent)" if left_out else ""
    return f"{question}\n\n{heading}{cut}:\n\n{text}"


def as_file(filename: str, text: str) -> Attachment:
    """A message's text as a Markdown attachment (for a knowledge base, which takes files, not text)."""
    body = text.encode()

    async def fetch() -> bytes:
        return body

    return Attachment(filename, "text/markdown", len(body), fetch)
