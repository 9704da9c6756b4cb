"""Slash commands' `response_url`: hosted by the fake so `respond()` lands somewhere a test can read.

Slack accepts five posts to one response_url within thirty minutes; `in_channel` answers become channel
messages from the app, `ephemeral` ones (the default) are shown to the invoking user only.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .config import SimConfig
from .delivery import Delivery


@dataclass(slots=True)
class ResponsePost:
    """One POST the app made to a response_url, and whether it was accepted."""

    at: float
    body: dict[str, Any]
    accepted: bool

    @property
    def response_type(self) -> str:
        """The answer's visibility: "ephemeral" (Slack's default) or "in_channel"."""
        return str(self.body.get("response_type") or "ephemeral")

    @property
    def text(self) -> str:
        """The `text` field ("" when only blocks were sent)."""
        return str(self.body.get("text") or "")


@dataclass(eq=False)
class ResponseUrl:
    """A response_url handed to the app with one command invocation."""

    id: str
    channel: str
    user: str
    created: float = field(default_factory=time.monotonic)
    posts: list[ResponsePost] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def uses(self) -> int:
        """Accepted posts so far."""
        return sum(1 for p in self.posts if p.accepted)


@dataclass(eq=False)
class SlashInvocation:
    """A slash command a simulated user typed: its delivery, its response_url, and what came back."""

    command: str
    text: str
    user: str
    channel: str
    response_url: str
    delivery: Delivery
    _url: ResponseUrl

    @property
    def ack_payload(self) -> Any:
        """What the app put in its acknowledgement (an immediate answer), None if nothing or not yet."""
        return self.delivery.ack_payload

    @property
    def responses(self) -> list[ResponsePost]:
        """Accepted posts to the response_url, oldest first."""
        return [p for p in self._url.posts if p.accepted]

    async def acked(self, timeout: float = 5.0) -> bool:
        """Wait for the acknowledgement; True if it came in time."""
        try:
            await asyncio.wait_for(self.delivery.acked.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def wait_responses(self, count: int = 1, timeout: float = 5.0) -> list[ResponsePost]:
        """Wait until `count` posts reached the response_url (returns what arrived, maybe fewer)."""
        deadline = time.monotonic() + timeout
        while len(self.responses) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._url.changed.clear()
            try:
                await asyncio.wait_for(self._url.changed.wait(), remaining)
            except TimeoutError:
                break
        return self.responses


class ResponseUrls:
    """The registry of response_urls and the endpoint that receives their posts."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.urls: dict[str, ResponseUrl] = {}

    def issue(self, base: str, channel: str, user: str) -> tuple[str, ResponseUrl]:
        """A new response_url under `base` for one invocation."""
        url = ResponseUrl(id=uuid.uuid4().hex, channel=channel, user=user)
        self.urls[url.id] = url
        return f"{base}{url.id}", url

    async def handle(
        self, request: web.Request, on_accepted: Callable[[ResponseUrl, ResponsePost], None]
    ) -> web.Response:
        """Accept up to `response_url_uses` posts within `response_url_ttl`; `on_accepted(url, post)` shows them."""
        url = self.urls.get(request.match_info["id"])
        if url is None:
            return web.json_response({"ok": False, "error": "invalid_url"}, status=404)
        try:
            body = json.loads(await request.text() or "{}")
        except json.JSONDecodeError:
            return web.Response(status=400, text="invalid_payload")
        expired = time.monotonic() - url.created > self.config.response_url_ttl
        used_up = url.uses >= self.config.response_url_uses
        post = ResponsePost(at=time.monotonic(), body=body, accepted=not (expired or used_up))
        url.posts.append(post)
        url.changed.set()
        if expired:
            return web.json_response({"ok": False, "error": "expired_url"}, status=404)
        if used_up:
            return web.json_response({"ok": False, "error": "used_url"}, status=404)
        on_accepted(url, post)
        return web.Response(text="ok")
