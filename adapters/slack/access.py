"""Who may use the bridge where, and who may change its settings.

Deny lists win over allow lists; an empty allow list allows everyone. DMs are governed by `allow_dms`
alone (the channel lists name channels). Admins are `SLACK_ADMIN_USERS`, or, when that list is empty,
the workspace's own admins and owners as Slack reports them (`users.info`, cached), which is who a Slack
user would expect to be in charge of a workspace's app.
"""

from __future__ import annotations

import logging
import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.settings import SlackSettings
from bridge import texts

log = logging.getLogger(__name__)

ADMIN_CACHE_SECONDS = 600.0
NOT_ADMIN = texts.not_admin("the users in SLACK_ADMIN_USERS, or the workspace's admins when that list is empty")


def _allowed(value: str, allowed: list[str], denied: list[str]) -> bool:
    return value not in denied and (not allowed or value in allowed)


class Access:
    """Allow/deny decisions from `SlackSettings`; `refusal` says why someone is refused, None if not."""

    def __init__(self, settings: SlackSettings, client: AsyncWebClient) -> None:
        self._settings = settings
        self._client = client
        self._admins: dict[str, tuple[bool, float]] = {}

    def refusal(self, team_id: str, channel_id: str, user_id: str, *, is_dm: bool) -> str | None:
        """The sentence to show a refused user, or None when they may use the bridge here."""
        s = self._settings
        if not _allowed(team_id, s.allowed_teams, s.denied_teams):
            return texts.workspace_refused("workspace")
        if is_dm and not s.allow_dms:
            return texts.dms_refused("a channel")
        if not is_dm and not _allowed(channel_id, s.allowed_channels, s.denied_channels):
            return texts.CHANNEL_REFUSED
        if not _allowed(user_id, s.allowed_users, s.denied_users):
            return texts.USER_REFUSED
        return None

    async def is_admin(self, user_id: str) -> bool:
        """Whether `user_id` may change models, system prompts and knowledge bases."""
        if self._settings.admin_users:
            return user_id in self._settings.admin_users
        cached = self._admins.get(user_id)
        if cached and time.monotonic() - cached[1] < ADMIN_CACHE_SECONDS:
            return cached[0]
        try:
            user = (await self._client.users_info(user=user_id))["user"]
        except SlackApiError as error:
            log.warning("users.info for %s failed (%s); treating as not an admin", user_id, error.response.get("error"))
            return False
        admin = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        self._admins[user_id] = (admin, time.monotonic())
        return admin
