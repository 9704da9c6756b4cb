"""The signed-in service account's socket.io connection to OpenWebUI, which carries its turns' live events.

A turn OpenWebUI runs with its whole pipeline (the web UI's own way: `chat_id`, the assistant message `id`
and this socket's `session_id`) answers its POST at once; the answer's deltas, status lines, sources and
the end arrive as `events` on the socket, sent to the room `user:{id}` of the signed-in user
(`socket/main.py`, `get_event_emitter`). One connection serves every turn at once: each turn subscribes to
its (chat id, message id) before its POST, and the events are routed to it.

Connecting: the JWT goes in the socket.io `auth` (`{"token": ...}`). OpenWebUI accepts every connection
(`always_connect`), a bad token included, and then sends it nothing; so after connecting, the bridge calls
`user-join` with the token, whose answer names the user, or is empty when the token was refused (then it
signs in again once). When the token is renewed, `user-join` is called again with the new one: OpenWebUI
re-checks each socket's stored token every 30 s and disconnects a socket whose token expired.

Dropping: a connection that drops (network, OpenWebUI restarting, the server disconnecting it) is opened
again with backoff, for as long as the bridge runs; every turn that was listening is told at once
(`ConnectionLost`), because the events sent while the socket was away are lost: such an answer ends with
what arrived and a note, and the next turn uses the new connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from functools import partial
from typing import Any

import socketio

from bridge.openwebui import errors
from bridge.openwebui.signin import ServiceSession

log = logging.getLogger(__name__)

SOCKET_PATH = "/ws/socket.io"
FIRST_RETRY = 0.5
LAST_RETRY = 30.0
"""Backoff between two attempts to open the socket: from half a second, doubling, up to 30 s (with jitter)."""

_LOST = object()  # put in a turn's inbox when the connection it listened on dropped


class Inbox:
    """The events of one turn (one chat's assistant message), in arrival order."""

    def __init__(self, session_id: str, on_close: Callable[[Inbox], None]) -> None:
        self.session_id = session_id
        """The socket's id when the turn subscribed: the turn's `session_id` for OpenWebUI."""
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._on_close = on_close

    def close(self) -> None:
        """Receive no more (idempotent)."""
        self._on_close(self)

    def put(self, data: Any) -> None:
        self._queue.put_nowait(data)

    def lose(self) -> None:
        self._queue.put_nowait(_LOST)

    async def next(self, idle: float) -> dict[str, Any]:
        """The next event's `data` (`{"type": ..., "data": ...}`); `ConnectionLost` when the socket dropped,
        `Timeout` after `idle` seconds without an event."""
        try:
            async with asyncio.timeout(idle):
                data = await self._queue.get()
        except TimeoutError:
            raise errors.Timeout(f"OpenWebUI sent no event of the answer for {idle:g} s") from None
        if data is _LOST:
            raise errors.ConnectionLost("the socket to OpenWebUI dropped during the answer")
        return data if isinstance(data, dict) else {}


class EventSocket:
    """One socket.io connection, opened on first use and kept open (reopened with backoff) until `aclose`."""

    def __init__(
        self,
        base_url: str,
        session: ServiceSession,
        *,
        connect_timeout: float = 10.0,
        client_factory: Callable[[], socketio.AsyncClient] | None = None,
    ) -> None:
        self._url = base_url.rstrip("/")
        self._session = session
        self._connect_timeout = connect_timeout
        self._factory = client_factory or (lambda: socketio.AsyncClient(reconnection=False))
        self._client: socketio.AsyncClient | None = None
        self._connected = asyncio.Event()
        self._changed = asyncio.Condition()  # notified when the socket opens or an attempt fails
        self._wanted = asyncio.Event()  # a turn waits for the socket: the next attempt goes now, not after backoff
        self._dropped = asyncio.Event()
        self._inboxes: dict[tuple[str, str], Inbox] = {}
        self._task: asyncio.Task[None] | None = None
        self._renewer: asyncio.Task[None] | None = None
        self._failure: errors.OpenWebUIError | None = None  # why the last attempt to connect failed
        self.connections = 0
        """How many times the socket was opened (the first time and every reconnection), for tests and logs."""
        session.on_renewed.append(self._rejoin)

    @property
    def client(self) -> socketio.AsyncClient | None:
        """The connection in use (None while there is none)."""
        return self._client if self._connected.is_set() else None

    async def session_id(self) -> str:
        """The connected socket's id, connecting first if needed (within the connect timeout)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="openwebui-socket")
            self._renewer = asyncio.create_task(self._session.run(), name="openwebui-signin")
        if not self._connected.is_set():
            self._wanted.set()
        try:
            async with asyncio.timeout(self._connect_timeout), self._changed:
                await self._changed.wait_for(lambda: self._connected.is_set() or self._refused())
        except TimeoutError:
            if self._failure is not None:
                raise self._failure from None
            raise errors.Unreachable("could not open OpenWebUI's socket in time") from None
        if self._failure is not None and not self._connected.is_set():
            raise self._failure
        assert self._client is not None and self._client.sid
        return self._client.sid

    async def subscribe(self, chat_id: str, message_id: str) -> Inbox:
        """Receive the events of the answer `message_id` in `chat_id` until the inbox is closed: not a block,
        because OpenWebUI's title and follow-ups come after the answer's end, read apart from the turn."""
        key = (chat_id, message_id)
        inbox = Inbox(await self.session_id(), partial(self._forget, key))
        self._inboxes[key] = inbox
        return inbox

    def _forget(self, key: tuple[str, str], inbox: Inbox) -> None:
        if self._inboxes.get(key) is inbox:
            del self._inboxes[key]

    async def aclose(self) -> None:
        for task in (self._task, self._renewer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._renewer = None

    # --- the connection -------------------------------------------------------------------------

    async def _run(self) -> None:
        """Open the socket, wait until it drops, tell the listening turns, open it again. Failed attempts, and
        connections that dropped soon after opening, back off; a connection that lasted starts over quickly."""
        clock = asyncio.get_running_loop().time
        retry = FIRST_RETRY
        while True:
            client = self._factory()
            try:
                await self._open(client)
            except (socketio.exceptions.SocketIOError, OSError, errors.OpenWebUIError) as exc:
                self._failure = exc if isinstance(exc, errors.OpenWebUIError) else errors.Unreachable(str(exc))
                async with self._changed:
                    self._changed.notify_all()
                log.warning("could not open OpenWebUI's socket (%s); again in %.1f s", type(exc).__name__, retry)
                await _disconnect(client)
                retry = await self._pause(retry)
                continue
            except asyncio.CancelledError:
                await _disconnect(client)
                raise
            self._failure = None
            opened_at = clock()
            try:
                await self._dropped.wait()
            finally:
                self._connected.clear()
                self._client = None
                for inbox in self._inboxes.values():
                    inbox.lose()
                await _disconnect(client)
            log.warning("OpenWebUI's socket dropped; opening it again")
            retry = FIRST_RETRY if clock() - opened_at > LAST_RETRY else await self._pause(retry)

    async def _pause(self, retry: float) -> float:
        """Wait about `retry` seconds, or until a turn needs the socket; returns the next, longer wait."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(retry * random.uniform(0.8, 1.2)):
                await self._wanted.wait()
        self._wanted.clear()
        return min(retry * 2, LAST_RETRY)

    async def _open(self, client: socketio.AsyncClient) -> None:
        self._dropped.clear()
        client.on("events", self._route)
        client.on("disconnect", self._on_disconnect)

        token = await self._session.token()  # first: a refused sign-in is raised here, not lost in socket.io
        await client.connect(
            self._url,
            auth={"token": token},
            socketio_path=SOCKET_PATH,
            transports=["websocket"],
            wait_timeout=self._connect_timeout,
        )
        if not await self._join(client, token):
            token = await self._session.renew_after_refusal(token)
            if not await self._join(client, token):
                raise errors.SignInRefused("OpenWebUI's socket refused the signed-in token")
        self._client = client
        self.connections += 1
        self._connected.set()
        async with self._changed:
            self._changed.notify_all()
        log.info("OpenWebUI's socket is open (session %s)", client.sid)

    def _refused(self) -> bool:
        """The last attempt failed in a way another attempt will not fix soon (a wrong password)."""
        return isinstance(self._failure, errors.SignInRefused | errors.SignInLimited)

    async def _join(self, client: socketio.AsyncClient, token: str) -> bool:
        """`user-join` with `token`: OpenWebUI answers the user's id and name, or nothing for a bad token."""
        answer = await client.call("user-join", {"auth": {"token": token}}, timeout=self._connect_timeout)
        return isinstance(answer, dict) and bool(answer.get("id"))

    async def _rejoin(self, token: str) -> None:
        """A renewed token goes to the open socket, before OpenWebUI's check finds the old one expired."""
        client = self.client
        if client is not None:
            try:
                joined = await self._join(client, token)
            except (socketio.exceptions.SocketIOError, OSError) as exc:
                log.warning("could not hand OpenWebUI's socket the renewed token: %s", type(exc).__name__)
                joined = False
            if not joined:
                self._dropped.set()  # reconnect with the new token

    async def _on_disconnect(self, *reason: Any) -> None:
        self._dropped.set()

    async def _route(self, payload: Any) -> None:
        if not isinstance(payload, dict):
            return
        inbox = self._inboxes.get((str(payload.get("chat_id")), str(payload.get("message_id"))))
        if inbox is not None:
            inbox.put(payload.get("data"))


async def _disconnect(client: socketio.AsyncClient) -> None:
    with contextlib.suppress(Exception):
        await client.disconnect()
