"""A stand-in for an internal service on loopback: records every request it gets, answers 200 with a secret.

Tests point hostile file URLs at it (a Slack `url_private`, a Discord attachment `url`) and check that the
bridge never called it, and above all never sent it a platform token.

    async with Recorder() as recorder:
        url = recorder.url("/latest/meta-data")
        ...
        assert recorder.requests == []
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

SECRET = b"internal-only MARKER-internal\n"


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request the recorder got."""

    method: str
    path: str
    authorization: str | None


class Recorder:
    """An HTTP server on 127.0.0.1 (a free port) that keeps what it was asked."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _record(self, request: web.Request) -> web.Response:
        self.requests.append(Recorded(request.method, request.path, request.headers.get("Authorization")))
        return web.Response(body=SECRET, content_type="text/plain")

    async def __aenter__(self) -> Recorder:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._record)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
