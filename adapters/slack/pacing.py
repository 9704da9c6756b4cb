"""Slack's rate limits as shared budgets: one set per workspace, one post budget per channel.

Slack limits each Web API method per workspace per app (`chat.update` Tier 3 ≈ 50/min, `chat.startStream`
and `chat.stopStream` Tier 2 ≈ 20/min, `chat.appendStream` Tier 4 ≈ 100/min) and `chat.postMessage` to
about one message a second per channel. Every reply streaming at once in a workspace draws on the same
budgets, so they live here, shared, instead of in each reply; which reply gets a routine grant is the
workspace's `Scheduler`'s choice. The rates are Slack's documented ones (Slack says "50+" a minute and so
on; a rate 10 % under Slack's left a tenth of the budgets unused for nothing, issue 15). Each burst is
Slack's (the simulator's) less what its rate refills in `LATE` seconds: a call that reaches Slack up to
that much later than its grant (a busy event loop, the network's jitter) finds the refill it missed, so it
never turns into a 429. When a 429 comes anyway, `paced` honours its `Retry-After`, sends the same call
again, and halves that budget's burst: Slack documents its rates, not its bursts, and a workspace that
allows fewer calls at once than assumed refused each burst until the budget learnt it.

Replicas of the bridge on one app share each workspace's limits: `Budgets` registers every workspace as one
shared budget (`bridge.shared_budgets`), whose share scales all its method budgets together, since each
reply draws on them together (the `Scheduler` spreads a reply's updates over the methods). A channel's
posting budget is not scaled: a conversation is answered by one replica at a time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from adapters.slack.scheduler import Scheduler
from bridge.metrics import METRICS
from bridge.pacing import RateBudget
from bridge.shared_budgets import SharedBudgets
from bridge.surface import EditDeferred

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
STREAMING_RETRY_AFTER = 600.0  # seconds before trying native streaming again in a workspace that refused it
DEFER_AFTER = 0.5  # seconds a final addition may wait for its grant before a new message is considered
DEFER_POLL = 0.25  # seconds between two looks at the budgets while a final text waits


LATE = 0.5
"""Seconds a call may reach Slack after its grant without meeting a 429 (see the module docstring). A whole
call under each burst, as before, covered 1.2 s for `chat.update`, 0.6 s for `chat.appendStream` and 3 s
for `chat.startStream`, and left that call unused for the whole of a busy run: at N = 20 the budgets'
use, counted from the first token, rose from 87.6 % to 88.9 % with `LATE` (issue 15's benchmark), and a
third reply streamed from its first second instead of its fourth."""


def _per_minute(calls: float, burst: float, reserve: int = 0) -> RateBudget:
    return RateBudget(rate=calls / 60.0, capacity=burst, reserve=reserve)


def _tier(calls: float, slack_burst: float, reserve: int = 0) -> RateBudget:
    """A Slack tier at its documented rate, `calls` a minute, and a burst `LATE` seconds of refill under
    `slack_burst`, what Slack accepts at once."""
    rate = calls / 60.0
    return RateBudget(rate=rate, capacity=slack_burst - rate * LATE, reserve=reserve)


@dataclass
class WorkspaceBudgets:
    """Every budget of one workspace, and what the workspace turned out to support."""

    # chat.update, Tier 3; one grant kept for a final text, so a lone reply's end never waits for a refill
    update: RateBudget = field(default_factory=lambda: _tier(50, 5, reserve=1))
    start: RateBudget = field(default_factory=lambda: _tier(20, 3))  # chat.startStream, Tier 2
    stop: RateBudget = field(default_factory=lambda: _tier(20, 3))  # chat.stopStream, Tier 2
    append: RateBudget = field(default_factory=lambda: _tier(100, 10, reserve=1))  # chat.appendStream, Tier 4
    post: RateBudget = field(default_factory=lambda: _per_minute(240, 20))  # chat.postMessage, workspace-wide
    ephemeral: RateBudget = field(default_factory=lambda: _per_minute(90, 8))  # chat.postEphemeral, Tier 4
    status: RateBudget = field(default_factory=lambda: _per_minute(45, 4))  # assistant.threads.setStatus
    title: RateBudget = field(default_factory=lambda: _per_minute(45, 4))  # assistant.threads.setTitle, Tier 3
    channels: dict[str, RateBudget] = field(default_factory=dict)
    finals_waiting: dict[RateBudget, list[object]] = field(default_factory=dict)
    """The final texts waiting for a grant of each budget, in the order they asked (`final_grant`)."""
    streaming_refused_at: float = float("-inf")
    status_unavailable: bool = False
    title_unavailable: bool = False
    clock: Callable[[], float] = time.monotonic
    """Reads the time for the streaming retry and the scheduler (tests drive it: ten minutes cannot be waited
    out)."""
    scheduler: Scheduler = field(init=False)
    """Who gets the next routine grant, among every reply in progress in the workspace."""

    def __post_init__(self) -> None:
        self.scheduler = Scheduler(self, clock=self.clock)

    @property
    def shared(self) -> tuple[RateBudget, ...]:
        """The budgets Slack counts per workspace, which replicas share."""
        return (self.update, self.start, self.stop, self.append, self.post, self.ephemeral, self.status, self.title)

    def share(self, fraction: float) -> None:
        """Grant `fraction` of each workspace-wide limit: this replica's share (`bridge.shared_budgets`)."""
        for budget in self.shared:
            budget.share(fraction)

    def channel_post(self, channel: str) -> RateBudget:
        """chat.postMessage in one channel: about one a second, a burst of two."""
        budget = self.channels.get(channel)
        if budget is None:
            budget = self.channels[channel] = RateBudget(rate=1.0, capacity=2)
        return budget

    @property
    def streaming_available(self) -> bool:
        """False for a while after Slack refused to start a stream (feature off, scope missing, ...)."""
        return self.clock() - self.streaming_refused_at > STREAMING_RETRY_AFTER

    def refuse_streaming(self) -> None:
        self.streaming_refused_at = self.clock()

    def posting_is_spare(self, channel: str) -> bool:
        """Nobody is waiting to post in this workspace or channel, and both budgets have a grant now."""
        return self.post.delay() == 0 and self.channel_post(channel).delay() == 0

    def take_spare_post(self, channel: str, *, keep: float = 0.0) -> bool:
        """Take a post's grants in the workspace and in `channel` if posting is spare and the workspace's
        posting budget holds more than `keep` grants; else take nothing."""
        if not self.posting_is_spare(channel) or self.post.available() <= keep:
            return False
        return self.post.try_acquire() and self.channel_post(channel).try_acquire()


async def final_grant(budgets: WorkspaceBudgets, budget: RateBudget, channel: str, *, may_defer: bool) -> None:
    """Take a grant of `budget` for a final text, or raise `EditDeferred` to show an addition as a new
    message instead: when the grant is more than `DEFER_AFTER` away (replies that stream at once finish
    together, and a scarce budget serves their ends one by one) while posting has room to spare. Only
    spare room: a reply still waiting for its first text needs a post more than another needs its end.

    The wait counts the final texts that asked for `budget` before this one as ahead of it: each saw the
    next grant half a second away and waited for it, though only the first would get it (N = 20: completion
    lag p50 0.13-0.28 s, most ends posted after all)."""
    queue = budgets.finals_waiting.setdefault(budget, [])
    place = object()
    queue.append(place)
    try:
        while not budget.try_acquire(urgent=True):
            delay = budget.delay(urgent=True) + queue.index(place) / budget.rate
            if may_defer and delay > DEFER_AFTER and budgets.posting_is_spare(channel):
                raise EditDeferred
            await asyncio.sleep(min(delay, DEFER_POLL))
    finally:
        queue.remove(place)


class Budgets:
    """The budgets of every workspace this process talks to, created on first use; with `shared`, each
    workspace's limits are shared with the other replicas of the bridge."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, shared: SharedBudgets | None = None) -> None:
        self._workspaces: dict[str, WorkspaceBudgets] = {}
        self._clock = clock
        self._shared = shared

    def of(self, team_id: str) -> WorkspaceBudgets:
        budgets = self._workspaces.get(team_id)
        if budgets is None:
            budgets = self._workspaces[team_id] = WorkspaceBudgets(clock=self._clock)
            if self._shared is not None:
                self._shared.register(f"slack:{team_id}", budgets.scheduler.replies, budgets.share)
        return budgets


def retry_after(error: SlackApiError) -> float:
    """Seconds Slack asked to wait (its whole `Retry-After` value; 1 when absent)."""
    try:
        return max(float(error.response.headers.get("Retry-After", 1)), 0.1)
    except (TypeError, ValueError):
        return 1.0


def is_rate_limited(error: SlackApiError) -> bool:
    return error.response.status_code == 429 or error.response.get("error") == "ratelimited"


async def paced(
    budget: RateBudget,
    call: Callable[[], Awaitable[Any]],
    *,
    urgent: bool = False,
    also: Sequence[RateBudget] = (),
    acquired: bool = False,
) -> Any:
    """Run one Web API call within `budget` (and `also`); after a 429, block the budget and call again.

    `acquired` says the caller already holds a grant of `budget` for the first attempt. The call is kept
    as a closure so a retry sends exactly the same text: nothing is lost to a rate limit.
    """
    attempt = 1
    while True:
        if not acquired:
            await budget.acquire(urgent)
        acquired = False
        for extra in also:
            await extra.acquire(urgent)
        try:
            return await call()
        except SlackApiError as error:
            if not is_rate_limited(error):
                raise
            METRICS.rate_limited.labels("slack").inc()
            if attempt >= MAX_ATTEMPTS:
                raise
            wait = retry_after(error)
            log.warning("Slack answered 429; waiting %.0f s as Retry-After asks (attempt %d)", wait, attempt)
            budget.block(wait)
            budget.lower_burst()  # Slack allows fewer at once than the burst this budget assumed
            attempt += 1


REPEATABLE = (
    "chat.update",
    "assistant.threads.setStatus",
    "assistant.threads.setTitle",
    "auth.test",
    "users.info",
    "conversations.info",
    "conversations.replies",
    "conversations.history",
    "files.info",
)
"""Methods whose repetition does no harm: an update replaces, a read reads. A post or a stream append
answered 5xx may have happened, and repeating it would show the text twice."""


class RepeatableServerErrorRetry(AsyncServerErrorRetryHandler):
    """slack_sdk's retry of Slack's 500/503, kept to the methods that are safe to repeat."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = request.url.rstrip("/").rsplit("/", 1)[-1]
        return method in REPEATABLE and await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


def retry_handlers() -> list[AsyncRetryHandler]:
    """Connection errors (slack_sdk's default) and 5xx of repeatable methods; 429s are paced by `paced`."""
    return [AsyncConnectionErrorRetryHandler(), RepeatableServerErrorRetry(max_retry_count=2)]
