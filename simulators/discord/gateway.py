"""The Discord gateway: a websocket speaking opcodes, with zlib-stream or zstd-stream transport compression.

One :class:`GatewaySession` per IDENTIFY. A session outlives its socket: dispatches sent while the bot is
disconnected are kept (with their sequence numbers) and replayed on RESUME, exactly the contract discord.py
relies on after a dropped connection or an op 7 RECONNECT. Intents chosen at IDENTIFY decide which events a
session receives and whether message content is blanked. A session that IDENTIFYs with ``shard: [id, count]``
gets, as on Discord, only the servers of its shard (``(guild_id >> 22) % count == id``: in READY, GUILD_CREATE
and every server event) and direct messages only on shard 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import secrets
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from simulators.discord import payloads
from simulators.discord.clock import SimClock
from simulators.discord.models import SimChannel, SimMessage
from simulators.discord.state import SimState


class Op(enum.IntEnum):
    DISPATCH = 0
    HEARTBEAT = 1
    IDENTIFY = 2
    PRESENCE_UPDATE = 3
    VOICE_STATE_UPDATE = 4
    RESUME = 6
    RECONNECT = 7
    REQUEST_GUILD_MEMBERS = 8
    INVALID_SESSION = 9
    HELLO = 10
    HEARTBEAT_ACK = 11


class Intent(enum.IntFlag):
    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    GUILD_MESSAGE_TYPING = 1 << 11
    DIRECT_MESSAGES = 1 << 12
    DIRECT_MESSAGE_REACTIONS = 1 << 13
    DIRECT_MESSAGE_TYPING = 1 << 14
    MESSAGE_CONTENT = 1 << 15


PRIVILEGED_INTENTS = {
    "members": Intent.GUILD_MEMBERS,
    "presences": Intent.GUILD_PRESENCES,
    "message_content": Intent.MESSAGE_CONTENT,
}

# Which intent an event needs: (in a guild, in a DM). None means always delivered.
_EVENT_INTENTS: dict[str, tuple[Intent | None, Intent | None]] = {
    "MESSAGE_CREATE": (Intent.GUILD_MESSAGES, Intent.DIRECT_MESSAGES),
    "MESSAGE_UPDATE": (Intent.GUILD_MESSAGES, Intent.DIRECT_MESSAGES),
    "MESSAGE_DELETE": (Intent.GUILD_MESSAGES, Intent.DIRECT_MESSAGES),
    "MESSAGE_REACTION_ADD": (Intent.GUILD_MESSAGE_REACTIONS, Intent.DIRECT_MESSAGE_REACTIONS),
    "TYPING_START": (Intent.GUILD_MESSAGE_TYPING, Intent.DIRECT_MESSAGE_TYPING),
    "GUILD_CREATE": (Intent.GUILDS, Intent.GUILDS),
    "GUILD_ROLE_CREATE": (Intent.GUILDS, Intent.GUILDS),
    "CHANNEL_CREATE": (Intent.GUILDS, Intent.GUILDS),
    "CHANNEL_UPDATE": (Intent.GUILDS, Intent.GUILDS),
    "THREAD_CREATE": (Intent.GUILDS, Intent.GUILDS),
    "THREAD_UPDATE": (Intent.GUILDS, Intent.GUILDS),
    "GUILD_MEMBER_ADD": (Intent.GUILD_MEMBERS, Intent.GUILD_MEMBERS),
    "GUILD_MEMBER_UPDATE": (Intent.GUILD_MEMBERS, Intent.GUILD_MEMBERS),
}

# Close codes (Discord's) the simulator uses.
CLOSE_UNKNOWN_OPCODE = 4001
CLOSE_DECODE_ERROR = 4002
CLOSE_NOT_AUTHENTICATED = 4003
CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_ALREADY_AUTHENTICATED = 4005
CLOSE_INVALID_SHARD = 4010
CLOSE_DISALLOWED_INTENTS = 4014

_RESUME_LOG_SIZE = 2000


class _Encoder:
    """Turns payloads into frames: text, or one compressed stream per connection (flushed per message)."""

    def __init__(self, compress: str | None) -> None:
        self.mode = compress
        self._zlib = zlib.compressobj() if compress == "zlib-stream" else None
        self._zstd: Any = None
        if compress == "zstd-stream":
            import zstandard  # only present when discord.py itself would ask for zstd-stream

            self._zstd = zstandard.ZstdCompressor().compressobj()
            self._zstd_flush = zstandard.COMPRESSOBJ_FLUSH_BLOCK

    def encode(self, payload: dict[str, Any]) -> str | bytes:
        text = json.dumps(payload, separators=(",", ":"))
        if self._zlib is not None:
            return self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
        if self._zstd is not None:
            return self._zstd.compress(text.encode()) + self._zstd.flush(self._zstd_flush)
        return text


class _Connection:
    """One websocket; the lock keeps compressed frames in the order their bytes were produced."""

    def __init__(self, ws: web.WebSocketResponse, encoder: _Encoder, transport: asyncio.BaseTransport | None) -> None:
        self.ws = ws
        self.encoder = encoder
        self.transport = transport
        self.lock = asyncio.Lock()
        self.closed_by_server = False

    async def close(self, code: int, message: bytes) -> None:
        """Close from the simulator's side; the session it carried stays resumable."""
        self.closed_by_server = True
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.close(code=code, message=message)

    async def send(self, payload: dict[str, Any]) -> bool:
        async with self.lock:
            if self.ws.closed:
                return False
            frame = self.encoder.encode(payload)
            try:
                if isinstance(frame, bytes):
                    await self.ws.send_bytes(frame)
                else:
                    await self.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return False
            return True


@dataclass
class GatewaySession:
    """An identified bot session; resumable while ``resumable`` is True."""

    id: str
    intents: int
    seq: int = 0
    connection: _Connection | None = None
    resumable: bool = True
    log: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=_RESUME_LOG_SIZE))
    shard: tuple[int, int] | None = None
    """``(shard_id, shard_count)`` from IDENTIFY; None: the session gets every server."""

    def wants(self, event: str, *, dm: bool) -> bool:
        needed = _EVENT_INTENTS.get(event)
        if needed is None:
            return True
        intent = needed[1] if dm else needed[0]
        return intent is None or bool(self.intents & intent)

    def serves(self, guild_id: int | None) -> bool:
        """Whether events of this server (None: outside any, a DM) go to this session's shard."""
        if self.shard is None:
            return True
        shard_id, shard_count = self.shard
        if guild_id is None:
            return shard_id == 0
        return shard_of(guild_id, shard_count) == shard_id


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that receives a server's events: Discord's formula, on the snowflake's timestamp bits."""
    return (guild_id >> 22) % shard_count


def _guild_of(event: str, data: dict[str, Any]) -> int | None:
    """The server an event belongs to (GUILD_CREATE is the server itself), None outside any."""
    guild = data.get("id") if event == "GUILD_CREATE" else data.get("guild_id")
    return int(guild) if guild else None


def _shard(data: dict[str, Any]) -> tuple[int, int] | None:
    """IDENTIFY's ``shard`` pair, None when absent; ValueError when Discord would refuse it (4010)."""
    if "shard" not in data:
        return None
    value = data["shard"]
    if not (isinstance(value, list) and len(value) == 2 and all(type(n) is int for n in value)):
        raise ValueError("shard must be [shard_id, shard_count]")
    if not 0 <= value[0] < value[1]:
        raise ValueError("shard_id must be at least 0 and below shard_count")
    return value[0], value[1]


@dataclass(frozen=True)
class GatewayEvent:
    """A dispatch as sent to one session (``seq`` is that session's sequence number)."""

    session_id: str
    seq: int
    name: str
    at_monotonic: float


class Gateway:
    """Serves the websocket route and fans dispatches out to sessions according to their intents."""

    def __init__(
        self,
        state: SimState,
        clock: SimClock,
        *,
        heartbeat_interval_ms: int,
        privileged_intents: frozenset[str],
        url: Callable[[], str],
        on_change: Callable[[], None],
    ) -> None:
        self._state = state
        self._clock = clock
        self._heartbeat_interval_ms = heartbeat_interval_ms
        self._allowed_privileged = Intent(0)
        for name in privileged_intents:
            self._allowed_privileged |= PRIVILEGED_INTENTS[name]
        self._url = url
        self._on_change = on_change
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: set[_Connection] = set()
        self.events: list[GatewayEvent] = []
        self.identify_count = 0
        self.resume_count = 0
        self.heartbeat_count = 0
        self.compression_modes: list[str | None] = []

    # -- websocket route ---------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0, compress=False, autoping=True, timeout=2.0)
        await ws.prepare(request)
        compress = request.query.get("compress")
        if request.query.get("encoding", "json") != "json" or compress not in (None, "zlib-stream", "zstd-stream"):
            await ws.close(code=CLOSE_DECODE_ERROR, message=b"Unsupported encoding or compression")
            return ws
        self.compression_modes.append(compress)
        connection = _Connection(ws, _Encoder(compress), request.transport)
        self.connections.add(connection)
        session: GatewaySession | None = None
        try:
            await connection.send({"op": Op.HELLO, "d": {"heartbeat_interval": self._heartbeat_interval_ms}})
            async for message in ws:
                if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                try:
                    packet = json.loads(message.data)
                except ValueError:
                    await ws.close(code=CLOSE_DECODE_ERROR, message=b"Error while decoding payload.")
                    break
                session = await self._on_packet(connection, session, packet)
        finally:
            self.connections.discard(connection)
            if session is not None and session.connection is connection:
                session.connection = None
                if ws.close_code in (1000, 1001) and not connection.closed_by_server:
                    session.resumable = False  # the bot closing cleanly ends its session, as on Discord
            self._on_change()
        return ws

    async def _on_packet(
        self, connection: _Connection, session: GatewaySession | None, packet: dict[str, Any]
    ) -> GatewaySession | None:
        op, data = packet.get("op"), packet.get("d")
        if op == Op.HEARTBEAT:
            self.heartbeat_count += 1
            await connection.send({"op": Op.HEARTBEAT_ACK})
            return session
        if op == Op.IDENTIFY:
            if session is not None:
                await connection.ws.close(code=CLOSE_ALREADY_AUTHENTICATED, message=b"Already authenticated.")
                return session
            return await self._identify(connection, data or {})
        if op == Op.RESUME:
            return await self._resume(connection, data or {})
        if session is None and op in (Op.PRESENCE_UPDATE, Op.REQUEST_GUILD_MEMBERS):
            await connection.ws.close(code=CLOSE_NOT_AUTHENTICATED, message=b"Not authenticated.")
            return None
        if op == Op.REQUEST_GUILD_MEMBERS and session is not None:
            await self._send_member_chunk(session, data or {})
            return session
        if op in (Op.PRESENCE_UPDATE, Op.VOICE_STATE_UPDATE):
            return session
        await connection.ws.close(code=CLOSE_UNKNOWN_OPCODE, message=b"Unknown opcode.")
        return session

    async def _identify(self, connection: _Connection, data: dict[str, Any]) -> GatewaySession | None:
        if data.get("token") != self._state.token:
            await connection.ws.close(code=CLOSE_AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return None
        intents = int(data.get("intents", 0))
        privileged = Intent(intents) & Intent(sum(PRIVILEGED_INTENTS.values()))
        if privileged & ~self._allowed_privileged:
            await connection.ws.close(code=CLOSE_DISALLOWED_INTENTS, message=b"Disallowed intent(s).")
            return None
        try:
            shard = _shard(data)
        except ValueError:
            await connection.ws.close(code=CLOSE_INVALID_SHARD, message=b"Invalid shard.")
            return None
        self.identify_count += 1
        session = GatewaySession(secrets.token_hex(16), intents, connection=connection, shard=shard)
        self.sessions[session.id] = session
        state = self._state
        my_guilds = [g for g in state.guilds.values() if state.bot.id in g.members and session.serves(g.id)]
        ready: dict[str, Any] = {
            "v": 10,
            "user": payloads.user(state.bot),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in my_guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self._url(),
            "application": {"id": str(state.application_id), "flags": payloads.application(state)["flags"]},
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "_trace": ["simulated-gateway"],
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        await self._send_dispatch(session, "READY", ready)
        for guild in my_guilds:
            await self._send_dispatch(session, "GUILD_CREATE", payloads.guild_create(state, guild))
        self._on_change()
        return session

    async def _resume(self, connection: _Connection, data: dict[str, Any]) -> GatewaySession | None:
        session = self.sessions.get(str(data.get("session_id")))
        if data.get("token") != self._state.token or session is None or not session.resumable:
            await connection.send({"op": Op.INVALID_SESSION, "d": False})
            return None
        if session.connection is not None and session.connection is not connection:
            await session.connection.close(4000, b"Session resumed elsewhere")
        session.connection = connection
        self.resume_count += 1
        since = int(data.get("seq") or 0)
        for packet in list(session.log):
            if packet["s"] > since:
                await connection.send(packet)
        await self._send_dispatch(session, "RESUMED", {"_trace": ["simulated-gateway"]})
        self._on_change()
        return session

    async def _send_member_chunk(self, session: GatewaySession, data: dict[str, Any]) -> None:
        guild = self._state.guilds.get(int(data.get("guild_id", 0)))
        if guild is None:
            return
        chunk = {
            "guild_id": str(guild.id),
            "members": [payloads.member(self._state, m) for m in guild.members.values()],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if "nonce" in data:
            chunk["nonce"] = data["nonce"]
        await self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)

    # -- dispatching -------------------------------------------------------------------------------

    async def _send_dispatch(self, session: GatewaySession, name: str, data: dict[str, Any]) -> None:
        session.seq += 1
        packet = {"op": Op.DISPATCH, "t": name, "s": session.seq, "d": data}
        session.log.append(packet)
        self.events.append(GatewayEvent(session.id, session.seq, name, self._clock.monotonic()))
        if session.connection is not None:
            await session.connection.send(packet)

    async def dispatch(
        self, name: str, data: dict[str, Any], *, dm: bool = False, without_content: dict[str, Any] | None = None
    ) -> int:
        """Send an event to every live session that asked for it and whose shard has its server; returns how
        many sessions got it.

        ``without_content`` is the payload for sessions lacking the message-content intent.
        """
        delivered = 0
        guild = _guild_of(name, data)
        for session in list(self.sessions.values()):
            if not session.resumable or not session.wants(name, dm=dm) or not session.serves(guild):
                continue
            body = data
            if without_content is not None and not session.intents & Intent.MESSAGE_CONTENT:
                body = without_content
            await self._send_dispatch(session, name, body)
            delivered += 1
        self._on_change()
        return delivered

    async def dispatch_message(self, name: str, message: SimMessage) -> int:
        """MESSAGE_CREATE / MESSAGE_UPDATE, blanking content for sessions without the intent.

        As on Discord, DMs, the bot's own messages and messages mentioning the bot keep their content.
        """
        state = self._state
        dm = message.guild_id is None
        exempt = dm or message.author_id == state.bot.id or state.bot.id in message.mention_ids
        hidden = None if exempt else payloads.message(state, message, hide_content=True)
        return await self.dispatch(name, payloads.message(state, message), dm=dm, without_content=hidden)

    async def dispatch_channel(self, name: str, channel: SimChannel, **extra: Any) -> int:
        """CHANNEL_* / THREAD_* with the channel's current payload (plus e.g. ``newly_created``)."""
        body = {**payloads.channel(self._state, channel), **extra}
        return await self.dispatch(name, body, dm=channel.guild_id is None)

    # -- faults tests can trigger ------------------------------------------------------------------

    def live_sessions(self) -> list[GatewaySession]:
        return [s for s in self.sessions.values() if s.resumable and s.connection is not None]

    async def send_reconnect(self) -> None:
        """Op 7: the bot should close and RESUME."""
        for session in self.live_sessions():
            assert session.connection is not None
            await session.connection.send({"op": Op.RECONNECT, "d": None})

    async def invalidate_sessions(self, *, resumable: bool, shard_id: int | None = None) -> None:
        """Op 9 (to the session of shard ``shard_id`` only, when given); with ``resumable=False`` the sessions
        are gone and the bot must IDENTIFY again."""
        for session in self.live_sessions():
            assert session.connection is not None
            if shard_id is not None and (session.shard is None or session.shard[0] != shard_id):
                continue
            if not resumable:
                session.resumable = False
            await session.connection.send({"op": Op.INVALID_SESSION, "d": resumable})

    async def drop_connections(self, code: int | None = 4000) -> None:
        """Close every socket (with ``code``, or abruptly when None); sessions stay resumable."""
        for connection in list(self.connections):
            if code is None:
                connection.closed_by_server = True
                if connection.transport is not None:
                    connection.transport.close()
            else:
                await connection.close(code, b"Simulated disconnect")

    async def close_all(self) -> None:
        for connection in list(self.connections):
            await connection.close(1001, b"Simulator stopping")
