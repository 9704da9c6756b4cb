"""The server-sent-events reader of answer streams, on bodies cut into awkward chunks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from bridge.openwebui.client import sse_data


class Chunks:
    """A response body arriving in the given pieces (what aiohttp's `StreamReader.iter_any` yields)."""

    def __init__(self, *pieces: bytes) -> None:
        self.pieces = pieces

    async def iter_any(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece


async def events(*pieces: bytes) -> list[str]:
    return [data async for data in sse_data(Chunks(*pieces))]  # type: ignore[arg-type]


async def test_events_split_anywhere_come_out_whole() -> None:
    body = 'data: {"a": "héllo"}\n\ndata: [DONE]\n\n'.encode()
    for cut in range(1, len(body)):  # every cut, including inside the two bytes of "é"
        assert await events(body[:cut], body[cut:]) == ['{"a": "héllo"}', "[DONE]"], cut


async def test_the_format_s_other_parts() -> None:
    body = b": keep-alive\r\nevent: x\r\nid: 7\r\ndata:first\r\ndata:  second\r\n\r\n\r\ndata: tail-without-end"
    # comments and other fields are skipped, CRLF works, one leading space is removed, lines are joined,
    # blank lines without data dispatch nothing, and an unfinished event is dropped
    assert await events(body) == ["first\n second"]


async def test_a_very_long_event_is_read() -> None:
    sources = json.dumps({"sources": [{"document": ["x" * 400_000]}]})
    body = f"data: {sources}\n\n".encode()
    assert await events(*(body[i : i + 65_536] for i in range(0, len(body), 65_536))) == [sources]
