"""People's display names, so the model (and the stored chat) know who says what in a shared thread.

Slack events carry only a user id; `users.info` (scope `users:read`, which the manifest asks for) gives
the name people see. Names are cached for ten minutes; when Slack does not answer, the id stands in.
"""

from __future__ import annotations

import logging
import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

NAME_CACHE_SECONDS = 600.0


class DisplayNames:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._names: dict[str, tuple[str, float]] = {}

    async def of(self, user_id: str) -> str:
        """The display name (else the real name, else the handle), or the id itself if Slack will not say."""
        cached = self._names.get(user_id)
        if cached and time.monotonic() - cached[1] < NAME_CACHE_SECONDS:
            return cached[0]
        try:
            user = (await self._client.users_info(user=user_id))["user"]
        except SlackApiError as error:
            log.info("users.info for %s failed (%s); naming them by id", user_id, error.response.get("error"))
            return user_id
        profile = user.get("profile") or {}
        name = str(profile.get("display_name") or profile.get("real_name") or user.get("name") or user_id)
        self._names[user_id] = (name, time.monotonic())
        return name
