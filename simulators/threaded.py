"""Run an async test server in a daemon thread with its own event loop.

Session-scoped fixtures are synchronous so that tests on any event loop can share one server
(pytest-asyncio gives each test its own loop); the server's loop lives in its thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator

from aiohttp import web


async def serve_on_loopback(app: web.Application) -> tuple[web.AppRunner, int]:
    """Serve `app` on a free port of 127.0.0.1; the runner (to clean up) and the port."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    return runner, sock.getsockname()[1]


@contextlib.contextmanager
def serve_in_thread(
    start: Callable[[], Awaitable[None]], stop: Callable[[], Awaitable[None]], timeout: float = 10.0
) -> Iterator[asyncio.AbstractEventLoop]:
    """Call `start()` on a new loop in a new thread, yield that loop, then `stop()` it and join."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as exc:
            failure.append(exc)
            started.set()
            return
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    if not started.wait(timeout) or failure:
        raise RuntimeError(f"server thread did not start: {failure[0] if failure else 'timeout'}")
    try:
        yield loop
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        loop.close()
