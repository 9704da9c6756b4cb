"""Who people are, from Slack's `users.info`: display names, so the model (and the stored chat) know who
says what in a shared thread, and verified emails, for `BRIDGE_LINK_BY_EMAIL`.

Slack events carry only a user id; `users.info` (scope `users:read`, which the manifest asks for) gives
the name people see, and `profile.email` only with the scope `users:read.email` as well. One call gives
both, cached for ten minutes; when Slack does not answer, the id stands in for the name and there is no email.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

NAME_CACHE_SECONDS = 600.0


class DisplayNames:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._users: dict[str, tuple[dict[str, Any], float]] = {}

    async def _user(self, user_id: str) -> dict[str, Any]:
        """The `user` object of `users.info` (cached), or {} when Slack will not say."""
        cached = self._users.get(user_id)
        if cached and time.monotonic() - cached[1] < NAME_CACHE_SECONDS:
            return cached[0]
        try:
            user = dict((await self._client.users_info(user=user_id))["user"])
        except SlackApiError as error:
            log.info("users.info for %s failed (%s); naming them by id", user_id, error.response.get("error"))
            return {}
        self._users[user_id] = (user, time.monotonic())
        return user

    async def of(self, user_id: str) -> str:
        """The display name (else the real name, else the handle), or the id itself if Slack will not say."""
        user = await self._user(user_id)
        profile = user.get("profile") or {}
        return str(profile.get("display_name") or profile.get("real_name") or user.get("name") or user_id)

    async def email(self, user_id: str) -> str:
        """The person's email as Slack verified it, or "": none without `users:read.email`, none for bots,
        deactivated accounts, people of another organisation (Slack Connect) or an unconfirmed address."""
        user = await self._user(user_id)
        unverified = user.get("is_email_confirmed") is False or user.get("is_stranger")
        if unverified or user.get("is_bot") or user.get("deleted"):
            return ""
        return str((user.get("profile") or {}).get("email") or "")
