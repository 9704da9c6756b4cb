"""Discord's rate limits, as Discord states them and as its 429s reveal them, so that streaming edits do not
meet a 429 (or meet one once).

discord.py reads the `X-RateLimit-*` headers too, but only to sleep *inside* a request once a bucket is
empty, and it never waits in advance for the global limit (50 requests/s per bot). A bridge that streams
must decide before it sends: a reply waits for its turn here, then sends the newest text.

Three limits are kept:
* per bucket (a route and its channel or interaction token): a `BucketGate` that grants only what the
  last headers left in the current window. Discord's windows are fixed, so a token bucket refilling
  continuously could grant a call the server's window no longer has; this gate cannot.
* hidden budgets no header announces, learned from 429s (`hidden_limits`): once learned in one channel,
  a `SharedGate` per channel for every channel.
* global: one `RateBudget` for every request to the API, shared fairly in arrival order, with the final
  edit of a reply ahead of routine updates. A reply takes its grant in `ChannelReplySurface.pace`, before
  its request exists, so a routine update still waiting can give way when the final text arrives, and
  names the request it pays for (`paid_for`); every other request takes one in the trace hook.
  Interaction responses are exempt, as on Discord. A global 429 (another process on the same token, or a
  limit lower than documented) lowers its rate for `GLOBAL_CAUTION_FOR` seconds. Replicas of the bridge on
  one bot share it (`global_budget_name`, `bridge.shared_budgets`): each grants its share of the rate.

The bucket gates need nothing shared: Discord's headers count every process's calls, so each replica's gate
reads what the others left, and a conversation (a thread, a DM) is answered by one replica at a time. Two
replicas answering in one channel at once may both spend its last call before their headers say so; the
bucket's 429 then tells each how long to wait, as it would one process.

The headers are read from discord.py's own HTTP session through `aiohttp.TraceConfig`, the hook
`discord.Client(http_trace=...)` offers for observing its requests; nothing inside discord.py is patched.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace

import aiohttp
from discord.http import Route

from adapters.discord.gates import BucketGate, SharedGate
from adapters.discord.hidden_limits import HiddenLimits
from bridge.metrics import METRICS
from bridge.pacing import RateBudget

log = logging.getLogger(__name__)

MESSAGE_CREATE = "POST /channels/{channel_id}/messages"
MESSAGE_EDIT = "PATCH /channels/{channel_id}/messages/{message_id}"
FOLLOWUP_CREATE = "POST /webhooks/{webhook_id}/{webhook_token}"
FOLLOWUP_EDIT = "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"

GLOBAL_PER_SECOND = 50
"""Discord's documented global limit per bot; it sends no headers for it, so this one number is fixed."""

_TRACKED = (
    ("POST", re.compile(r"/channels/(\d+)/messages"), MESSAGE_CREATE),
    ("PATCH", re.compile(r"/channels/(\d+)/messages/\d+"), MESSAGE_EDIT),
    ("POST", re.compile(r"/webhooks/(\d+/[^/]+)"), FOLLOWUP_CREATE),
    ("PATCH", re.compile(r"/webhooks/(\d+/[^/]+)/messages/[^/]+"), FOLLOWUP_EDIT),
)
"""The routes replies are paced on, with the group that is their major parameter (Discord's bucket key)."""
_ROUTES = tuple(route for _, _, route in _TRACKED)

_EXEMPT_PREFIXES = ("/interactions/", "/webhooks/")
_MAX_GATES = 4096
GLOBAL_SHARE = 0.92
"""Share of the global limit granted: four calls a second to spare for jitter between our grants and the server's
count."""
GLOBAL_CAUTION = 0.9
"""The global rate is multiplied by this after a global 429 (down to `GLOBAL_CAUTION_FLOOR` of it; 429s answered
while an earlier one's Retry-After runs are one event: their requests left before it was known)..."""
GLOBAL_CAUTION_FLOOR = 0.5
GLOBAL_CAUTION_FOR = 30.0
"""...and is whole again this many seconds after the last one."""


def global_budget_name(token: str) -> str:
    """The name replicas of one bot share its global budget under (`bridge.shared_budgets`): the global limit
    is per bot, so the name says which bot without showing its token."""
    return "discord:" + hashlib.sha256(token.encode()).hexdigest()[:12] + ":global"


@dataclass(slots=True)
class _Prepaid:
    """Requests with one method and path that hold their global grant: `open` blocks of `paid_for` are
    waiting for theirs, `credits` grants are not used yet (never more than the blocks still open)."""

    open: int = 0
    credits: int = 0


@dataclass(slots=True)
class Taken:
    """The calls one request to `route` for `major` took from its gates, to give back if it is abandoned
    before it goes out."""

    route: str
    major: str
    gates: list[BucketGate | SharedGate] = field(default_factory=list)

    def give_back(self) -> None:
        for gate in self.gates:
            gate.give_back()
        self.gates.clear()


class DiscordRateLimits:
    """Every bucket the bridge paces on, plus the global budget, fed by discord.py's HTTP answers."""

    def __init__(self, *, per_second: float = GLOBAL_PER_SECOND, clock: Callable[[], float] = time.monotonic) -> None:
        # 46 grants a second, and never more than 46 in any second (Discord allows 50), and 92% of the budget
        # used. The bucket's capacity of 2 only smooths bursts and absorbs a dispatcher woken a few
        # milliseconds late.
        self._global_rate = per_second * GLOBAL_SHARE
        self.global_budget = RateBudget(rate=self._global_rate, capacity=2, peak=self._global_peak(1.0), clock=clock)
        self.global_caution = 1.0
        """The share of the usual global rate granted now: below 1 for a while after a global 429."""
        self._careful_until = 0.0
        self._refused_until = 0.0
        self.rate_limited = 0
        self._clock = clock
        self._hashes: dict[str, str] = {}
        self._gates: dict[tuple[str, str], BucketGate] = {}
        self._prepaid: dict[tuple[str, str], _Prepaid] = {}
        self.hidden = HiddenLimits(self._existing_gate, clock=clock)

    def gate(self, route: str, major: str) -> BucketGate:
        """The gate of `route` (one of this module's route names) for `major` (channel id, or id/token)."""
        key = (self._hashes.get(route, route), major)
        gate = self._gates.get(key)
        if gate is None:
            if len(self._gates) >= _MAX_GATES:
                self._forget_idle()
            gate = self._gates[key] = BucketGate(clock=self._clock)
        return gate

    def _existing_gate(self, route: str, major: str) -> BucketGate | None:
        return self._gates.get((self._hashes.get(route, route), major))

    async def acquire(self, route: str, major: str, urgent: bool = False) -> Taken:
        """Wait for a call to `route` for `major` from every gate it draws on: the hidden budgets learned so far,
        then its bucket (whose window opens at its grant, so it is taken last). Abandoned, it keeps nothing."""
        taken = Taken(route, major)
        try:
            for gate in [*self.hidden.gates(route, major), self.gate(route, major)]:
                await gate.acquire(urgent)
                taken.gates.append(gate)
            await self.take_learned(taken, urgent)
        except BaseException:
            taken.give_back()
            raise
        return taken

    async def take_learned(self, taken: Taken, urgent: bool = False) -> None:
        """Also take from the hidden budgets learned since `taken` began (a 429 in another channel while this
        request waited): without this, every request already waiting when the first 429 came would meet it."""
        while missing := [g for g in self.hidden.gates(taken.route, taken.major) if g not in taken.gates]:
            for gate in missing:
                await gate.acquire(urgent)
                taken.gates.append(gate)

    async def acquire_global(self, urgent: bool = False) -> None:
        """One grant of the global budget (its rate whole again once a global 429 is long enough ago)."""
        if self.global_caution < 1.0 and self._clock() >= self._careful_until:
            self.global_caution = 1.0
            self._retune_global()
            log.info("Discord's global budget is back to %.0f requests/s", self.global_budget.rate)
        await self.global_budget.acquire(urgent)

    def _global_refused(self, retry_after: float) -> None:
        """A global 429: nothing for `retry_after`, then a lower rate for `GLOBAL_CAUTION_FOR` seconds."""
        now = self._clock()
        self.global_budget.block(retry_after)
        if now >= self._refused_until:
            self.global_caution = max(GLOBAL_CAUTION_FLOOR, self.global_caution * GLOBAL_CAUTION)
        self._refused_until = max(self._refused_until, now + retry_after)
        self._careful_until = now + retry_after + GLOBAL_CAUTION_FOR
        self._retune_global()
        log.warning("Discord's global limit answered 429: %.0f requests/s for a while", self.global_budget.rate)

    def _retune_global(self) -> None:
        self.global_budget.retune(self._global_rate * self.global_caution, self._global_peak(self.global_caution))

    def _global_peak(self, caution: float) -> int:
        return max(2, math.floor(self._global_rate * caution))

    @contextlib.contextmanager
    def paid_for(self, method: str, path: str) -> Iterator[None]:
        """The request `method path` (an API path such as `/channels/42/messages`) made inside the block
        already holds a global grant, taken before its text was picked. Each such grant lets one request
        with that method and path through the trace hook without taking another, and one the block did not
        use is dropped when it ends: every request is counted once, also when replies post in one channel
        at once or discord.py repeats a request."""
        key = (method, path)
        prepaid = self._prepaid.setdefault(key, _Prepaid())
        prepaid.open += 1
        prepaid.credits += 1
        try:
            yield
        finally:
            prepaid.open -= 1
            prepaid.credits = min(prepaid.credits, prepaid.open)
            if not prepaid.open:
                del self._prepaid[key]

    def _use_prepaid(self, method: str, path: str) -> bool:
        prepaid = self._prepaid.get((method, path))
        if prepaid is None or not prepaid.credits:
            return False
        prepaid.credits -= 1
        return True

    def trace_config(self) -> aiohttp.TraceConfig:
        """Pass as `discord.Client(http_trace=...)`: paces every request globally and reads every answer."""
        config = aiohttp.TraceConfig()
        config.on_request_start.append(self._on_request_start)
        config.on_request_end.append(self._on_request_end)
        return config

    async def _on_request_start(
        self, session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestStartParams
    ) -> None:
        path = _api_path(str(params.url))
        if path is None or path.startswith(_EXEMPT_PREFIXES) or self._use_prepaid(params.method, path):
            return
        await self.acquire_global()

    async def _on_request_end(
        self, session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        try:
            self.observe(params.method, str(params.url), params.response.status, params.response.headers)
        except Exception:  # a hook must never break discord.py's request
            log.exception("could not read Discord's rate-limit headers")

    def observe(self, method: str, url: str, status: int, headers: Mapping[str, str]) -> None:
        """Learn from one answer: bucket hashes, what is left in a bucket, 429s (bucket, hidden or global)."""
        path = _api_path(url)
        if path is None:
            return
        limited = _Refusal.of(status, headers)
        if limited is not None:
            self.rate_limited += 1
            METRICS.rate_limited.labels("discord").inc()
            log.warning("Discord answered 429 (%s) to %s %s; waiting %.2f s", limited.scope, method, path, limited.wait)
            if limited.scope == "global":
                self._global_refused(limited.wait)
        tracked = _route_of(method, path)
        if tracked is None:
            return
        route, major = tracked
        bucket = headers.get("X-RateLimit-Bucket")
        if bucket and self._hashes.get(route) != bucket:
            self._learn_hash(route, major, bucket)
        gate = self.gate(route, major)
        if limited is not None:
            if limited.scope == "hidden":
                self.hidden.refused(route, major, limited.wait, _ROUTES)
            elif limited.scope == "bucket":
                gate.exhausted(limited.wait)
            return
        gate.answered()
        self.hidden.answered(route, major)
        if "X-RateLimit-Remaining" in headers:
            gate.observe(
                int(headers.get("X-RateLimit-Limit", gate.limit)),
                int(headers["X-RateLimit-Remaining"]),
                _seconds(headers.get("X-RateLimit-Reset-After")),
            )

    def _learn_hash(self, route: str, major: str, bucket: str) -> None:
        """Discord names the bucket a route uses; routes with one name share one gate, as they share one limit."""
        old = (self._hashes.get(route, route), major)
        self._hashes[route] = bucket
        gate = self._gates.pop(old, None)
        if gate is not None:
            self._gates.setdefault((bucket, major), gate)

    def _forget_idle(self) -> None:
        for key in [k for k, g in self._gates.items() if g.idle]:
            del self._gates[key]


@dataclass(frozen=True, slots=True)
class _Refusal:
    """A 429: whose limit it was (`global`, the route's `bucket`, or `hidden`: one its headers did not show),
    and how long to wait."""

    scope: str
    wait: float

    @staticmethod
    def of(status: int, headers: Mapping[str, str]) -> _Refusal | None:
        if status != 429:
            return None
        scope = headers.get("X-RateLimit-Scope", "").lower()
        if headers.get("X-RateLimit-Global", "").lower() == "true" or scope == "global":
            return _Refusal("global", _seconds(headers.get("Retry-After")))
        if scope == "shared" or _int(headers.get("X-RateLimit-Remaining")) > 0:
            # Reset-After speaks of the route's own bucket, which had room: Retry-After is the hidden budget's.
            return _Refusal("hidden", _seconds(headers.get("Retry-After") or headers.get("X-RateLimit-Reset-After")))
        return _Refusal("bucket", _seconds(headers.get("X-RateLimit-Reset-After") or headers.get("Retry-After")))


def _api_path(url: str) -> str | None:
    """The part of `url` after discord.py's REST base (without the query), or None for other URLs."""
    base = Route.BASE
    if not url.startswith(base):
        return None
    return url[len(base) :].split("?", 1)[0]


def _route_of(method: str, path: str) -> tuple[str, str] | None:
    for route_method, pattern, route in _TRACKED:
        if method == route_method:
            match = pattern.fullmatch(path)
            if match:
                return route, match.group(1).replace("/", "+")
    return None


def _int(value: str | None) -> int:
    try:
        return int(value) if value else 0
    except ValueError:
        return 0


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else 1.0
    except ValueError:
        return 1.0
