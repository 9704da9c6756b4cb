"""The service account's signed-in session: a JWT from OpenWebUI's password sign-in, kept fresh.

Only the socket (`/ws/socket.io`) needs it: OpenWebUI's socket accepts a sign-in JWT, never an `sk-` key, and
it disconnects a socket whose token has expired (`socket/main.py` checks every socket's token every 30 s). So
the token is renewed before it expires: when a fifth of its lifetime is left (at most ten minutes before
`exp`), by signing in again. The server's `JWT_EXPIRES_IN` (default four weeks) sets the lifetime; a token
without `exp` (`JWT_EXPIRES_IN=-1`) is never renewed ahead, only after a 401 (`renew_after_refusal`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bridge.openwebui import errors
from bridge.openwebui.client import OpenWebUIClient

log = logging.getLogger(__name__)

SIGNIN_PATH = "/api/v1/auths/signin"
RENEW_AHEAD_MAX = 600.0
"""Renew at most this many seconds before the token expires (and earlier for short lifetimes: a fifth)."""
RETRY_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)
"""Waits between failed renewals (OpenWebUI down): the last one repeats until a sign-in works."""
REFUSED_PAUSE = 180.0
"""After OpenWebUI refused the sign-in (a wrong password) or limited it (429), no new attempt for this long:
OpenWebUI 0.12.4 allows 15 sign-ins per email in 3 minutes (`signin_rate_limiter`, failed ones included), and
a bridge retrying faster would keep its own account locked out. The refusal is raised again meanwhile."""


@dataclass(frozen=True, slots=True)
class SignedIn:
    """One sign-in's result."""

    token: str
    user_id: str
    issued_at: float  # wall-clock seconds
    expires_at: float | None  # the JWT's `exp`; None: it does not expire


class ServiceSession:
    """The signed-in service account: `token()` gives a valid JWT, signing in on first use.

    `run()` (a background task) renews the token ahead of its expiry and calls every `on_renewed` listener
    with the new token (the socket hands it to OpenWebUI, which would otherwise disconnect it at the old
    token's expiry).
    """

    def __init__(
        self, client: OpenWebUIClient, email: str, password: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._client = client
        self._email = email
        self._password = password
        self._clock = clock
        self._current: SignedIn | None = None
        self._refusal: tuple[float, errors.OpenWebUIError] | None = None  # until when, and the error
        self._lock = asyncio.Lock()
        self.on_renewed: list[Callable[[str], Awaitable[None]]] = []

    @property
    def current(self) -> SignedIn | None:
        """The last sign-in, valid or not (None before the first)."""
        return self._current

    async def token(self) -> str:
        """A JWT that is not about to expire."""
        current = self._current
        if current is None or self._renew_at(current) <= self._clock():
            current = await self._sign_in(current)
        return current.token

    async def user_id(self) -> str:
        await self.token()
        assert self._current is not None
        return self._current.user_id

    async def renew_after_refusal(self, refused: str) -> str:
        """A new JWT after OpenWebUI refused `refused` (401): signs in again once, unless another caller
        already did since."""
        return (await self._sign_in(self._current, refused=refused)).token

    async def run(self) -> None:
        """Renew the token ahead of its expiry, for as long as the bridge runs; a failed renewal is tried
        again (OpenWebUI may be restarting), never given up."""
        failures = 0
        while True:
            current = self._current
            if current is not None and current.expires_at is None:
                return  # nothing expires: renewals happen only after a 401
            wait = 0.0 if current is None else self._renew_at(current) - self._clock()
            if failures:
                wait = RETRY_SECONDS[min(failures, len(RETRY_SECONDS)) - 1]
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                await self._sign_in(current)  # a sign-in since (after a 401) counts: no second one
            except errors.OpenWebUIError as exc:
                failures += 1
                log.warning("renewing the OpenWebUI sign-in failed (%s); trying again", type(exc).__name__)
            else:
                failures = 0

    def _renew_at(self, signed: SignedIn) -> float:
        if signed.expires_at is None:
            return float("inf")
        lifetime = max(signed.expires_at - signed.issued_at, 0.0)
        return signed.expires_at - min(lifetime / 5, RENEW_AHEAD_MAX)

    async def _sign_in(self, seen: SignedIn | None, *, refused: str = "") -> SignedIn:
        """Sign in, unless another caller did while this one waited for the lock (then that sign-in is
        shared: one sign-in for many turns that found the token stale at once)."""
        async with self._lock:
            current = self._current
            if current is not None and (current is not seen or (refused and current.token != refused)):
                return current
            if self._refusal is not None and self._clock() < self._refusal[0]:
                raise self._refusal[1]
            body = {"email": self._email, "password": self._password}
            try:
                answer = await self._client.call("POST", SIGNIN_PATH, json=body, not_found=errors.SignInRefused)
            except (errors.BadRequest, errors.Unauthorized, errors.Forbidden) as exc:
                kind = errors.SignInLimited if exc.status == 429 else errors.SignInRefused
                refusal = kind(str(exc), status=exc.status, detail=exc.detail)
                self._refusal = (self._clock() + REFUSED_PAUSE, refusal)
                raise refusal from None
            self._refusal = None
            signed = _signed_in(answer, self._clock())
            self._current = signed
        log.info("signed in to OpenWebUI as the service account (token valid %s)", _lifetime(signed))
        if current is not None:
            for listener in list(self.on_renewed):
                with contextlib.suppress(Exception):
                    await listener(signed.token)
        return signed


def _signed_in(answer: Any, now: float) -> SignedIn:
    """The sign-in answer's token and user; its `exp` read from the token itself (the answer's
    `expires_at` says the same on 0.12.4, but the token is what the server checks)."""
    if not isinstance(answer, dict) or not isinstance(answer.get("token"), str) or not answer.get("id"):
        raise errors.UpstreamError("the sign-in answered without a token")
    token = answer["token"]
    expires = _claims(token).get("exp", answer.get("expires_at"))
    return SignedIn(token, str(answer["id"]), now, float(expires) if isinstance(expires, int | float) else None)


def _claims(token: str) -> dict[str, Any]:
    """A JWT's payload, unverified (the bridge only reads when the token expires)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _lifetime(signed: SignedIn) -> str:
    if signed.expires_at is None:
        return "without expiry"
    return f"{signed.expires_at - signed.issued_at:.0f} s"
