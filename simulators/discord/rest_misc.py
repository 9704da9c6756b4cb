"""Identity, application and guild read routes discord.py calls at login and on demand."""

from __future__ import annotations

from aiohttp import web

from simulators.discord import payloads
from simulators.discord.errors import not_found
from simulators.discord.rest_common import RestContext, RouteTable, json_response


class MiscRoutes:
    """``/users``, ``/oauth2/applications/@me``, ``/gateway`` and ``/guilds`` reads."""

    def __init__(self, ctx: RestContext, gateway_url: str) -> None:
        self.ctx = ctx
        self.gateway_url = gateway_url

    def routes(self) -> RouteTable:
        return [
            ("GET", "/users/@me", self.me),
            ("GET", "/users/{user_id}", self.get_user),
            ("GET", "/oauth2/applications/@me", self.application),
            ("GET", "/applications/@me", self.application),
            ("GET", "/gateway", self.gateway),
            ("GET", "/gateway/bot", self.gateway_bot),
            ("GET", "/guilds/{guild_id}", self.get_guild),
            ("GET", "/guilds/{guild_id}/channels", self.guild_channels),
            ("GET", "/guilds/{guild_id}/roles", self.guild_roles),
            ("GET", "/guilds/{guild_id}/members", self.guild_members),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self.guild_member),
        ]

    async def me(self, request: web.Request) -> web.Response:
        return json_response({**payloads.user(self.ctx.state.bot), "verified": True, "mfa_enabled": False})

    async def get_user(self, request: web.Request) -> web.Response:
        found = self.ctx.state.users.get(self.ctx.snowflake(request, "user_id"))
        if found is None:
            raise not_found(10013, "User")
        return json_response(payloads.user(found))

    async def application(self, request: web.Request) -> web.Response:
        return json_response(payloads.application(self.ctx.state))

    async def gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.gateway_url})

    async def gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1}
        return json_response({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    async def get_guild(self, request: web.Request) -> web.Response:
        guild = self.ctx.guild(request)
        return json_response({**payloads.guild(self.ctx.state, guild), "approximate_member_count": len(guild.members)})

    async def guild_channels(self, request: web.Request) -> web.Response:
        guild = self.ctx.guild(request)
        channels = [c for c in self.ctx.state.channels.values() if c.guild_id == guild.id and not c.is_thread]
        return json_response([payloads.channel(self.ctx.state, c) for c in channels])

    async def guild_roles(self, request: web.Request) -> web.Response:
        guild = self.ctx.guild(request)
        return json_response([payloads.role(r) for r in guild.roles.values()])

    async def guild_members(self, request: web.Request) -> web.Response:
        guild = self.ctx.guild(request)
        limit = max(1, min(1000, int(request.query.get("limit", "1"))))
        after = int(request.query.get("after", "0"))
        members = sorted((m for m in guild.members.values() if m.user_id > after), key=lambda m: m.user_id)
        return json_response([payloads.member(self.ctx.state, m) for m in members[:limit]])

    async def guild_member(self, request: web.Request) -> web.Response:
        guild = self.ctx.guild(request)
        found = guild.members.get(self.ctx.snowflake(request, "user_id"))
        if found is None:
            raise not_found(10007, "Member")
        return json_response(payloads.member(self.ctx.state, found))
