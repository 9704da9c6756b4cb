"""The server-sent-events reader of answer streams, on bodies cut into awkward chunks."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterable

import pytest

from bridge.openwebui import errors
from bridge.openwebui.client import sse_data


class Chunks:
    """A response body arriving in the given pieces (what aiohttp's `StreamReader.iter_any` yields);
    `read` counts the pieces taken so far."""

    def __init__(self, *pieces: bytes) -> None:
        self.pieces: Iterable[bytes] = pieces
        self.read = 0

    async def iter_any(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            self.read += 1
            yield piece


async def events(*pieces: bytes, limit: int | None = None) -> list[bytes]:
    body = Chunks(*pieces)
    reader = sse_data(body) if limit is None else sse_data(body, limit=limit)  # type: ignore[arg-type]
    return [data async for data in reader]


async def test_events_split_anywhere_come_out_whole() -> None:
    body = 'data: {"a": "héllo"}\n\ndata: [DONE]\n\n'.encode()
    for cut in range(1, len(body)):  # every cut, including inside the two bytes of "é"
        assert await events(body[:cut], body[cut:]) == ['{"a": "héllo"}'.encode(), b"[DONE]"], cut


async def test_the_format_s_other_parts() -> None:
    body = b": keep-alive\r\nevent: x\r\nid: 7\r\ndata:first\r\ndata:  second\r\n\r\n\r\ndata: tail-without-end"
    # comments and other fields are skipped, CRLF works, one leading space is removed, lines are joined,
    # blank lines without data dispatch nothing, and an unfinished event is dropped
    assert await events(body) == [b"first\n second"]


async def test_an_event_that_is_not_utf8_is_passed_on_as_it_came() -> None:
    """Deciding what a bad event means is the caller's: it must not end the stream here."""
    assert await events(b"data: \xff\xfe\n\ndata: [DONE]\n\n") == [b"\xff\xfe", b"[DONE]"]


async def test_a_very_long_event_is_read() -> None:
    sources = json.dumps({"sources": [{"document": ["x" * 400_000]}]}).encode()
    body = b"data: " + sources + b"\n\n"
    assert await events(*(body[i : i + 65_536] for i in range(0, len(body), 65_536))) == [sources]


async def test_a_line_or_an_event_over_the_cap_fails_clearly_without_reading_on() -> None:
    endless_line = Chunks()
    endless_line.pieces = (b"data: " + b"x" * 100 for _ in range(1_000_000))
    with pytest.raises(errors.UpstreamError, match="1,000 bytes"):
        [_ async for _ in sse_data(endless_line, limit=1_000)]  # type: ignore[arg-type]
    assert endless_line.read <= 11
    # many short data lines of one event that never ends add up the same way
    with pytest.raises(errors.UpstreamError, match="1,000 bytes"):
        await events(b"data: 0123456789\n" * 200, limit=1_000)
    with pytest.raises(errors.UpstreamError):
        await events(b": " + b"c" * 2_000 + b"\n\n", limit=1_000)  # a comment too: it is a line
    at_the_cap = b"x" * (1_000 - len("data: "))  # the cap counts the whole line
    assert await events(b"data: " + at_the_cap + b"\n\n", limit=1_000) == [at_the_cap]


class Paced(Chunks):
    """Pieces that arrive `interval` seconds apart."""

    def __init__(self, interval: float, *pieces: bytes) -> None:
        super().__init__(*pieces)
        self.interval = interval

    async def iter_any(self) -> AsyncIterator[bytes]:
        async for piece in super().iter_any():
            await asyncio.sleep(self.interval)
            yield piece


async def test_keep_alives_without_events_are_silence() -> None:
    """Comments keep the connection busy but say nothing: they end in `Timeout` once `idle` has passed (a
    healthy stream longer than `idle` is `test_silence_times_out_but_a_slow_healthy_stream_does_not`)."""
    keep_alives = Paced(0.05, b'data: {"a": 1}\n\n', *(b": keep-alive\n\n" for _ in range(1000)))
    with pytest.raises(errors.Timeout, match=r"no event for 0\.3 s"):
        [_ async for _ in sse_data(keep_alives, idle=0.3)]  # type: ignore[arg-type]
    assert keep_alives.read <= 10  # the first comment after 0.3 s, not the thousandth


def _cpu_seconds_to_read(size: int, piece: int = 2_048) -> float:
    """CPU time to read one `size`-byte event that arrives in `piece`-byte pieces (best of five)."""
    body = b"data: " + b"x" * (size - 8) + b"\n\n"
    pieces = [body[i : i + piece] for i in range(0, len(body), piece)]
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        with asyncio.Runner() as runner:
            [event] = runner.run(events(*pieces, limit=64 * 1024 * 1024))
        best = min(best, time.process_time() - started)
        assert len(event) == size - 8
    return best


def test_reading_a_long_line_in_small_pieces_is_linear() -> None:
    """Eight times the bytes must cost about eight times the CPU, not sixty-four (the reader once joined
    and re-split its whole buffer for every piece: 4 MB in 2 KB pieces took 1.2 s)."""
    small, large = _cpu_seconds_to_read(1_000_000), _cpu_seconds_to_read(8_000_000)
    assert large / max(small, 1e-4) < 24, (small, large)
