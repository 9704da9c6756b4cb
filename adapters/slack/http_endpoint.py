"""HTTP mode's events endpoint: slack-bolt's aiohttp app, served so that idle or slow clients cannot starve it.

Measured before this guard: 1,100 connections that never sent a byte used up a 1,024-file limit, every
retry of Slack's next delivery failed, and asyncio logged each refused `accept()` (about 10,000 lines a
second). So the endpoint

- closes a connection that has no request in progress for `idle_timeout` seconds (from its opening or its
  last answer); aiohttp closes silent connections itself only in its newest releases;
- gives a request `idle_timeout` seconds to arrive whole after its headers (a body sent byte by byte);
- keeps at most `max_connections` open, fewer when the process's open-file limit needs it: a new
  connection over the limit closes the oldest idle one (a flood of idle connections cannot keep Slack out),
  or is itself closed when every connection is busy with a request;
- says so in the log once per interval, with the count, instead of once per connection.

A public endpoint still belongs behind a reverse proxy (README: "Security").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger(__name__)

FLOOD_LOG_INTERVAL = 60.0
ACCEPT_BURST = 100  # asyncio's default backlog: connections accepted at one wake-up of the listening socket
RESERVED_FILES = 100
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FloodLog:
    """One warning at the first closed connection, then one per `interval` with the count, while it lasts."""

    def __init__(self, limit: int, interval: float = FLOOD_LOG_INTERVAL) -> None:
        self.limit = limit
        self.interval = interval
        self.count = 0
        self._timer: asyncio.TimerHandle | None = None

    def note(self) -> None:
        self.count += 1
        if self._timer is None:
            self._report()

    def _report(self) -> None:
        self._timer = None
        if not self.count:
            return
        log.warning(
            "Slack HTTP endpoint: %d connection(s) closed at the limit of %d open connections "
            "(SLACK_HTTP_MAX_CONNECTIONS; clients holding connections without finishing a request); "
            "counted again in %.0f s. "
            "A public endpoint needs a reverse proxy in front (README: Security).",
            self.count,
            self.limit,
            self.interval,
        )
        self.count = 0
        self._timer = asyncio.get_running_loop().call_later(self.interval, self._report)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class _Refused(asyncio.Protocol):
    """The protocol of a connection over the limit while every open one is busy: closed at once."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class _Tracked(asyncio.Protocol):
    """aiohttp's handler of one connection, with the guard told when it closes.

    aiohttp's own `Server.connections` lists a connection only once its transport exists, a loop
    iteration after it was accepted: counting those, a burst of accepts passed the limit before any was
    seen, and the open-file limit was reached anyway. The guard counts from the accept on.
    """

    def __init__(self, guard: ConnectionGuard, handler: RequestHandler) -> None:
        self.guard = guard
        self.handler = handler

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.handler.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.forget(self.handler)
        self.handler.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self.handler.data_received(data)

    def eof_received(self) -> bool | None:
        return self.handler.eof_received()

    def pause_writing(self) -> None:
        self.handler.pause_writing()

    def resume_writing(self) -> None:
        self.handler.resume_writing()


class ConnectionGuard:
    """The listening socket's protocol factory around aiohttp's `Server` (set once the runner made it),
    and the middleware that tells it which connections are busy with a request."""

    def __init__(self, *, max_connections: int, idle_timeout: float) -> None:
        self.server: web.Server | None = None
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.flood = FloodLog(max_connections)
        self._busy: set[RequestHandler] = set()
        # Every open connection, oldest first, with when it opened or last finished a request.
        self._open: dict[RequestHandler, float] = {}

    def __call__(self) -> asyncio.BaseProtocol:
        """A new connection: at the limit, close the oldest idle one, or refuse this one if all are busy."""
        if len(self._open) >= self.max_connections:
            self.flood.note()
            idle = next((h for h in self._open if h not in self._busy and h.transport is not None), None)
            if idle is None:
                return _Refused()
            self._close(idle)
        assert self.server is not None
        handler = self.server()
        self._open[handler] = time.monotonic()
        return _Tracked(self, handler)

    def forget(self, connection: RequestHandler) -> None:
        """The connection closed (by either side)."""
        self._open.pop(connection, None)

    def middleware(self) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
        """For the app's middlewares (added before the runner freezes it)."""

        @web.middleware
        async def guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
            return await self._guarded(request, handler)

        return guarded

    async def _guarded(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Mark the connection busy while its request runs; the body must arrive within `idle_timeout`."""
        connection = request.protocol
        self._busy.add(connection)
        try:
            try:
                await asyncio.wait_for(request.read(), self.idle_timeout)
            except TimeoutError:  # answered, then closed: the unread rest of the body is not waited for
                raise web.HTTPRequestTimeout() from None
            return await handler(request)
        finally:
            self._busy.discard(connection)
            if connection in self._open:
                self._open[connection] = time.monotonic()

    def sweep(self) -> None:
        """Close the connections without a request in progress for `idle_timeout` seconds."""
        now = time.monotonic()
        stale = [h for h, since in self._open.items() if now - since >= self.idle_timeout and h not in self._busy]
        for connection in stale:
            self._close(connection)

    def _close(self, connection: RequestHandler) -> None:
        # Not yet connected (accepted in this loop iteration): aiohttp would keep a force-closed handler's
        # transport open, so it waits for the next sweep.
        if connection.transport is not None:
            self.forget(connection)
            connection.force_close()


def connection_limit(requested: int) -> int:
    """`requested`, or less when the process's open-file limit leaves no room for the rest: asyncio accepts
    up to 100 connections at each wake-up, two wake-ups can pass before the oldest are closed, and
    OpenWebUI, Slack's API, the database and the logs need descriptors too."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    allowed = max(1, soft - 2 * ACCEPT_BURST - RESERVED_FILES)
    if soft == resource.RLIM_INFINITY or requested <= allowed:
        return requested
    log.warning(
        "SLACK_HTTP_MAX_CONNECTIONS=%d leaves too few of this process's %d open files; using %d",
        requested,
        soft,
        allowed,
    )
    return allowed


class EventsEndpoint:
    """Serves `app` on `host:port` through a `ConnectionGuard`; `port` is the one bound (0 picks one)."""

    def __init__(
        self, app: web.Application, host: str, port: int, *, max_connections: int, idle_timeout: float
    ) -> None:
        self.host = host
        self.port = port
        self.max_connections = connection_limit(max_connections)
        self.idle_timeout = idle_timeout
        self._app = app
        self._guard = ConnectionGuard(max_connections=self.max_connections, idle_timeout=idle_timeout)
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._app.middlewares.append(self._guard.middleware())
        # lingering_time=0: a request cut off by the body timeout is closed at once, not read for 10 s more.
        self._runner = web.AppRunner(
            self._app, access_log=None, shutdown_timeout=1.0, keepalive_timeout=self.idle_timeout, lingering_time=0
        )
        await self._runner.setup()
        self._guard.server = self._runner.server
        loop = asyncio.get_running_loop()
        self._listener = await loop.create_server(self._guard, self.host, self.port, reuse_address=True)
        self.port = self._listener.sockets[0].getsockname()[1]
        self._sweeper = asyncio.create_task(self._sweep(), name="slack-http-sweep")

    async def _sweep(self) -> None:
        interval = min(1.0, self.idle_timeout / 10)
        while True:
            await asyncio.sleep(interval)
            self._guard.sweep()

    async def close(self) -> None:
        """Stop listening, close every connection, then the app."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        self._guard.flood.close()
        if self._listener is not None:
            self._listener.close()
        if self._runner is not None:
            await self._runner.cleanup()
