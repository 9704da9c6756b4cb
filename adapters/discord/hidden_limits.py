"""Limits Discord does not announce, learned from its 429s.

Discord counts some routes on one budget per channel that no header shows: posting and editing messages can
draw on one hidden budget while each route's own `X-RateLimit-Remaining` still shows room (discord-api-docs
#1442, Discord.Net #2375). A 429 with `X-RateLimit-Scope: shared`, or one whose route still had room, is the
only sign. From it the bridge learns the budget's *shape*: which routes drew on it (the refused one and every
other paced route that made a call in that channel within the window) and how many calls it allows (the
smallest of their buckets, one fewer each time a 429 comes after a whole window under the shape). The shape
then applies to every channel, each with its own `SharedGate`, so the next channel to stream does not meet
the same 429. It is forgotten after `SHAPE_LIFETIME`; if Discord still counts that way, one 429 teaches it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from adapters.discord.gates import BucketGate, SharedGate

log = logging.getLogger(__name__)

SHAPE_LIFETIME = 600.0
"""Seconds a learned shape is applied before it is forgotten: long enough that a whole busy period meets its
429 once, short enough that a limit Discord lifted stops slowing replies."""
_MAX_GATES = 4096


@dataclass(slots=True)
class HiddenShape:
    """Routes Discord counts on one hidden budget per channel: `limit` calls in `window` seconds."""

    routes: frozenset[str]
    limit: int
    window: float
    learned_at: float
    until: float

    @property
    def key(self) -> str:
        return "+".join(sorted(self.routes))


class HiddenLimits:
    """The shapes learned so far, and the gate each one imposes on every channel.

    `bucket(route, major)` is the route's announced bucket in that channel, if it has one: its limit and
    window size a new shape, and the calls it had answered count on the channel's hidden budget from the start.
    """

    def __init__(
        self, bucket: Callable[[str, str], BucketGate | None], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._bucket = bucket
        self._clock = clock
        self._shapes: list[HiddenShape] = []
        self._gates: dict[tuple[str, str], SharedGate] = {}

    @property
    def shapes(self) -> list[HiddenShape]:
        self._expire()
        return list(self._shapes)

    def gates(self, route: str, major: str) -> list[SharedGate]:
        """The hidden budgets a call to `route` for `major` (a channel) draws on, as far as they are known."""
        return [self._gate(shape, major) for shape in self.shapes if route in shape.routes]

    def answered(self, route: str, major: str) -> None:
        """A call to `route` for `major` was answered (not refused): it counts on its hidden budgets from now."""
        for shape in self._shapes:
            gate = self._gates.get((shape.key, major))
            if gate is not None and route in shape.routes:
                gate.answered()

    def refused(self, route: str, major: str, retry_after: float, candidates: Iterable[str]) -> HiddenShape:
        """A 429 from a budget no header showed, to a call to `route` for `major`: learn (or correct) the shape,
        close that channel's gate for `retry_after`. `candidates` are the routes that may share the budget."""
        now = self._clock()
        drew = {route} | {other for other in candidates if other != route and self._used(other, major, now)}
        shape = next((s for s in self.shapes if drew <= s.routes), None)
        if shape is None:
            shape = self._learn(drew, major, now)
        elif now - shape.learned_at > shape.window and shape.limit > 1:
            # A whole window under the shape and still refused: the budget is smaller than the buckets.
            shape.limit -= 1
            shape.learned_at = now
            for key, gate in self._gates.items():
                if key[0] == shape.key:
                    gate.limit = shape.limit
            log.warning("Discord's hidden budget for %s is smaller: now %d per %.1f s", shape.key, *_size(shape))
        shape.until = now + SHAPE_LIFETIME
        self._gate(shape, major).refused(retry_after)
        return shape

    def _learn(self, drew: set[str], major: str, now: float) -> HiddenShape:
        """A new shape over `drew`, merged with any shape it overlaps (a budget is one budget)."""
        routes = set(drew)
        for old in [s for s in self._shapes if s.routes & drew]:
            routes |= old.routes
            self._shapes.remove(old)
            self._forget_gates(old)
        buckets = self._buckets(routes, major) or [BucketGate()]
        limit, window = min(b.limit for b in buckets), max(b.window for b in buckets)
        shape = HiddenShape(frozenset(routes), limit, window, now, now + SHAPE_LIFETIME)
        self._shapes.append(shape)
        log.warning(
            "Discord answered 429 from a budget its headers did not show: %s share %d calls per %.1f s in each "
            "channel from now on",
            shape.key,
            *_size(shape),
        )
        return shape

    def _buckets(self, routes: Iterable[str], major: str) -> list[BucketGate]:
        """The buckets `routes` have in `major`, each once (routes Discord names as one bucket share it)."""
        found = (self._bucket(route, major) for route in routes)
        return list(dict.fromkeys(bucket for bucket in found if bucket is not None))

    def _used(self, route: str, major: str, now: float) -> bool:
        bucket = self._bucket(route, major)
        return bucket is not None and bool(bucket.answered_since(now - bucket.window))

    def _gate(self, shape: HiddenShape, major: str) -> SharedGate:
        """The channel's gate for `shape`; a new one counts the calls its buckets had answered within the window
        (a call still unanswered counts once its answer comes, `answered`)."""
        gate = self._gates.get((shape.key, major))
        if gate is None:
            if len(self._gates) >= _MAX_GATES:
                self._forget_idle()
            since = self._clock() - shape.window
            made = [at for bucket in self._buckets(shape.routes, major) for at in bucket.answered_since(since)]
            gate = self._gates[(shape.key, major)] = SharedGate(shape.limit, shape.window, made=made, clock=self._clock)
        return gate

    def _expire(self) -> None:
        now = self._clock()
        for shape in [s for s in self._shapes if s.until <= now]:
            self._shapes.remove(shape)
            self._forget_gates(shape)
            log.info("forgot Discord's hidden budget for %s; a 429 will teach it again if it is still there", shape.key)

    def _forget_gates(self, shape: HiddenShape) -> None:
        for key in [k for k in self._gates if k[0] == shape.key]:
            del self._gates[key]

    def _forget_idle(self) -> None:
        for key in [k for k, g in self._gates.items() if g.idle]:
            del self._gates[key]


def _size(shape: HiddenShape) -> tuple[int, float]:
    return shape.limit, shape.window
