"""Hostile model output for the fuzz tests of both platforms: generated from a seeded `random`, so a failure
names a case that can be run again.

Each text mixes what breaks a chat bridge: mention markup of both platforms, the characters their markup
gives a meaning to (`<`, `>`, `&`, `|`, brackets), code fences, very long words, emoji that must not be
cut, and lengths near and over each platform's limits (Discord 2,000 characters a message; Slack 12,000 a
markdown block, and its escapes make a text longer than the model wrote). Some cases stream slowly enough
to be edited several times, some name sources with hostile names and URLs. Some streams come in hostile
shapes from the model (`STREAM_SHAPES`): emoji cut between their UTF-16 halves across events, malformed
events between the good ones, the whole answer in one event; the answer must read the same. Lone surrogates
in the text itself are left out (tests/bridge/test_hostile_openwebui.py owns them).
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from bridge.splitting import reassemble
from simulators.model_upstream import ModelUpstream, tokenize
from simulators.openwebui_fake import FakeOpenWebUI

MENTIONS = (
    "<!here>",
    "<!channel>",
    "<!everyone>",
    "<!here|here>",
    "<!subteam^S0TEAM|@team>",
    "<@U0BOB>",
    "<@W0ALICE|alice>",
    "<#C0GENERAL>",
    "<#C0GENERAL|general>",
    "<!date^1392734382^{date}|Feb 18>",
    "<https://evil.test|a trusted page>",
    "<mailto:a@evil.test|mail>",
    "@everyone",
    "@here",
    "<@123456789012345678>",
    "<@!123456789012345678>",
    "<@&123456789012345678>",
    "[a trusted page](https://evil.test)",
)
MARKUP = (
    "<",
    ">",
    "&",
    "|",
    "&lt;",
    "&gt;",
    "&amp;",
    "<<!",
    "<<@",
    "<\u200b!",
    "[",
    "]",
    "(",
    ")",
    "\\",
    "*",
    "_",
    "~",
)
FENCES = ("```python\n", "```\n", "\n```\n", "~~~\n", "````\n", "`", "``")
UNICODE = ("🙂", "👩‍💻", "🇫🇷", "e\u0301", "中文", "ß", "\u200b", "\u200d", "🏳️‍🌈", "1️⃣")
WORDS = ("the", "bridge", "answer", "channel", "here", "everyone", "team", "link", "code", "note", "a", "is")
SPACES = (" ", " ", " ", "\n", "\n\n", "\t", "\r\n", "   ")
LENGTHS = (
    (40, (1, 300)),
    (25, (1_900, 2_100)),
    (10, (3_950, 4_050)),
    (15, (11_900, 12_100)),
    (5, (23_900, 24_100)),
)
"""(weight, (shortest, longest)): mostly short answers, many near Discord's 2,000 and two of its
messages, some near Slack's 12,000 and two of its blocks."""
SOURCE_URLS = (
    "https://docs.test/a><!channel> <https://evil.test|Click me",
    "https://docs.test/a) [Click me](https://evil.test",
    "https://docs.test/b?x=1&y=<2>|3",
    "javascript:alert(1)",
    "file:///etc/passwd",
    "https://docs.test/" + "p" * 3000,
)
STREAM_SHAPES = ("", "", "", "[[split-surrogate]]", "[[bad-events]]", "[[huge:1]]")
"""How the model upstream streams a case (see simulators/model_upstream.py); "" is word by word."""
SOURCE_HOST = "docs.test"
SEED = 14
COUNT = 200
AT_ONCE = 25  # answers running together: enough to mix streams, posts and updates, few enough to stay fast


@dataclass(frozen=True, slots=True)
class Case:
    """One hostile answer: the model's text, whether it streams slowly, and sources planted for it."""

    index: int
    text: str
    streamed: bool
    sources: tuple[dict[str, str], ...] = field(default=())
    shape: str = ""

    def question(self, upstream: ModelUpstream, owui: FakeOpenWebUI) -> str:
        """The user's message that makes the model answer `text` (and OpenWebUI name the sources)."""
        question = upstream.script(self.text) + self.shape
        if self.streamed:
            question += f" [[rate:{max(50, len(tokenize(self.text)))}]]"  # about a second: several edits
        if self.sources:
            key = f"SOURCES-{uuid.uuid4().hex}"
            owui.planted_sources[key] = list(self.sources)
            question = f"{key} {question}"
        return question


def cases(seed: int = SEED, count: int = COUNT) -> list[Case]:
    rng = random.Random(seed)
    shapes = random.Random(seed + 1)  # its own sequence, so the texts stay those of the seed
    return [_case(rng, index, shapes.choice(STREAM_SHAPES)) for index in range(count)]


def batches(generated: list[Case], size: int = AT_ONCE) -> Iterator[list[Case]]:
    """The cases a few at a time: a test asks a batch, waits for its answers, then asks the next."""
    for start in range(0, len(generated), size):
        yield generated[start : start + size]


def errors(records: Sequence[logging.LogRecord]) -> list[str]:
    """What was logged at ERROR or worse (a turn that failed unexpectedly, a task that died)."""
    return [record.getMessage()[:300] for record in records if record.levelno >= logging.ERROR]


def _case(rng: random.Random, index: int, shape: str) -> Case:
    weights, ranges = zip(*LENGTHS, strict=True)
    low, high = rng.choices(ranges, weights)[0]
    target = rng.randint(low, high)
    pieces: list[str] = []
    size = 0
    while size < target:
        piece = _piece(rng)
        pieces.append(piece)
        size += len(piece)
    text = "".join(pieces)[:target].strip() or "x"
    sources = tuple(_source(rng) for _ in range(rng.randint(1, 30))) if rng.random() < 0.15 else ()
    return Case(index, text, streamed=rng.random() < 0.3, sources=sources, shape=shape)


def _piece(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.15:
        return rng.choice(MENTIONS)
    if kind < 0.25:
        return rng.choice(MARKUP)
    if kind < 0.30:
        return rng.choice(FENCES)
    if kind < 0.35:
        return rng.choice(UNICODE)
    if kind < 0.37:
        return rng.choice("xy<&@!") * rng.randint(40, 3000)  # a very long word
    if kind < 0.65:
        return rng.choice(SPACES)
    return rng.choice(WORDS)


def _source(rng: random.Random) -> dict[str, str]:
    name = "".join(_piece(rng) for _ in range(rng.randint(1, 12)))[:400]
    return {"name": name.strip() or "doc", "url": rng.choice(SOURCE_URLS)}


def answered_exactly_or_with_a_note(shown: Sequence[str], expected: str) -> bool:
    """The messages of an answer read as the expected text, or end with a ⚠️ note saying why not."""
    visible = reassemble(list(shown))
    return visible == expected or visible.rstrip().rsplit("\n", 1)[-1].startswith("⚠️")
