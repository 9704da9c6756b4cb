"""Figures from one run's records: every number here is computed from timestamps the simulators and the
model upstream stamped, never from what the bridge says about itself.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass

from bench.records import Conversation, Run, SharedBudget


def percentile(values: list[float], q: float) -> float:
    """The `q`-th percentile (0..100), linearly interpolated; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True, slots=True)
class Figures:
    """One run's figures; times in seconds, NaN where a run gave nothing to measure."""

    platform: str
    n: int
    first_text: tuple[float, float, float]  # p50, p95, p99: upstream's first token -> first text visible
    asked_to_text: tuple[float, float]  # p50, p99: the user's message -> first text visible (all causes)
    asked_to_model: tuple[float, float]  # p50, p99: the user's message -> the model upstream asked
    gap: tuple[float, float]  # median, p95 of the gaps between visible updates of one reply
    lag: tuple[float, float]  # p50, p95 of how far the visible text trails the upstream's at each update
    completion: tuple[float, float]  # p50, p99: upstream's last token -> final text visible
    updates: tuple[int, int]  # max, min visible updates per reply, every reply (first and final text included)
    updates_mean: float  # visible updates per reply, on average
    longest_stall: float  # the longest a reply showed nothing new, from its first text to its final text
    fair_interval: float  # seconds between two updates of each reply if the budget were shared evenly
    messages: tuple[int, float]  # max, mean messages a reply took
    streamed: int  # replies with a native stream (Slack)
    budget_name: str
    budget_binds_for: float  # seconds the conversations together asked more than the shared budget allows
    budget_used: float  # share of the budget used while it binds (NaN: it never binds)
    count_429: int
    refused_for_length: int
    correct: float  # share of replies whose final visible text equals the upstream's
    cpu_seconds: float
    openwebui_cpu: tuple[float, float]  # a real OpenWebUI's CPU s during the conversations, share (NaN: stand-in)
    peak_rss_mb: float
    cpu_ms_per_token: float
    tokens: int
    bridge_cpu_share: float  # the bridge's CPU / wall time: near 1.0 means it is CPU-bound
    bench_cpu_share: float  # the benchmark process's CPU / wall time: near 1.0 means its clocks lag
    timed_out: bool
    unfinished: int
    hidden_limits: bool = False  # Discord's posts and edits also shared a budget no header announces
    linked: bool = False  # every person acted as an OpenWebUI user of their own (`--linked`)
    replicas: int = 0  # bridge processes on one PostgreSQL (`--replicas`; 0: one on SQLite)
    budget_store: str = ""  # where the replicas exchanged their rate budgets: "postgresql" or "redis"
    budget_round_trip: tuple[float, float] = (math.nan, math.nan)
    """median, p99 of the replicas' rate-budget exchanges (ms; the slowest replica's of each)"""

    @property
    def label(self) -> str:
        replicas = f" {self.replicas} replica{'s' if self.replicas > 1 else ''}" if self.replicas else ""
        store = " (budgets on Redis)" if self.budget_store == "redis" else ""
        return f"N={self.n}" + (" linked" if self.linked else "") + replicas + store


def figures(run: Run) -> Figures:
    convs = run.conversations
    first = [c.timeline[0].at - c.first_token_at for c in convs if c.timeline and c.first_token_at is not None]
    waited = [c.timeline[0].at - c.asked_at for c in convs if c.timeline]
    before_model = [c.model_asked_at - c.asked_at for c in convs if c.model_asked_at is not None]
    gaps = [g for c in convs for g in _gaps(c)]
    lags = [lag for c in convs for lag in _lags(c)]
    completion = [c.timeline[-1].at - c.last_token_at for c in convs if c.timeline and c.last_token_at is not None]
    counts = [len(c.timeline) for c in convs]
    messages = [c.messages for c in convs]
    binds_for, used = budget_use(run.budget, convs)
    tokens = sum(c.tokens for c in convs)
    cost = run.cost
    return Figures(
        platform=run.platform,
        n=run.n,
        first_text=(percentile(first, 50), percentile(first, 95), percentile(first, 99)),
        asked_to_text=(percentile(waited, 50), percentile(waited, 99)),
        asked_to_model=(percentile(before_model, 50), percentile(before_model, 99)),
        gap=(percentile(gaps, 50), percentile(gaps, 95)),
        lag=(percentile(lags, 50), percentile(lags, 95)),
        completion=(percentile(completion, 50), percentile(completion, 99)),
        updates=(max(counts, default=0), min(counts, default=0)),
        updates_mean=sum(counts) / len(counts) if counts else math.nan,
        longest_stall=max((stall for c in convs for stall in _stalls(c)), default=math.nan),
        fair_interval=fair_interval(run.budget, convs),
        messages=(max(messages, default=0), sum(messages) / len(messages) if messages else math.nan),
        streamed=sum(c.streamed for c in convs),
        budget_name=run.budget.name,
        budget_binds_for=binds_for,
        budget_used=used,
        count_429=run.count_429,
        refused_for_length=run.refused_for_length,
        correct=sum(c.correct for c in convs) / len(convs) if convs else math.nan,
        cpu_seconds=cost.cpu_seconds,
        openwebui_cpu=(
            cost.openwebui_cpu_seconds,
            cost.openwebui_cpu_seconds / cost.wall_seconds if cost.wall_seconds else math.nan,
        ),
        peak_rss_mb=cost.peak_rss_mb,
        cpu_ms_per_token=1000 * cost.cpu_seconds / tokens if tokens else math.nan,
        tokens=tokens,
        bridge_cpu_share=cost.cpu_seconds / cost.wall_seconds if cost.wall_seconds else math.nan,
        bench_cpu_share=cost.bench_cpu_seconds / cost.wall_seconds if cost.wall_seconds else math.nan,
        timed_out=run.timed_out,
        unfinished=sum(not c.correct for c in convs),
        hidden_limits=run.hidden_limits,
        linked=run.linked,
        replicas=run.replicas,
        budget_store=run.budget_store,
        budget_round_trip=(
            max((trip[0] for trip in run.budget_round_trips), default=math.nan),
            max((trip[1] for trip in run.budget_round_trips), default=math.nan),
        ),
    )


def _gaps(conversation: Conversation) -> list[float]:
    """Seconds between successive visible updates while the upstream was still producing text.

    The update that shows the final text after the upstream's last token is the completion, measured on
    its own; counting it here would mix the two.
    """
    gaps = _stalls(conversation)
    end = conversation.last_token_at
    if end is not None and gaps and conversation.timeline[-1].at > end:
        gaps.pop()
    return gaps


def _stalls(conversation: Conversation) -> list[float]:
    """Seconds between successive visible updates of one reply, from its first text to its final text:
    what the person waited for each new piece, the wait for the end included."""
    times = [v.at for v in conversation.timeline]
    return [b - a for a, b in itertools.pairwise(times)]


def fair_interval(budget: SharedBudget, replies: list[Conversation]) -> float:
    """Seconds between two updates of each reply if the replies that draw on the shared budget shared it
    evenly, all at once: their number over the budget's calls a second; never less than the replies'
    own interval (one update per `1 / demand_per_s`)."""
    demand = max((c.demand_per_s for c in replies), default=0.0)
    if not demand:
        return math.nan
    return max(1 / demand, len(replies) / budget.rate)


def _lags(conversation: Conversation) -> list[float]:
    """For each update before the final one: its time minus when the upstream had produced that much text."""
    if not conversation.progress:
        return []
    times = [t for t, _ in conversation.progress]
    sizes = [size for _, size in conversation.progress]
    lags = []
    for shown in conversation.timeline[:-1]:
        index = bisect.bisect_left(sizes, len(shown.text))
        if index < len(times):
            lags.append(shown.at - times[index])
    return lags


def budget_use(budget: SharedBudget, conversations: list[Conversation]) -> tuple[float, float]:
    """Seconds during which the replies in progress asked more of the shared budget than it allows, and the
    share of the budget used in those seconds (NaN when it never binds).

    A reply asks `demand_per_s` until its final text is visible: from its first token, or, when its first
    text takes another budget (`SharedBudget.serves_first_text`), from one interval after that text, when
    its first update is due; before then it could use no call of this budget, however much was free. The
    budget allows its rate in those seconds plus what its buckets had saved up when they began
    (`SharedBudget.allowance`): counted against the rate alone, a run that spends a bucket's burst would
    show more than 100 %.
    """
    events: list[tuple[float, float]] = []
    for c in conversations:
        if c.first_token_at is not None and c.timeline and c.demand_per_s > 0:
            asks = c.first_token_at if budget.serves_first_text else c.timeline[0].at + 1 / c.demand_per_s
            if c.timeline[-1].at > asks:
                events += [(asks, c.demand_per_s), (c.timeline[-1].at, -c.demand_per_s)]
    events.sort()
    periods: list[tuple[float, float]] = []
    demand, start = 0.0, None
    for at, change in events:
        demand += change
        if start is None and demand >= budget.rate - 1e-9:
            start = at
        elif start is not None and demand < budget.rate - 1e-9:
            periods.append((start, at))
            start = None
    duration = sum(end - begin for begin, end in periods)
    if duration <= 0:
        return 0.0, math.nan
    calls = sorted(budget.calls)
    used = sum(bisect.bisect_left(calls, end) - bisect.bisect_left(calls, begin) for begin, end in periods)
    return duration, used / sum(budget.allowance(begin, end) for begin, end in periods)
