"""The HTTP side of the simulator: route table, auth, rate limiting, error bodies and the call log.

One middleware wraps every API request so each is authenticated, counted against its bucket and the global
budget, answered with Discord's headers (``X-RateLimit-*`` and ``Via``), and recorded, in that order.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from aiohttp import web

from simulators.discord.errors import DiscordError
from simulators.discord.ratelimit import SubLimitExceeded, Verdict
from simulators.discord.records import CallLog, CallRecord
from simulators.discord.rest_common import BODY_KEY, Handler, RequestBody, RestContext, json_response, read_body
from simulators.discord.rest_interactions import InteractionRoutes
from simulators.discord.rest_messages import MessageRoutes
from simulators.discord.rest_misc import MiscRoutes
from simulators.faults import Fault

API_PREFIX = "/api/v10"
ATTACHMENT_ROUTE = "/attachments/{channel_id}/{attachment_id}/{filename}"
_MAJOR_PARAMETERS = ("channel_id", "guild_id", "webhook_id", "webhook_token")
_TOKEN_ROUTES = ("/interactions/", "/webhooks/")


class RestServer:
    """Builds the aiohttp application serving the REST API, attachment downloads and the gateway."""

    def __init__(self, ctx: RestContext, log: CallLog, on_change: Callable[[], None]) -> None:
        self.ctx = ctx
        self.limiter = ctx.limiter
        self.log = log
        self._on_change = on_change

    def build(self, gateway_url: str, client_max_size: int) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=client_max_size)
        tables = (
            MessageRoutes(self.ctx).routes()
            + InteractionRoutes(self.ctx).routes()
            + MiscRoutes(self.ctx, gateway_url).routes()
        )
        for method, path, handler in tables:
            app.router.add_route(method, API_PREFIX + path, handler)
        app.router.add_get(ATTACHMENT_ROUTE, self.download)
        app.router.add_get("/", self.ctx.gateway.handle)
        return app

    async def download(self, request: web.Request) -> web.Response:
        """Attachment bytes by plain GET, as Discord's CDN serves them (no auth)."""
        attachment_id = request.match_info["attachment_id"]
        attachment = self.ctx.state.attachments.get(int(attachment_id)) if attachment_id.isdigit() else None
        if attachment is None or attachment.filename != request.match_info["filename"]:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=attachment.data, content_type=attachment.content_type)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/":
            return await handler(request)
        clock = self.ctx.state.clock
        at_monotonic, at_wall = clock.monotonic(), clock.wall()
        match = request.match_info
        route = self._route_key(request)
        body = RequestBody()
        verdict: Verdict | None = None
        if match.http_exception is not None:
            status = match.http_exception.status
            response: web.StreamResponse = json_response(
                {"message": f"{status}: {match.http_exception.reason}", "code": 0}, status
            )
        elif not request.path.startswith(API_PREFIX):
            response = await handler(request)
        else:
            try:
                body = await read_body(request)
                request[BODY_KEY] = body
                response, verdict = await self._answer(request, handler, route, body)
            except DiscordError as error:
                response = json_response(error.body(), error.status)
        response.headers["Via"] = "1.1 google"
        error_code = None
        if response.status >= 400 and isinstance(response, web.Response) and response.body:
            error_code = _error_code(response)
        self.log.add(
            CallRecord(
                seq=self.log.next_seq(),
                at_monotonic=at_monotonic,
                at_wall=at_wall,
                method=request.method,
                route=route,
                path=request.path,
                params=dict(match) if match.http_exception is None else {},
                body=body.record(),
                status=response.status,
                error_code=error_code,
                bucket=None if verdict is None else verdict.headers.get("X-RateLimit-Bucket"),
            )
        )
        self._on_change()
        return response

    async def _answer(
        self,
        request: web.Request,
        handler: Handler,
        route: str,
        body: RequestBody,
    ) -> tuple[web.StreamResponse, Verdict]:
        path = route.split(" ", 1)[1]
        token_route = path.startswith(_TOKEN_ROUTES)
        if not token_route and request.headers.get("Authorization") != f"Bot {self.ctx.state.token}":
            raise DiscordError(401, 0, "401: Unauthorized")
        params = request.match_info
        major = "+".join(params[name] for name in _MAJOR_PARAMETERS if name in params)
        exempt = token_route and params.get("webhook_token", "") in self.ctx.state.interactions_by_token
        verdict = self.limiter.check(route, major, global_exempt=exempt)
        fault = self.ctx.faults.take(route)
        if fault is not None:
            return _fault_response(fault), verdict
        if not verdict.allowed:
            response = json_response(verdict.body(), 429)
        else:
            try:
                response = await handler(request)
            except DiscordError as error:
                response = json_response(error.body(), error.status)
            except SubLimitExceeded as exceeded:
                response = json_response(exceeded.verdict.body(), 429)
                response.headers.update(exceeded.verdict.headers)
        for name, value in verdict.headers.items():
            response.headers.setdefault(name, value)
        return response, verdict

    @staticmethod
    def _route_key(request: web.Request) -> str:
        """discord.py's route key (``METHOD /path/{template}``), or the raw path for unknown routes."""
        resource = request.match_info.route.resource
        if request.match_info.http_exception is not None or resource is None:
            return f"{request.method} {request.path}"
        template = resource.canonical
        if template.startswith(API_PREFIX):
            template = template[len(API_PREFIX) :]
        return f"{request.method} {template}"


def _error_code(response: web.Response) -> int | None:
    try:
        body = json.loads(bytes(response.body))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return body.get("code") if isinstance(body, dict) else None


def _fault_response(fault: Fault) -> web.Response:
    """A 429 or 5xx a test ordered, shaped as Discord's."""
    if fault.status == 429:
        body = {"message": "You are being rate limited.", "retry_after": fault.retry_after, "global": False}
        response = json_response(body, 429)
        response.headers.update(
            {
                "Retry-After": str(fault.retry_after),
                "X-RateLimit-Scope": "user",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": str(fault.retry_after),
            }
        )
        return response
    return json_response({"message": f"{fault.status}: Server Error", "code": 0}, fault.status)
