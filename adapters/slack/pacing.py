"""Slack's rate limits as shared budgets: one set per workspace, one post budget per channel.

Slack limits each Web API method per workspace per app (`chat.update` Tier 3 ≈ 50/min, `chat.startStream`
and `chat.stopStream` Tier 2 ≈ 20/min, `chat.appendStream` Tier 4 ≈ 100/min) and `chat.postMessage` to
about one message a second per channel. Every reply streaming at once in a workspace draws on the same
budgets, so they live here, shared, instead of in each reply. The rates sit a little under Slack's so
that network jitter never turns into a 429; when one comes anyway, `paced` honours its `Retry-After`
and sends the same call again.
"""

from __future__ import annotations

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

from bridge.metrics import METRICS
from bridge.pacing import RateBudget

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
STREAMING_RETRY_AFTER = 600.0  # seconds before trying native streaming again in a workspace that refused it


def _per_minute(calls: float, burst: float, reserve: int = 0) -> RateBudget:
    return RateBudget(rate=calls / 60.0, capacity=burst, reserve=reserve)


@dataclass
class WorkspaceBudgets:
    """Every budget of one workspace, and what the workspace turned out to support."""

    # chat.update, Tier 3; one grant kept for a final text, so a lone reply's end never waits for a refill
    update: RateBudget = field(default_factory=lambda: _per_minute(45, 4, reserve=1))
    start: RateBudget = field(default_factory=lambda: _per_minute(18, 2))  # chat.startStream, Tier 2
    stop: RateBudget = field(default_factory=lambda: _per_minute(18, 2))  # chat.stopStream, Tier 2
    append: RateBudget = field(default_factory=lambda: _per_minute(90, 8, reserve=1))  # chat.appendStream, Tier 4
    post: RateBudget = field(default_factory=lambda: _per_minute(240, 20))  # chat.postMessage, workspace-wide
    ephemeral: RateBudget = field(default_factory=lambda: _per_minute(90, 8))  # chat.postEphemeral, Tier 4
    status: RateBudget = field(default_factory=lambda: _per_minute(45, 4))  # assistant.threads.setStatus
    channels: dict[str, RateBudget] = field(default_factory=dict)
    streaming_refused_at: float = float("-inf")
    status_unavailable: bool = False
    clock: Callable[[], float] = time.monotonic
    """Reads the time for the streaming retry (tests drive it: ten minutes cannot be waited out)."""

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


class Budgets:
    """The budgets of every workspace this process talks to, created on first use."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._workspaces: dict[str, WorkspaceBudgets] = {}
        self._clock = clock

    def of(self, team_id: str) -> WorkspaceBudgets:
        budgets = self._workspaces.get(team_id)
        if budgets is None:
            budgets = self._workspaces[team_id] = WorkspaceBudgets(clock=self._clock)
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
            attempt += 1


REPEATABLE = (
    "chat.update",
    "assistant.threads.setStatus",
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
