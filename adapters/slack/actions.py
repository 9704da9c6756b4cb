"""Buttons on the app's messages (Block Kit `actions` blocks), and the one place their clicks arrive.

Every button's `action_id` is the bridge's id scheme (`bridge.control_ids`, `owb:<action>:<argument>`), so
one slack-bolt listener (`app.action`) takes every click, on messages posted before a restart too: the id
carries all a click needs. `ActionDispatcher` acknowledges at once (Slack's three seconds), then runs the
handler registered for the action in the background; other features add actions there (`register`). A
`UserFacingError` a handler raises is told the clicker privately (`chat.postEphemeral`), and an action no
handler knows says the button has expired.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from adapters.slack.place import ReplyPlace
from bridge import texts
from bridge.control_ids import control_id, parse_control_id
from bridge.errors import UserFacingError

log = logging.getLogger(__name__)

ACTION_IDS = re.compile(r"^owb:[a-z_]+:")
"""What `app.action` listens for: every button of the bridge's."""


@dataclass(frozen=True, slots=True)
class Click:
    """One click on a button, in the terms the adapter uses: who, where, on which message."""

    team_id: str
    channel: str
    user_id: str
    user_name: str
    message_ts: str
    thread_ts: str | None
    click_id: str  # unique to this click (its `action_ts`): a click Slack delivers again is taken once

    @property
    def dm(self) -> bool:
        return self.channel.startswith("D")

    @property
    def place(self) -> ReplyPlace:
        """Where a private note about the click goes: the button's thread (the top level outside one)."""
        return ReplyPlace(self.team_id, self.channel, self.thread_ts, self.user_id)

    @classmethod
    def from_payload(cls, body: dict[str, Any], action: dict[str, Any]) -> Click:
        container = body.get("container") or {}
        user = body.get("user") or {}
        return cls(
            team_id=str((body.get("team") or {}).get("id") or user.get("team_id") or ""),
            channel=str((body.get("channel") or {}).get("id") or container.get("channel_id") or ""),
            user_id=str(user.get("id") or ""),
            user_name=str(user.get("name") or user.get("username") or user.get("id") or ""),
            message_ts=str(container.get("message_ts") or ""),
            thread_ts=container.get("thread_ts") or (body.get("message") or {}).get("thread_ts"),
            click_id=str(action.get("action_ts") or body.get("trigger_id") or ""),
        )


Handler = Callable[[Click, str], Awaitable[None]]
"""Handles one click: who clicked where, and the argument of the button's id."""
Tell = Callable[[ReplyPlace, str], Awaitable[None]]
Spawn = Callable[[Coroutine[Any, Any, None], str], object]


class ActionDispatcher:
    """Which handler answers which action's clicks; `on_action` is the slack-bolt listener."""

    def __init__(self, tell: Tell, spawn: Spawn) -> None:
        self._handlers: dict[str, Handler] = {}
        self._tell = tell
        self._spawn = spawn

    def register(self, action: str, handler: Handler) -> None:
        if action in self._handlers:
            raise ValueError(f"two handlers for the button action {action!r}")
        self._handlers[action] = handler

    async def on_action(self, ack: Callable[[], Awaitable[Any]], body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        parsed = parse_control_id(str(action.get("action_id") or ""))
        if parsed is not None:
            self._spawn(self._run(Click.from_payload(body, action), *parsed), f"click-{parsed[0]}")

    async def _run(self, click: Click, action: str, argument: str) -> None:
        handler = self._handlers.get(action)
        if handler is None:
            await self._tell(click.place, texts.CONTROL_EXPIRED)
            return
        try:
            await handler(click, argument)
        except UserFacingError as exc:
            await self._tell(click.place, str(exc))
        except Exception:
            log.exception("Slack: the %s button failed", action)
            await self._tell(click.place, f"⚠️ {texts.FAILED}")


def button(label: str, action: str, argument: str, *, style: str | None = None) -> dict[str, Any]:
    """A Block Kit button doing `action` on `argument`."""
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "action_id": control_id(action, argument),
    }
    if style:
        element["style"] = style
    return element


def actions_block(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "block_id": "owb", "elements": list(buttons)}
