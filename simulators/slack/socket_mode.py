"""Slack's Socket Mode server side: the WebSocket the app opens with the URL from apps.connections.open.

On connect the server says `hello`; it then sends envelopes (`events_api`, `slash_commands`, `interactive`)
and expects `{"envelope_id": ...}` back, possibly with a `payload` (a slash command's immediate answer).
A ticket in the URL is good for one connection, as Slack's are.

An app may hold several connections at once (one per replica, or a new one opened before an old one closes):
Slack sends each envelope on one of them at random, and an envelope left without an ack is retried on another
one when there is another. A connection Slack told to `disconnect` gets nothing new while others are open.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .config import SimConfig
from .delivery import Attempt, Delivery


@dataclass(eq=False)
class Connection:
    """One open Socket Mode WebSocket and the frames it carried; `name` tells it apart in `Attempt.via`."""

    ws: web.WebSocketResponse
    name: str
    opened_at: float = field(default_factory=time.monotonic)
    received: list[dict[str, Any]] = field(default_factory=list)
    retiring: bool = False
    """Told to `disconnect`: the app is replacing it, so envelopes go to its other connections."""


class SocketModeServer:
    """Accepts Socket Mode connections and makes single delivery attempts over them."""

    def __init__(self, config: SimConfig, app_id: str) -> None:
        self.config = config
        self.app_id = app_id
        self.connections: list[Connection] = []
        self.tickets: set[str] = set()
        self.connected = asyncio.Event()
        self._acks: dict[str, asyncio.Future[Any]] = {}
        self._numbers = itertools.count(1)
        self._pick = random.Random(config.socket_seed)

    def issue_url(self, base_ws_url: str) -> str:
        """A fresh single-use URL, as apps.connections.open answers."""
        ticket = uuid.uuid4().hex
        self.tickets.add(ticket)
        return f"{base_ws_url}?ticket={ticket}&app_id={self.app_id}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The WebSocket endpoint: check the ticket, say hello, then read acks until the socket closes."""
        ticket = request.query.get("ticket", "")
        if ticket not in self.tickets:
            return web.Response(status=401, text="invalid ticket")
        self.tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = Connection(ws, f"socket-{next(self._numbers)}")
        self.connections.append(conn)
        self.connected.set()
        try:
            await ws.send_json(
                {
                    "type": "hello",
                    "num_connections": len(self.connections),
                    "debug_info": {"host": "applink-sim", "build_number": 1, "approximate_connection_time": 3600},
                    "connection_info": {"app_id": self.app_id},
                }
            )
            async for frame in ws:
                if frame.type != WSMsgType.TEXT:
                    continue
                with contextlib.suppress(json.JSONDecodeError):
                    self._on_frame(conn, json.loads(frame.data))
        finally:
            self.connections.remove(conn)
            if not self.connections:
                self.connected.clear()
        return ws

    def _on_frame(self, conn: Connection, data: Any) -> None:
        if not isinstance(data, dict):
            return
        conn.received.append(data)
        future = self._acks.pop(str(data.get("envelope_id")), None)
        if future is not None and not future.done():
            future.set_result(data.get("payload"))

    async def attempt(self, delivery: Delivery, attempt: Attempt) -> None:
        """Send one envelope on one of the open connections and wait `ack_timeout` for its ack."""
        conn = await self._connection(delivery)
        if conn is None:
            attempt.outcome = "no_connection"
            return
        envelope_id = str(uuid.uuid4())
        attempt.envelope_id = envelope_id
        attempt.via = conn.name
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": delivery.payload,
            "type": delivery.kind,
            "accepts_response_payload": delivery.kind != "events_api",
        }
        if delivery.kind == "events_api":
            envelope["retry_attempt"] = attempt.retry_num
            envelope["retry_reason"] = attempt.retry_reason
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = future
        try:
            await conn.ws.send_json(envelope)
            delivery.ack_payload = await asyncio.wait_for(future, self.config.ack_timeout)
            attempt.outcome = "acked"
        except (TimeoutError, ConnectionError):
            attempt.outcome = "timeout"
        finally:
            self._acks.pop(envelope_id, None)

    async def disconnect_all(self, reason: str = "refresh_requested") -> None:
        """Ask every client to reconnect, as Slack does before recycling a connection."""
        for conn in list(self.connections):
            conn.retiring = True
            with contextlib.suppress(ConnectionError):
                await conn.ws.send_json({"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-sim"}})

    async def close(self) -> None:
        """Close every socket (server shutdown)."""
        for conn in list(self.connections):
            await conn.ws.close()

    async def _connection(self, delivery: Delivery) -> Connection | None:
        """A random open connection, preferring those not retiring and, for a retry, those that have not
        already left this delivery without an ack; waits `connect_wait` for one when none is open."""
        if not self._open():
            self.connected.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.connected.wait(), self.config.connect_wait)
        candidates = self._open()
        if not candidates:
            return None
        failed = {a.via for a in delivery.attempts if a.outcome not in ("acked", "pending")}
        for keep in (lambda c: not c.retiring, lambda c: c.name not in failed):
            candidates = [c for c in candidates if keep(c)] or candidates
        return self._pick.choice(candidates)

    def _open(self) -> list[Connection]:
        return [c for c in self.connections if not c.ws.closed]
