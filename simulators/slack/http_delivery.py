"""Slack's HTTP delivery: signed POSTs to the app's Request URL, as event JSON or form-encoded commands.

Several URLs stand for a load balancer in front of several app replicas: each request goes to the next one in
turn, so a retry reaches another replica than the attempt it retries.

Also sends deliberately broken requests (bad signature, stale timestamp) so a test can check the app
refuses them, replays a captured request byte for byte (as an attacker who saw it could, within the
timestamp's five minutes), and the `url_verification` handshake Slack performs when the Request URL is set.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from .config import SimConfig
from .delivery import Attempt, Delivery, SignedRequest
from .events import sign


@dataclass(slots=True)
class HttpAnswer:
    """What the app answered to one POST."""

    status: int
    body: str
    content_type: str

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


def encode(kind: str, payload: dict[str, Any]) -> tuple[bytes, str]:
    """The body and content type Slack uses for each kind of payload."""
    if kind == "events_api":
        return json.dumps(payload).encode(), "application/json"
    if kind == "interactive":
        return urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"
    return urlencode(payload).encode(), "application/x-www-form-urlencoded"


class HttpDeliverer:
    """Posts signed requests to `urls` in turn with a client session owned by the simulator."""

    def __init__(
        self, config: SimConfig, urls: Sequence[str], signing_secret: str, session: aiohttp.ClientSession
    ) -> None:
        self.config = config
        self.urls = tuple(urls)
        self.signing_secret = signing_secret
        self.session = session
        self._turns = itertools.cycle(self.urls)

    def signed(
        self,
        body: bytes,
        content_type: str,
        signature: str | None = None,
        timestamp: int | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> SignedRequest:
        """The request Slack would send now, signed with the signing secret (or at `timestamp`, or with the
        `signature` given, to test refusals)."""
        ts = str(timestamp if timestamp is not None else int(time.time()))
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature or sign(self.signing_secret, ts, body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **(extra_headers or {}),
        }
        return SignedRequest(body, headers)

    def next_url(self) -> str:
        """Where the next request goes (the only URL, or the next replica's)."""
        return next(self._turns)

    async def send(self, request: SignedRequest, url: str | None = None) -> HttpAnswer:
        """POST `request` as it is (also to replay a captured one) to `url`, by default the next in turn."""
        timeout = aiohttp.ClientTimeout(total=self.config.ack_timeout)
        target = url or self.next_url()
        async with self.session.post(target, data=request.body, headers=request.headers, timeout=timeout) as resp:
            return HttpAnswer(resp.status, await resp.text(), resp.content_type)

    async def attempt(self, delivery: Delivery, attempt: Attempt) -> None:
        """One signed POST; a 200 within `ack_timeout` is the acknowledgement."""
        body, content_type = encode(delivery.kind, delivery.payload)
        retry_headers = {}
        if attempt.retry_num > 0:
            retry_headers = {"X-Slack-Retry-Num": str(attempt.retry_num), "X-Slack-Retry-Reason": attempt.retry_reason}
        attempt.sent = self.signed(body, content_type, extra_headers=retry_headers)
        attempt.via = self.next_url()
        try:
            answer = await self.send(attempt.sent, attempt.via)
        except TimeoutError:
            attempt.outcome = "http_timeout"
            return
        except aiohttp.ClientError:
            attempt.outcome = "connection_failed"
            return
        attempt.http_status = answer.status
        if answer.status != 200:
            attempt.outcome = "http_error"
            return
        attempt.outcome = "acked"
        if answer.body:
            delivery.ack_payload = answer.json() if answer.content_type == "application/json" else answer.body
