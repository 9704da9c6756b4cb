"""Split a long Markdown reply into messages that fit a platform's length limit.

Discord caps a message at 2,000 characters and a Slack ``markdown`` block at 12,000, so a long reply becomes
several messages. Three things make this more than slicing:

* **Code blocks must render in every message.** A cut inside a fenced block closes the fence at the end of
  that part (``"\\n" + marker``) and reopens it, with its language, at the start of the next
  (``"```python\\n"``). ``reassemble`` removes exactly these artifacts again.
* **Characters must survive.** No cut lands inside ``"\\r\\n"``, before a combining mark, variation selector,
  skin-tone modifier, keycap or tag character, next to a zero-width joiner, or inside a regional-indicator
  flag pair.
* **Streaming needs prefix stability.** The live reply splits a growing text on every edit and must never
  rewrite a message it has already finished. Every cut is therefore decided from the characters that fit in
  the part's window plus one character of look-ahead (and the complete lines before it), never from what
  follows. Precisely: for a text ``t`` and any extension ``t + s``, with ``p = split_message(t, n)`` and
  ``q = split_message(t + s, n)``, ``p[:-1] == q[:len(p) - 1]``; and ``p[-1]`` and ``q[len(p) - 1]`` (minus
  its fence closing, if it got one) are both the same reopened fence plus a slice of the text from the same
  start, so one is a prefix of the other. The shorter text's last part can be the *longer* one: a text that
  just fits is one message; one character more and the cut moves back to the best boundary, so the live
  message shrinks and the rest moves to the next message.
  ``GrowingSplit`` uses the same property to split only what a longer text can still change, so streaming
  a text costs splitting in proportion to its length, whatever the number of updates.

Fences follow CommonMark (a line of at most 3 spaces and then 3+ backticks or tildes; a closing line uses
the same character, at least as many, and nothing else). Discord's own parser also accepts fences in the
middle of a line; those are treated as ordinary text. Inline formatting (``**bold**``) that spans a cut is
not repaired.

Known corners, all for degenerate input only:

* A whitespace run longer than a part yields parts of whitespace only (exact reassembly needs those
  characters somewhere). Shorter runs never start a part: the cut moves back into the word before them.
* A line that starts like a fence and is longer than half a part, or a run of unbreakable characters (for
  example one letter with thousands of combining marks) longer than a part, is cut anyway; rendering of such a
  part is not guaranteed, exact reassembly still is.
* A fence whose reopen line and closing would take more than half the limit is reopened without its
  language; if the bare markers take more than three quarters, the block is split as plain text.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass

MIN_LIMIT = 16
"""Smallest accepted limit: room for a reopened ``"```\\n"``, a closing ``"\\n```"`` and content."""

_FENCE_LINE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
# What ``reassemble`` recognises as a closing that ``split_message`` appended (after a newline).
_CLOSING_ARTIFACT = re.compile(r"`{3,}|~{3,}")
# A line head that is, or may still grow into, a fence line: never cut a part inside such a line.
_FENCE_HEAD = re.compile(r" {0,3}(?:```|~~~)")
_FENCE_HEAD_PARTIAL = re.compile(r" {0,3}(?:`{0,2}|~{0,2})")
# A word boundary: after a space, before a non-space, so the spaces end the earlier part.
_WORD_CUT = re.compile(r"(?<=[ \t\u3000])(?=\S)")
_ZWJ = "\u200d"
_UNWRAPPED = ("", "")


@dataclass(frozen=True, slots=True)
class _Fence:
    """An open fenced code block: the marker that must close it and the line that reopens it."""

    marker: str  # the run of backticks or tildes, e.g. "```" or "~~~~"
    opener: str  # marker and info string, e.g. "```python"


def _advance(fence: _Fence | None, line: str) -> _Fence | None:
    """The open fence after one complete line (without its newline)."""
    match = _FENCE_LINE.fullmatch(line.removesuffix("\r"))
    if fence is None:
        if match is None or (match[1][0] == "`" and "`" in match[2]):
            return None
        return _Fence(match[1], (match[1] + match[2]).rstrip())
    if (
        match is not None
        and match[1][0] == fence.marker[0]
        and len(match[1]) >= len(fence.marker)
        and not match[2].strip(" \t")
    ):
        return None
    return fence


def fence_state(text: str) -> str | None:
    """The opening line (e.g. ``"```python"``) of the code block still open at the end of ``text``, or None.

    The last line counts even without a trailing newline, as a renderer sees it: ``"```py\\nx\\n```"`` is
    closed. To close an open block in an in-progress render, append ``"\\n"`` plus the opening line's leading
    run of backticks or tildes.
    """
    fence = None
    for line in text.split("\n"):
        fence = _advance(fence, line)
    return fence.opener if fence else None


def split_message(text: str, limit: int) -> list[str]:
    """Split Markdown ``text`` into parts of at most ``limit`` characters (``len()`` of the str).

    A text that fits is returned unchanged as ``[text]``; an empty or all-whitespace text gives ``[]``.
    Otherwise each cut is the last paragraph break, else line break, else word boundary in the part's window,
    each only if it keeps the part at least about half full; else the last position that breaks no character
    and no fence line. Parts are slices of the text plus the fence closings and reopenings described in the
    module docstring, so ``reassemble(split_message(t, n)) == t``.

    Raises ValueError if ``limit < MIN_LIMIT``.
    """
    _check(limit)
    if not text.strip():
        return []
    return _Splitter(text, limit).split(0)[0]


class GrowingSplit:
    """``split_message`` of a text that grows, as a streamed reply's does: ``parts(t)`` equals
    ``split_message(t, limit)``, but the parts no longer text can change (all but the last, by prefix
    stability) are kept, and only the text from the last part's start is split again. So a reply streamed in
    many updates costs splitting in proportion to its length, where splitting it whole on every update cost
    its length times the number of updates (a 10 MB answer saturated the event loop). A text that does not
    extend the previous one starts over.
    """

    def __init__(self, limit: int) -> None:
        _check(limit)
        self.limit = limit
        self._splitter: _Splitter | None = None
        self._settled: list[str] = []  # the parts every extension of the text keeps
        self._last = 0  # where the part after them starts

    def parts(self, text: str) -> list[str]:
        if self._splitter is not None and text.startswith(self._splitter.text):
            self._splitter.extend(text)
        else:
            self._splitter, self._settled, self._last = _Splitter(text, self.limit), [], 0
        if not text.strip():
            return []
        parts, self._last = self._splitter.split(self._last)
        self._settled += parts[:-1]
        return [*self._settled, parts[-1]]


def _check(limit: int) -> None:
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT} characters to reopen a code block, got {limit}")


def reassemble(parts: list[str]) -> str:
    """Inverse of ``split_message``: drop the fence closings and reopenings it added and join the parts.

    A part got a closing exactly when its last line is a bare run of backticks or tildes after a newline
    (``split_message`` never ends a part inside such a line on its own), and the part after a closed one
    starts with one reopening line.
    """
    bodies = []
    reopened = False
    for index, part in enumerate(parts):
        body = part.split("\n", 1)[1] if reopened else part
        reopened = False
        newline = body.rfind("\n")
        if index < len(parts) - 1 and newline != -1 and _CLOSING_ARTIFACT.fullmatch(body, newline + 1):
            body = body[:newline]
            reopened = True
        bodies.append(body)
    return "".join(bodies)


def _is_extender(char: str) -> bool:
    """Whether ``char`` continues the grapheme before it (so no cut may precede it)."""
    code = ord(char)
    if code < 0x300:
        return False
    return (
        code == 0x200D  # zero-width joiner
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0x1F3FB <= code <= 0x1F3FF  # emoji skin tones
        or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags)
        or 0xE0100 <= code <= 0xE01EF  # variation selectors supplement
        or unicodedata.category(char) in ("Mn", "Me", "Mc")  # combining marks, keycap U+20E3
    )


def _is_regional_indicator(char: str) -> bool:
    return "\U0001f1e6" <= char <= "\U0001f1ff"


class _Splitter:
    """The splits of one text, which may grow (`extend`); holds the per-line fence states so each cut can
    look them up."""

    def __init__(self, text: str, limit: int) -> None:
        self.text = ""
        self.limit = limit
        # starts[i]: index where line i begins; states[i]: fence open at that point (complete lines only).
        self.starts = [0]
        self.states: list[_Fence | None] = [None]
        self._wraps: dict[_Fence, tuple[str, str]] = {}
        self.extend(text)

    def extend(self, text: str) -> None:
        """Take `text`, which extends the text so far: only its new lines are read."""
        fence = self.states[-1]
        search = len(self.text)  # every newline before it is in `starts` already
        self.text = text
        while (newline := text.find("\n", search)) != -1:
            fence = _advance(fence, text[self.starts[-1] : newline])
            search = newline + 1
            self.starts.append(search)
            self.states.append(fence)

    def split(self, pos: int) -> tuple[list[str], int]:
        """The parts from `pos` (0, or where a part of an earlier split of a prefix began) to the end, and
        where the last of them begins."""
        parts = []
        while True:
            reopen = self._wrap_at(pos)[0]
            if len(reopen) + len(self.text) - pos <= self.limit:
                parts.append(reopen + self.text[pos:])
                return parts, pos
            cut = self._choose_cut(pos, reopen)
            parts.append(reopen + self.text[pos:cut] + self._wrap_at(cut)[1])
            pos = cut

    def _line_index(self, pos: int) -> int:
        return bisect_right(self.starts, pos) - 1

    def _wrap_at(self, pos: int) -> tuple[str, str]:
        """(reopen, closing) for a cut at ``pos``, or empty strings if no fence is open there.

        The language is kept while the overhead stays within half the limit, the bare marker while it stays
        within three quarters; a longer fence is not wrapped at all (see the module docstring).
        """
        fence = self.states[self._line_index(pos)]
        if fence is None:
            return _UNWRAPPED
        if fence not in self._wraps:
            closing = "\n" + fence.marker
            budgets = ((fence.opener, self.limit // 2), (fence.marker, self.limit - self.limit // 4))
            self._wraps[fence] = next(
                ((opener + "\n", closing) for opener, budget in budgets if len(opener) + 1 + len(closing) <= budget),
                _UNWRAPPED,
            )
        return self._wraps[fence]

    def _choose_cut(self, pos: int, reopen: str) -> int:
        """The end of the part starting at ``pos``; reads only ``text[: end + 1]`` (prefix stability)."""
        end = pos + self.limit - len(reopen)  # text[end] exists, else the rest would have fit
        low = pos + (end - pos) // 2  # preferred boundaries must keep the part about half full
        for cut in (self._newline_cut(pos, reopen, low, end), self._word_cut(pos, reopen, low, end)):
            if cut is not None:
                return cut
        for acceptable in (self._clean, self._grapheme_ok):
            for cut in range(end, pos, -1):
                if self._fits(pos, reopen, cut) and acceptable(cut, pos):
                    return cut
        # One unbreakable run fills the window: cut it rather than stall.
        return next(cut for cut in range(end, pos, -1) if self._fits(pos, reopen, cut))

    def _fits(self, pos: int, reopen: str, cut: int) -> bool:
        return len(reopen) + cut - pos + len(self._wrap_at(cut)[1]) <= self.limit

    def _newline_cut(self, pos: int, reopen: str, low: int, end: int) -> int | None:
        """The last cut after a blank line, else after any newline, in ``[low, end]``."""
        text = self.text
        first = max(low - 1, pos)
        line_cut = None
        newline = text.rfind("\n", first, end)
        while newline != -1:
            cut = newline + 1
            blank = self._after_blank_line(newline)
            if (
                (blank or line_cut is None)
                and self._fits(pos, reopen, cut)
                and self._grapheme_ok(cut, pos)
                and not self._awkward(cut, end)
            ):
                if blank:
                    return cut
                line_cut = cut
            newline = text.rfind("\n", first, newline)
        return line_cut

    def _word_cut(self, pos: int, reopen: str, low: int, end: int) -> int | None:
        """The last cut between a space and a word in ``[low, end]``."""
        for match in reversed(list(_WORD_CUT.finditer(self.text, max(low, pos + 1), end + 1))):
            cut = match.start()
            if self._fits(pos, reopen, cut) and self._clean(cut, pos):
                return cut
        return None

    def _after_blank_line(self, newline: int) -> bool:
        """Whether the line ending at ``newline`` is blank, i.e. a cut after it is a paragraph break."""
        index = newline - 1
        while index >= 0 and self.text[index] in " \t\r":
            index -= 1
        return index < 0 or self.text[index] == "\n"

    def _awkward(self, cut: int, end: int) -> bool:
        """A line cut right after a fence opens, or right before its visible closing line: it would leave an
        empty code block at the end or start of a message."""
        line = self._line_index(cut)
        fence = self.states[line]
        if fence is None:
            return False
        if self.states[line - 1] is None:
            return True
        newline = self.text.find("\n", cut, end + 1)
        return newline != -1 and _advance(fence, self.text[cut:newline]) is None

    def _clean(self, cut: int, pos: int) -> bool:
        """A cut that breaks no character and, if mid-line, leaves no fence-like line on either side."""
        if not self._grapheme_ok(cut, pos):
            return False
        line_start = self.starts[self._line_index(cut)]
        if line_start == cut:
            return True
        text = self.text
        # Whitespace ends the earlier part; a backtick or tilde could start the next part like a fence.
        if text[cut].isspace() or text[cut] in "`~":
            return False
        return not (_FENCE_HEAD.match(text, line_start, cut) or _FENCE_HEAD_PARTIAL.fullmatch(text, line_start, cut))

    def _grapheme_ok(self, cut: int, pos: int) -> bool:
        """Whether ``text[cut - 1]`` and ``text[cut]`` may go to different parts."""
        before, after = self.text[cut - 1], self.text[cut]
        if (before == "\r" and after == "\n") or before == _ZWJ or _is_extender(after):
            return False
        if _is_regional_indicator(before) and _is_regional_indicator(after):
            # Flags are pairs: count the indicators since the part start (itself a flag boundary).
            index = cut - 1
            while index >= pos and _is_regional_indicator(self.text[index]):
                index -= 1
            return (cut - 1 - index) % 2 == 0
        return True
