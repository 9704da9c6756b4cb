"""What every REST handler shares: the world, the gateway, request-body parsing and Discord's lookups."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from simulators.discord.config import SimulatorConfig
from simulators.discord.errors import DiscordError, not_found
from simulators.discord.gateway import Gateway
from simulators.discord.models import SimChannel, SimFile, SimGuild, SimMessage
from simulators.discord.ratelimit import RateLimiter
from simulators.discord.state import SimState
from simulators.faults import FaultPlan

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RouteTable = list[tuple[str, str, Handler]]

BODY_KEY = web.RequestKey("discord_sim_body", object)


@dataclass
class RequestBody:
    """A request's JSON (``payload_json`` for multipart) and its uploaded files."""

    json: Any = None
    files: list[SimFile] = field(default_factory=list)

    def record(self) -> Any:
        """What the call log keeps: the JSON, plus file names and sizes for multipart bodies."""
        if not self.files:
            return self.json
        return {"payload_json": self.json, "files": [{"filename": f.filename, "size": len(f.data)} for f in self.files]}

    def dict(self) -> dict[str, Any]:
        return self.json if isinstance(self.json, dict) else {}


async def read_body(request: web.Request) -> RequestBody:
    """Parse JSON or discord.py's multipart (``payload_json`` + ``files[n]``) once per request."""
    if not request.body_exists:
        return RequestBody()
    if request.content_type == "multipart/form-data":
        body = RequestBody()
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):  # nested multipart: Discord does not use it
                continue
            if part.name == "payload_json":
                body.json = json.loads(await part.text())
            elif part.filename is not None:
                declared = part.headers.get("Content-Type")
                if declared in (None, "application/octet-stream"):
                    declared = mimetypes.guess_type(part.filename)[0] or "application/octet-stream"
                body.files.append(SimFile(part.filename, bytes(await part.read()), declared))
        return body
    raw = await request.read()
    if not raw:
        return RequestBody()
    try:
        return RequestBody(json.loads(raw))
    except ValueError:
        raise DiscordError(400, 50109, "The request body contains invalid JSON.") from None


def body_of(request: web.Request) -> RequestBody:
    """The body the middleware already parsed."""
    value = request.get(BODY_KEY)
    return value if isinstance(value, RequestBody) else RequestBody()


def json_response(data: Any, status: int = 200) -> web.Response:
    """JSON with the exact content type discord.py requires (it ignores bodies typed with a charset)."""
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")


def no_content() -> web.Response:
    return web.Response(status=204)


@dataclass
class RestContext:
    """The simulator parts every handler acts on."""

    state: SimState
    gateway: Gateway
    config: SimulatorConfig
    limiter: RateLimiter
    faults: FaultPlan

    def snowflake(self, request: web.Request, name: str) -> int:
        value = request.match_info[name]
        if not value.isdigit():
            raise DiscordError(400, 50035, "Invalid Form Body", {name: {"_errors": [{"code": "NUMBER_TYPE_COERCE"}]}})
        return int(value)

    def channel(self, request: web.Request) -> SimChannel:
        channel = self.state.channels.get(self.snowflake(request, "channel_id"))
        if channel is None:
            raise not_found(10003, "Channel")
        return channel

    def message(self, request: web.Request, channel: SimChannel) -> SimMessage:
        message = self.state.messages.get(self.snowflake(request, "message_id"))
        if message is None or message.channel_id != channel.id or message.deleted:
            raise not_found(10008, "Message")
        return message

    def guild(self, request: web.Request) -> SimGuild:
        guild = self.state.guilds.get(self.snowflake(request, "guild_id"))
        if guild is None or self.state.bot.id not in guild.members:
            raise not_found(10004, "Guild")
        return guild
