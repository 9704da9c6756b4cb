"""Discord-style rate limits: per-route buckets per top-level resource, plus a global per-bot budget.

A bucket is keyed like Discord keys it: the route (``PATCH /channels/{channel_id}/messages/{message_id}``)
and its major parameter (the channel id, guild id, or webhook id + token), so edits in two channels never
share a bucket. Windows are fixed: the first request opens a window of ``per`` seconds. Every answer carries
honest ``X-RateLimit-*`` headers, which is what lets discord.py wait *before* a bucket runs dry; a client
that ignores them gets Discord's 429 body and headers.

Optionally (``RateLimitConfig.hidden_shared``) some routes also draw on one budget per resource that no
header announces, as real Discord does in places: a request that finds it spent is answered 429 with
``X-RateLimit-Scope: shared`` while its own route's headers still show room.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from collections import Counter
from dataclasses import dataclass, field

MESSAGE_CREATE = "POST /channels/{channel_id}/messages"
MESSAGE_EDIT = "PATCH /channels/{channel_id}/messages/{message_id}"
CHANNEL_EDIT = "PATCH /channels/{channel_id}"


@dataclass(frozen=True)
class RouteLimit:
    """``limit`` requests per ``per`` seconds."""

    limit: int
    per: float


def _default_routes() -> dict[str, RouteLimit]:
    return {
        MESSAGE_CREATE: RouteLimit(5, 5.0),
        MESSAGE_EDIT: RouteLimit(5, 5.0),
        "DELETE /channels/{channel_id}/messages/{message_id}": RouteLimit(5, 1.0),
        "POST /channels/{channel_id}/typing": RouteLimit(5, 5.0),
        CHANNEL_EDIT: RouteLimit(5, 5.0),
        "POST /webhooks/{webhook_id}/{webhook_token}": RouteLimit(5, 5.0),
        "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}": RouteLimit(5, 5.0),
    }


@dataclass(frozen=True)
class SharedLimit:
    """``limit`` requests per resource that ``routes`` draw on together, announced by none of their headers."""

    routes: frozenset[str]
    limit: RouteLimit


MESSAGES_SHARE_ONE_BUDGET = SharedLimit(frozenset({MESSAGE_CREATE, MESSAGE_EDIT}), RouteLimit(5, 5.0))
"""Posting and editing messages in one channel on one hidden 5 per 5 s, each route's headers showing its own 5:
seen in another implementation of Discord's API, and on Discord itself (discord-api-docs #1442)."""


@dataclass
class RateLimitConfig:
    """Limits the simulator enforces; every number is observed Discord behaviour, not a published one.

    ``channel_rename`` is Discord's hidden sub-limit on renaming a channel or thread (2 per 10 minutes
    per channel): it has no bucket headers, so a client only learns of it from a 429. ``hidden_shared``
    (off by default) makes routes share a budget per channel that their headers do not show.
    """

    routes: dict[str, RouteLimit] = field(default_factory=_default_routes)
    default: RouteLimit = RouteLimit(50, 1.0)
    global_limit: int = 50
    global_per: float = 1.0
    channel_rename: RouteLimit | None = RouteLimit(2, 600.0)
    hidden_shared: SharedLimit | None = None

    def with_routes(self, **changes: RouteLimit) -> RateLimitConfig:
        """A copy with some routes changed; keys are ``message_create``, ``message_edit``, ``channel_edit``."""
        names = {"message_create": MESSAGE_CREATE, "message_edit": MESSAGE_EDIT, "channel_edit": CHANNEL_EDIT}
        routes = dict(self.routes)
        for name, limit in changes.items():
            routes[names[name]] = limit
        return dataclasses.replace(self, routes=routes)


@dataclass
class _Window:
    limit: int
    per: float
    count: int = 0
    reset_at: float | None = None

    def refresh(self, now: float) -> None:
        if self.reset_at is not None and now >= self.reset_at:
            self.count = 0
            self.reset_at = None

    def full(self, now: float) -> bool:
        self.refresh(now)
        return self.count >= self.limit

    def consume(self, now: float) -> None:
        self.refresh(now)
        if self.reset_at is None:
            self.reset_at = now + self.per
        self.count += 1

    def reset_after(self, now: float) -> float:
        return 0.0 if self.reset_at is None else max(0.0, self.reset_at - now)


class SubLimitExceeded(Exception):
    """Raised by a handler that hit a hidden sub-limit; the server turns it into a 429."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__("sub-limit exceeded")
        self.verdict = verdict


@dataclass(frozen=True)
class Verdict:
    """Whether a request may proceed, and the headers (and 429 body) to answer with."""

    allowed: bool
    headers: dict[str, str]
    retry_after: float = 0.0
    is_global: bool = False

    def body(self) -> dict[str, object]:
        return {"message": "You are being rate limited.", "retry_after": self.retry_after, "global": self.is_global}


def bucket_hash(route_key: str) -> str:
    """A stable opaque id per route, like Discord's ``X-RateLimit-Bucket``."""
    return hashlib.sha1(route_key.encode()).hexdigest()[:32]


def _seconds(value: float) -> str:
    """Seconds rounded *up* to the millisecond, so a client never wakes a hair too early."""
    return f"{math.ceil(value * 1000) / 1000:.3f}"


def _limited(headers: dict[str, str], retry_after: float, scope: str, is_global: bool) -> Verdict:
    retry = math.ceil(retry_after * 1000) / 1000
    headers = {**headers, "Retry-After": str(max(1, math.ceil(retry_after))), "X-RateLimit-Scope": scope}
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    return Verdict(False, headers, retry, is_global)


class RateLimiter:
    """Counts requests per bucket and per bot; the only place that decides a 429."""

    def __init__(self, config: RateLimitConfig) -> None:
        self.config = config
        self._buckets: dict[tuple[str, str], _Window] = {}
        self._subs: dict[tuple[str, str], _Window] = {}
        self._global = _Window(config.global_limit, config.global_per)
        self.served_429: Counter[str] = Counter()

    def check(self, route_key: str, major: str, *, global_exempt: bool = False) -> Verdict:
        """Decide on one request to ``route_key`` for resource ``major``, consuming budget when allowed."""
        now = time.monotonic()
        if not global_exempt and self._global.full(now):
            self.served_429["global"] += 1
            return _limited({}, self._global.reset_after(now), "global", True)
        limit = self.config.routes.get(route_key, self.config.default)
        window = self._buckets.setdefault((route_key, major), _Window(limit.limit, limit.per))
        if window.full(now):
            self.served_429["user"] += 1
            return _limited(self._headers(route_key, window, now), window.reset_after(now), "user", False)
        hidden = self._hidden_window(route_key, major)
        if hidden is not None and hidden.full(now):
            # The route's own headers show room: nothing but this 429 tells of the budget behind them.
            self.served_429["shared"] += 1
            return _limited(self._headers(route_key, window, now), hidden.reset_after(now), "shared", False)
        window.consume(now)
        if hidden is not None:
            hidden.consume(now)
        if not global_exempt:
            self._global.consume(now)
        return Verdict(True, self._headers(route_key, window, now))

    def _hidden_window(self, route_key: str, major: str) -> _Window | None:
        hidden = self.config.hidden_shared
        if hidden is None or route_key not in hidden.routes:
            return None
        return self._subs.setdefault(("hidden_shared", major), _Window(hidden.limit.limit, hidden.limit.per))

    def check_sub_limit(self, name: str, major: str, limit: RouteLimit) -> Verdict:
        """A hidden sub-limit (no headers of its own), such as renaming a channel."""
        now = time.monotonic()
        window = self._subs.setdefault((name, major), _Window(limit.limit, limit.per))
        if window.full(now):
            self.served_429["shared"] += 1
            return _limited({}, window.reset_after(now), "shared", False)
        window.consume(now)
        return Verdict(True, {})

    @staticmethod
    def _headers(route_key: str, window: _Window, now: float) -> dict[str, str]:
        reset_after = window.reset_after(now) if window.reset_at is not None else window.per
        return {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(max(0, window.limit - window.count)),
            "X-RateLimit-Reset": _seconds(time.time() + reset_after),
            "X-RateLimit-Reset-After": _seconds(reset_after),
            "X-RateLimit-Bucket": bucket_hash(route_key),
        }
