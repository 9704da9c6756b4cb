"""People mapped to OpenWebUI by their verified platform email (`BRIDGE_LINK_BY_EMAIL`), without a key.

OpenWebUI 0.12.4 has no call that gives an admin an API key of another user, but it trusts a reverse
proxy's email header (`WEBUI_AUTH_TRUSTED_EMAIL_HEADER`): `POST /api/v1/auths/signin` carrying that header
signs in as the user of that email and answers a session JWT (`token`, `expires_at`). The bridge acts as
that proxy. Two of the server's rules shape this module:

- The sign-in *creates* an account for an email it does not know. The bridge must not make accounts, so
  it first asks `GET /api/v1/users/search` (any verified user may; the service key does) and signs in only
  for an exact, active (not `pending`) user; otherwise the person is not mapped and the policy decides.
- The JWT is a password-equivalent: it lives in memory only (never in the database, never logged: the log
  mask knows JWT shapes), per email, until shortly before its `expires_at`, then a new one is asked for.
  A refused one is dropped at once (`forget`), so the next message signs in again or falls to the policy.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from bridge.openwebui import OpenWebUIClient, errors
from bridge.openwebui.acting import acting_as

log = logging.getLogger(__name__)

RENEW_BEFORE = 300.0
"""Seconds before a session's `expires_at` when the bridge signs in again rather than use it."""
NO_EXPIRY_AGE = 3600.0
"""A session without expiry (`JWT_EXPIRES_IN=-1`) is renewed hourly all the same: the user may be gone."""
NO_USER_SECONDS = 60.0
"""How long "OpenWebUI has no user of that email" is believed before asking again (one search per minute,
not per message, for people the policy serves through the service account)."""


@dataclass(frozen=True, slots=True)
class EmailSession:
    """A signed-in OpenWebUI user: who, and the session token calls made as them carry."""

    owui_user_id: str
    name: str
    email: str
    token: str = field(repr=False)
    renew_at: float


class EmailSignIn:
    """Signs people in by email through OpenWebUI's trusted header, and remembers the sessions."""

    def __init__(self, client: OpenWebUIClient, header: str, *, clock: Any = time.time) -> None:
        self.client = client
        self.header = header
        self._clock = clock
        self._sessions: dict[str, EmailSession | None] = {}
        self._until: dict[str, float] = {}  # when a remembered "no such user" is asked again

    async def session(self, email: str) -> EmailSession | None:
        """The session of the OpenWebUI user of `email`, or None when OpenWebUI has no active user of it.
        OpenWebUI errors (unreachable, a refused service key) are raised: no answer is no proof of absence."""
        email = email.strip().lower()
        now = self._clock()
        if email in self._sessions:
            known = self._sessions[email]
            if (known.renew_at if known else self._until.get(email, 0.0)) > now:
                return known
        with acting_as(None):
            user = await self._find(email)
            found = await self._sign_in(email) if user is not None else None
        self._sessions[email] = found
        self._until[email] = now + NO_USER_SECONDS
        if found is not None:
            log.info("signed in to OpenWebUI by email as user %s", found.owui_user_id)
        return found

    def forget(self, email: str) -> None:
        """OpenWebUI refused the session (user removed, sessions revoked): the next call signs in again."""
        self._sessions.pop(email.strip().lower(), None)

    async def _find(self, email: str) -> dict[str, Any] | None:
        """The active user whose email is exactly `email` (the search matches parts of names and emails)."""
        found = await self.client.call("GET", "/api/v1/users/search", params={"query": email})
        users = found.get("users", []) if isinstance(found, dict) else []
        return next(
            (
                user
                for user in users
                if isinstance(user, dict)
                and str(user.get("email", "")).lower() == email
                and user.get("role") in ("user", "admin")
            ),
            None,
        )

    async def _sign_in(self, email: str) -> EmailSession | None:
        try:
            answer = await self.client.call(
                "POST", "/api/v1/auths/signin", json={"email": email, "password": ""}, headers={self.header: email}
            )
        except errors.BadRequest:
            answer = {}  # no trusted header there, or another one: a password sign-in without a password
        token = str(answer.get("token") or "") if isinstance(answer, dict) else ""
        if not token or str(answer.get("email", "")).lower() != email:
            # also MFA asking for a second step; a token for another email is refused as well
            log.warning(
                "OpenWebUI did not sign in by email: is OPENWEBUI_TRUSTED_EMAIL_HEADER the header its "
                "WEBUI_AUTH_TRUSTED_EMAIL_HEADER names?"
            )
            return None
        expires = answer.get("expires_at")
        now = self._clock()
        renew_at = float(expires) - RENEW_BEFORE if isinstance(expires, int | float) else now + NO_EXPIRY_AGE
        return EmailSession(str(answer.get("id", "")), str(answer.get("name", "")), email, token, max(renew_at, now))
