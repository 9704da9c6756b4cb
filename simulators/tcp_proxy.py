"""A TCP proxy in front of a server, which a test cuts: the network between the bridge and OpenWebUI.

`drop()` closes every connection the proxy carries at that moment, both ways, as a network failure or a
server restart does (a socket.io connection drops mid-answer); connections opened afterwards work again.
While `down` is set, new connections are closed as soon as they arrive (OpenWebUI restarting).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from simulators.threaded import serve_in_thread


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target_host`:`target_port`; serve it with `running_in_thread`."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.down = False
        self.dropped = 0
        """How many connections `drop()` closed."""
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._open: set[asyncio.StreamWriter] = set()  # both ends of every carried connection

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._carry, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._close_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @contextlib.contextmanager
    def running_in_thread(self) -> Iterator[TcpProxy]:
        with serve_in_thread(self.start, self.stop):
            yield self

    def drop(self) -> None:
        """Close every connection carried now (from any thread); returns once they are closed."""
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._drop(), self._loop).result(5)

    async def _drop(self) -> None:
        self.dropped += len(self._open) // 2
        self._close_all()

    def _close_all(self) -> None:
        for writer in list(self._open):
            writer.transport.abort()  # a reset, not a polite close: what a failing network looks like
        self._open.clear()

    async def _carry(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            writer.transport.abort()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._open.update((writer, upstream_writer))
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer), return_exceptions=True)
        for end in (writer, upstream_writer):
            self._open.discard(end)
            end.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    with contextlib.suppress(OSError):
        writer.write_eof()
