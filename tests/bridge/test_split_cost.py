"""What splitting costs, counted in lines of `bridge/splitting.py` executed, not in seconds: it must grow in
proportion to the text, for one split and for a reply streamed in many updates (issue 14: each post of a
10 MB answer re-split the whole rest, and the event loop saturated)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest

import bridge.splitting
from bridge.live_reply import LiveReply
from bridge.splitting import GrowingSplit, reassemble, split_message
from bridge.surface import SurfaceLimits
from simulators.model_upstream import long_reply
from tests.surfaces import RecordingSurface

SPLITTING = bridge.splitting.__file__


class LineCount:
    """Counts the lines of `bridge/splitting.py` executed while it is active (`sys.settrace`)."""

    def __init__(self) -> None:
        self.lines = 0

    def __enter__(self) -> LineCount:
        sys.settrace(self._call)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(None)

    def _call(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        return self._line if frame.f_code.co_filename == SPLITTING else None

    def _line(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any]:
        self.lines += 1
        return self._line


def lines_to_split(text: str, limit: int = 2000) -> int:
    with LineCount() as count:
        split_message(text, limit)
    return count.lines


SHAPES: dict[str, Callable[[int], str]] = {
    "prose with code": lambda n: long_reply(n, True),
    "one line, no space": lambda n: "x" * n,
    "a run of spaces": lambda n: "a" + " " * (n - 2) + "b",
    "blank lines": lambda n: "a" + "\n" * (n - 1),
    "lines of spaces": lambda n: "a" + (" " * 3000 + "\n") * (n // 3001),
    "flags": lambda n: "🇫🇷" * (n // 2),
    "combining marks": lambda n: "e" + "\u0301" * (n - 1),
    "an open code block": lambda n: "```py\n" + "x = 1\n" * (n // 6),
    "fence lines": lambda n: "```\n" * (n // 4),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_one_split_is_linear_in_the_text(shape: str) -> None:
    make = SHAPES[shape]
    small, large = lines_to_split(make(20_000)), lines_to_split(make(80_000))
    assert large <= 4.6 * small, (small, large)


async def stream_through_a_reply(words: int, *, leave_a_message_halfway: bool) -> tuple[int, str]:
    """Stream `words` words (a line break after every tenth) into a live reply, one word per update, each
    shown before the next; with `leave_a_message_halfway`, the messages shown by then get too old to edit
    (as Discord's do after an hour), so the rest goes on after them. Returns the lines of splitting executed
    and the text the surface shows at the end."""
    now = [0.0]
    limits = SurfaceLimits(max_chars=500, min_edit_interval=0, max_message_age=3600)
    surface = RecordingSurface(limits=limits)
    reply = LiveReply(surface, clock=lambda: now[0])
    reply.start()
    text = ""
    with LineCount() as count:
        for index in range(words):
            word = f"w{index}" + ("\n" if index % 10 == 9 else " ")
            text += word
            if leave_a_message_halfway and index == words // 2:
                now[0] += 3600
            reply.update(text)
            while not (surface.ops and surface.ops[-1].text.endswith(word)):
                await asyncio.sleep(0)
        ids = await reply.finish(text)
    return count.lines, reassemble([surface.messages[i] for i in ids])


@pytest.mark.parametrize("leave_a_message_halfway", [False, True])
async def test_streaming_a_long_reply_costs_splitting_in_proportion_to_its_length(
    leave_a_message_halfway: bool,
) -> None:
    """Four times the text in four times the updates: about four times the splitting, not sixteen."""
    small, shown = await stream_through_a_reply(1_000, leave_a_message_halfway=leave_a_message_halfway)
    assert shown == "".join(f"w{i}" + ("\n" if i % 10 == 9 else " ") for i in range(1_000))
    large, _ = await stream_through_a_reply(4_000, leave_a_message_halfway=leave_a_message_halfway)
    assert large <= 6 * small, (small, large)


def test_a_growing_split_gives_what_a_whole_split_gives() -> None:
    text = long_reply(30_000, True)
    growing = GrowingSplit(700)
    for end in [*range(0, len(text), 37), len(text)]:
        assert growing.parts(text[:end]) == split_message(text[:end], 700), end
    assert growing.parts("a new text") == ["a new text"] and growing.parts("   ") == []
