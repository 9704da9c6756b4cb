"""The operator's view: `/healthz` (the process answers), `/readyz` (OpenWebUI reachable, the database
file still in place and every platform connected) and `/metrics` (Prometheus), on `BRIDGE_HEALTH_PORT`.

OpenWebUI is watched in the background with backoff, so a bridge started while OpenWebUI is down comes
up, reports not ready, and becomes ready by itself when OpenWebUI is back. The database is watched
too: deleted or replaced while the bridge runs, it would silently lose everything written from then on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiohttp import web

from bridge.metrics import METRICS
from bridge.openwebui import OpenWebUIClient
from bridge.openwebui.errors import OpenWebUIError
from bridge.store import Store

log = logging.getLogger(__name__)


class OpenWebUIWatch:
    """Polls `GET /health`: every `interval` seconds while up, backing off to `max_backoff` while down."""

    def __init__(self, client: OpenWebUIClient, interval: float = 15.0, max_backoff: float = 60.0) -> None:
        self.client = client
        self.interval = interval
        self.max_backoff = max_backoff
        self.reachable = False
        self.reason = "not checked yet"

    async def check(self) -> bool:
        try:
            async with asyncio.timeout(5):
                self.reachable = await self.client.health()
            self.reason = "" if self.reachable else "OpenWebUI /health says it is not healthy"
        except (OpenWebUIError, TimeoutError) as exc:
            self.reachable, self.reason = False, str(exc) or "timed out"
        return self.reachable

    async def run(self) -> None:
        backoff = 1.0
        while True:
            was = self.reachable
            if await self.check():
                if not was:
                    log.info("OpenWebUI is reachable at %s", self.client.base_url)
                backoff = 1.0
                await asyncio.sleep(self.interval)
            else:
                log.warning("OpenWebUI not reachable (%s); checking again in %.0f s", self.reason, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)


class DatabaseWatch:
    """Checks every `interval` seconds, and at each `/readyz`, that the database is usable: an SQLite file
    still the one open, a PostgreSQL server still answering.

    A file deleted or replaced is logged once, as CRITICAL: from then on what the bridge learns (new
    conversations, settings) is written into a file no path names, and is gone at the next start.
    """

    def __init__(self, store: Store, interval: float = 10.0) -> None:
        self.store = store
        self.interval = interval
        self.problem = ""

    async def check(self) -> bool:
        problem = await self.store.problem()
        if problem and problem != self.problem and self.store.dialect == "postgresql":
            log.error("%s: turns fail until it is back", problem)
        elif problem and problem != self.problem:
            log.critical(
                "%s: what the bridge remembers from now on is lost at the next restart. Restore the file from a "
                "backup and restart the bridge, or restart it to begin with an empty database",
                problem,
            )
        elif self.problem and not problem:
            log.info("the database %s is usable again", self.store.label)
        self.problem = problem
        return not problem

    async def run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.interval)


class HealthServer:
    """A small aiohttp app; platforms add a `connected` check each under their name."""

    def __init__(
        self,
        watch: OpenWebUIWatch,
        database: DatabaseWatch,
        checks: dict[str, Callable[[], bool]],
        replica: str = "",
    ) -> None:
        self.replica = replica  # named in /readyz: behind a load balancer, which replica answered
        self.watch = watch
        self.database = database
        self.checks = checks
        self._runner: web.AppRunner | None = None
        self.port = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes(
            [web.get("/healthz", self._healthz), web.get("/readyz", self._readyz), web.get("/metrics", self._metrics)]
        )
        return app

    async def start(self, host: str, port: int) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        log.info("health and metrics on http://%s:%d/", host, self.port)

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, request: web.Request) -> web.Response:
        parts = {
            "openwebui": self.watch.reachable,
            "database": await self.database.check(),
            **{name: check() for name, check in self.checks.items()},
        }
        ready = all(parts.values())
        body: dict[str, object] = {"ready": ready, "checks": parts, "replica": self.replica}
        if not self.watch.reachable:
            body["openwebui_error"] = self.watch.reason
        if self.database.problem:
            body["database_error"] = self.database.problem
        return web.json_response(body, status=200 if ready else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=METRICS.render(), headers={"Content-Type": "text/plain; version=0.0.4"})
