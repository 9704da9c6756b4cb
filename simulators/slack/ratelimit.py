"""Token buckets that decide when the fake answers 429, and how long `Retry-After` says to wait.

A call is admitted only when every bucket it belongs to has a whole token; a refused call consumes nothing,
which is how Slack behaves from the caller's point of view (waiting `Retry-After` is always enough).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from .config import BucketSpec


@dataclass(slots=True)
class TokenBucket:
    """A bucket of `spec.capacity` tokens refilled continuously at `spec.refill_per_s`."""

    spec: BucketSpec
    tokens: float
    updated: float

    def refill(self, now: float) -> None:
        """Add the tokens earned since the last look."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.spec.capacity, self.tokens + elapsed * self.spec.refill_per_s)
        self.updated = now

    def wait_for_one(self) -> float:
        """Seconds until a whole token is available (0 if one is)."""
        if self.tokens >= 1.0:
            return 0.0
        if self.spec.refill_per_s <= 0:
            return math.inf
        return (1.0 - self.tokens) / self.spec.refill_per_s


class RateLimiter:
    """Buckets per (method, scope key), created on first use from the current configuration."""

    def __init__(
        self,
        specs: Callable[[], dict[str, tuple[BucketSpec, ...]]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._specs = specs
        self._clock = clock
        self._buckets: dict[tuple[str, int, str], TokenBucket] = {}

    def admit(self, method: str, channel: str | None) -> int | None:
        """Take a token for `method`; None when admitted, else the whole seconds for `Retry-After` (≥ 1)."""
        specs = self._specs().get(method, ())
        if not specs:
            return None
        now = self._clock()
        buckets = [self._bucket(method, i, spec, channel, now) for i, spec in enumerate(specs)]
        for bucket in buckets:
            bucket.refill(now)
        wait = max(bucket.wait_for_one() for bucket in buckets)
        if wait > 0:
            return max(1, math.ceil(wait)) if math.isfinite(wait) else 60
        for bucket in buckets:
            bucket.tokens -= 1.0
        return None

    def reset(self) -> None:
        """Forget all buckets (full again on next use), e.g. after a test changed the limits."""
        self._buckets.clear()

    def _bucket(self, method: str, index: int, spec: BucketSpec, channel: str | None, now: float) -> TokenBucket:
        key = (method, index, (channel or "") if spec.scope == "channel" else "")
        bucket = self._buckets.get(key)
        if bucket is None or bucket.spec != spec:
            bucket = TokenBucket(spec=spec, tokens=spec.capacity, updated=now)
            self._buckets[key] = bucket
        return bucket
