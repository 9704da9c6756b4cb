"""Getting a payload to the app with Slack's retry semantics, whatever the transport.

Slack retries an Events API delivery that is not acknowledged in time (Socket Mode: no ack within 3 s;
HTTP: no 200 within 3 s), up to three times, marking each retry with its number and reason. Slash commands
and interactions are never retried: the user sees an error instead. The transports (Socket Mode, signed
HTTP) only know how to make one attempt; this module owns the loop and the record of every attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .config import SimConfig

Kind = Literal["events_api", "slash_commands", "interactive"]


@dataclass(slots=True)
class Attempt:
    """One try at delivering: when (time.monotonic()), its retry number, and how it ended.

    outcome: "acked"; Socket Mode "timeout" (no ack) or "no_connection"; HTTP "http_timeout", "http_error"
    (answer not 200) or "connection_failed"; "pending" while waiting. A failed outcome becomes the next
    retry's reason ("no_connection" is reported as "timeout", as the app cannot tell them apart).
    """

    at: float
    retry_num: int
    retry_reason: str
    outcome: str = "pending"
    envelope_id: str | None = None
    via: str | None = None
    """What carried it: the Socket Mode connection's name (`socket-1`, ...) or the URL posted to."""
    http_status: int | None = None
    latency: float | None = None
    sent: SignedRequest | None = None


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """An HTTP attempt exactly as sent (body and signed headers), so a test can replay it byte for byte."""

    body: bytes
    headers: dict[str, str]


@dataclass(slots=True)
class Delivery:
    """A payload the simulator is getting to the app, with every attempt made so far."""

    kind: Kind
    payload: dict[str, Any]
    event_id: str | None
    attempts: list[Attempt] = field(default_factory=list)
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    ack_payload: Any = None

    @property
    def retryable(self) -> bool:
        """Only Events API deliveries are retried by Slack."""
        return self.kind == "events_api"


class Transport(Protocol):
    """Makes one attempt and fills in its outcome; must return within about `ack_timeout`."""

    async def attempt(self, delivery: Delivery, attempt: Attempt) -> None:
        """Send `delivery` once and set `attempt.outcome` (and the ack payload on success)."""
        ...


class Deliverer:
    """Runs deliveries in the background over the current transport and keeps them for inspection."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.transport: Transport | None = None
        self.deliveries: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def deliver(self, kind: Kind, payload: dict[str, Any], event_id: str | None = None) -> Delivery:
        """Start delivering `payload`; returns at once with the `Delivery` to watch."""
        delivery = Delivery(kind=kind, payload=payload, event_id=event_id)
        self.deliveries.append(delivery)
        self._spawn(self._run(delivery))
        return delivery

    def deliver_again(self, event_id: str, reason: str = "timeout") -> Delivery:
        """One more attempt of an earlier event, numbered after its last one (a retry as Slack sends it)."""
        delivery = self.find(event_id)
        if delivery is None:
            raise KeyError(f"no delivery with event_id {event_id!r}")
        delivery.acked = asyncio.Event()
        retry_num = delivery.attempts[-1].retry_num + 1 if delivery.attempts else 0
        self._spawn(self._attempt(delivery, retry_num, reason))
        return delivery

    def find(self, event_id: str) -> Delivery | None:
        """The delivery of `event_id`, if any."""
        return next((d for d in self.deliveries if d.event_id == event_id), None)

    async def close(self) -> None:
        """Cancel deliveries still running."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, delivery: Delivery) -> None:
        retries = self.config.max_retries if delivery.retryable else 0
        reason = ""
        for retry_num in range(retries + 1):
            if retry_num > 0:
                delays = self.config.retry_delays or (0.0,)
                await asyncio.sleep(delays[min(retry_num - 1, len(delays) - 1)])
            attempt = await self._attempt(delivery, retry_num, reason)
            if attempt.outcome == "acked":
                return
            reason = "timeout" if attempt.outcome in ("timeout", "no_connection") else attempt.outcome

    async def _attempt(self, delivery: Delivery, retry_num: int, reason: str) -> Attempt:
        attempt = Attempt(at=time.monotonic(), retry_num=retry_num, retry_reason=reason)
        delivery.attempts.append(attempt)
        if self.transport is None:
            attempt.outcome = "no_connection"
            return attempt
        await self.transport.attempt(delivery, attempt)
        attempt.latency = time.monotonic() - attempt.at
        if attempt.outcome == "acked":
            delivery.acked.set()
        return attempt
