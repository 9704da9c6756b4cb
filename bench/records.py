"""What one benchmark run recorded: plain data that `measure` turns into figures.

Kept apart from the drivers so the arithmetic can be read (and tested) without a simulator running.
Every time is `time.monotonic()` of the benchmark process, the clock the simulators and the model
upstream stamp their records with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(slots=True)
class Visible:
    """What one reply showed from `at` on: the text of all its messages joined (`reassemble`)."""

    at: float
    text: str


@dataclass(slots=True)
class Conversation:
    """One question and its reply, as the upstream produced it and as the platform showed it.

    `demand_per_s` is how many calls a second this reply would take from the shared budget if nothing
    held it back (one update per edit interval). `messages` is how many messages the reply took, and
    `streamed` whether any of them was a native stream (Slack's `chat.startStream`).
    """

    tag: str
    asked_at: float
    upstream_reply: str | None = None
    model_asked_at: float | None = None
    """When the model upstream received the question: everything before it is the bridge's and OpenWebUI's
    work before the model (the two ways to run a turn differ most there)."""
    first_token_at: float | None = None
    last_token_at: float | None = None
    progress: list[tuple[float, int]] = field(default_factory=list)
    tokens: int = 0
    demand_per_s: float = 0.0
    timeline: list[Visible] = field(default_factory=list)
    messages: int = 0
    streamed: bool = False

    @property
    def final_text(self) -> str:
        return self.timeline[-1].text if self.timeline else ""

    @property
    def correct(self) -> bool:
        return self.upstream_reply is not None and self.final_text == self.upstream_reply


@dataclass(frozen=True, slots=True)
class Bucket:
    """One token bucket of a shared budget, as the platform keeps it: `capacity` calls at once, refilled at
    `rate` calls a second, full before its first call; `calls`: when it accepted one (sorted)."""

    capacity: float
    rate: float
    calls: list[float]

    def tokens_at(self, at: float) -> float:
        """The calls it would have accepted at once at `at`: what is saved up may be spent on top of the rate."""
        tokens, last = self.capacity, None
        for call in self.calls:
            if call >= at:
                break
            if last is not None:
                tokens = min(self.capacity, tokens + (call - last) * self.rate)
            tokens, last = tokens - 1, call
        if last is not None:
            tokens = min(self.capacity, tokens + (at - last) * self.rate)
        return max(tokens, 0.0)


@dataclass(slots=True)
class SharedBudget:
    """A platform budget every conversation draws on: its limit, and when each call counted against it.

    `buckets`: where the platform keeps the budget as token buckets (Slack's tiers), the buckets it is made
    of; a stretch of time then allows their saved-up calls on top of the rate. None known (Discord's global
    limit, a window of one second): the rate alone.

    `serves_first_text`: a reply's first text draws on it too (Discord's global limit counts the first
    post), so a reply asks it from its first token; where it does not (Slack's `chat.update` and
    `chat.appendStream`: a first text is a post or a stream start), a reply asks it from its first update,
    one interval after its first text.
    """

    name: str
    limit: float
    per: float
    calls: list[float]
    buckets: list[Bucket] = field(default_factory=list)
    serves_first_text: bool = True

    @property
    def rate(self) -> float:
        return self.limit / self.per

    def allowance(self, begin: float, end: float) -> float:
        """The most calls the platform would have accepted from `begin` to `end`, given what came before."""
        return self.rate * (end - begin) + sum(bucket.tokens_at(begin) for bucket in self.buckets)


@dataclass(slots=True)
class Cost:
    """The bridge process's own resources during the conversations (CPU) and over its life (peak RSS)."""

    cpu_seconds: float
    peak_rss_mb: float
    bench_cpu_seconds: float
    wall_seconds: float
    openwebui_cpu_seconds: float = math.nan
    """A real OpenWebUI's CPU seconds during the conversations (NaN for the stand-in, which runs in the
    benchmark's own process): its server-side work, which the signed-in way makes heavier."""


@dataclass(slots=True)
class Run:
    """Everything one (platform, N) run recorded."""

    platform: str
    n: int
    reply_chars: int
    tokens_per_second: float
    first_token_delay: float
    conversations: list[Conversation]
    count_429: int
    refused_for_length: int
    budget: SharedBudget
    cost: Cost
    timed_out: bool
    hidden_limits: bool = False
    linked: bool = False
    replicas: int = 0
    """Bridge processes on one PostgreSQL (0: one on its SQLite file)."""
    budget_store: str = ""
    """Where the replicas say they exchanged their rate budgets' rows: "postgresql" or "redis" (their logs)."""
    budget_round_trips: list[tuple[float, float]] = field(default_factory=list)
    """Each replica's (median, p99) round trip of its rate-budget exchanges, in ms, as it logged them."""
    chat_owners: int = 0
    """OpenWebUI users whose history holds the run's chats (the stand-in's records; 0 on a real OpenWebUI)."""
    notes: list[str] = field(default_factory=list)
