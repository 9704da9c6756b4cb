"""Slack's AI-app surfaces in the fake: the assistant view's events and `assistant.threads.*`, and message
shortcuts.

What Slack does (docs.slack.dev "Developing AI apps"; slack-bolt's tests, `test_events_assistant.py`):
* Opening the assistant view (the side panel, or a new chat in the app's DM) starts a thread in the user's DM
  with the app: Slack posts its root message (from the app, subtype `assistant_app_thread`) and sends
  `assistant_thread_started` with `assistant_thread: {user_id, channel_id, thread_ts, context}`, where
  `context` names the channel the user is looking at (`channel_id`, `team_id`, `enterprise_id`).
* Switching channels with the panel open sends `assistant_thread_context_changed`, the same shape.
* The user's questions are ordinary `message` events of the DM (`channel_type: im`) in that thread.
* `assistant.threads.setSuggestedPrompts` (at most 4 prompts of `{title, message}`), `setTitle` and
  `setStatus` act on such a thread; each is rate limited (Tier 3 here, as `setStatus`' budget in the app).
* A message shortcut (a message's ⋯ menu) sends an `interactive` payload of type `message_action` with the
  shortcut's `callback_id`, the message, the channel, the user and a `response_url`.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .delivery import Delivery
from .events import event_callback, new_event_id
from .slash import ResponseUrl
from .state import Message, Token, Workspace
from .web_api import ApiError, Method, Params, _json_arg, _str

if TYPE_CHECKING:
    from .server import SlackSimulator

MAX_PROMPTS = 4
ROOT_TEXT = "New Assistant Thread"


@dataclass
class AssistantThreads:
    """What the app set on assistant threads, by (channel, thread_ts), in order."""

    prompts: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    titles: dict[tuple[str, str], list[str]] = field(default_factory=dict)


class AssistantApi:
    """`assistant.threads.setSuggestedPrompts` and `setTitle` over a workspace (`setStatus` is `WebApi`'s)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.threads = AssistantThreads()

    def methods(self) -> dict[str, Method]:
        return {
            "assistant.threads.setSuggestedPrompts": self.set_suggested_prompts,
            "assistant.threads.setTitle": self.set_title,
        }

    def _thread(self, params: Params) -> tuple[str, str]:
        channel, thread_ts = _str(params.get("channel_id")), _str(params.get("thread_ts"))
        if not channel or not thread_ts:
            raise ApiError("invalid_arguments")
        if self.ws.channel(channel) is None:
            raise ApiError("channel_not_found")
        return channel, thread_ts

    async def set_suggested_prompts(self, params: Params, token: Token) -> dict[str, Any]:
        where = self._thread(params)
        prompts = _json_arg(params.get("prompts"))
        if not isinstance(prompts, list) or not 1 <= len(prompts) <= MAX_PROMPTS:
            raise ApiError("invalid_arguments")
        if not all(isinstance(p, dict) and p.get("title") and p.get("message") for p in prompts):
            raise ApiError("invalid_arguments")
        self.threads.prompts.setdefault(where, []).append({"title": params.get("title"), "prompts": prompts})
        return {}

    async def set_title(self, params: Params, token: Token) -> dict[str, Any]:
        where = self._thread(params)
        title = _str(params.get("title"))
        if not title:
            raise ApiError("invalid_arguments")
        self.threads.titles.setdefault(where, []).append(title)
        return {}


@dataclass
class AssistantThread:
    """An assistant thread a simulated user opened: the DM channel, the root message's ts, the deliveries."""

    user: str
    channel: str
    thread_ts: str
    deliveries: list[Delivery] = field(default_factory=list)


def _thread_event(kind: str, ws: Workspace, thread: AssistantThread, viewing: str | None) -> dict[str, Any]:
    context: dict[str, Any] = {"team_id": ws.team_id, "enterprise_id": None}
    if viewing:
        context["channel_id"] = viewing
    return {
        "type": kind,
        "assistant_thread": {
            "user_id": thread.user,
            "context": context,
            "channel_id": thread.channel,
            "thread_ts": thread.thread_ts,
        },
        "event_ts": f"{time.time():.6f}",
    }


def open_assistant_thread(sim: SlackSimulator, user: str, *, viewing: str | None = None) -> AssistantThread:
    """`user` opens the assistant view while looking at channel `viewing`: the root message, then the event."""
    ws = sim.ws
    channel = sim.dm_channel(user)
    root = Message(
        channel, ws.clock.next(), ws.bot_user_id, ROOT_TEXT, bot_id=ws.bot_id, subtype="assistant_app_thread"
    )
    ws.add_message(root, "assistant_app_thread")
    thread = AssistantThread(user, channel, root.ts)
    _deliver(sim, thread, _thread_event("assistant_thread_started", ws, thread, viewing))
    return thread


def change_context(sim: SlackSimulator, thread: AssistantThread, viewing: str) -> Delivery:
    """The user, with the panel open, switches to channel `viewing`."""
    return _deliver(sim, thread, _thread_event("assistant_thread_context_changed", sim.ws, thread, viewing))


def _deliver(sim: SlackSimulator, thread: AssistantThread, event: dict[str, Any]) -> Delivery:
    event_id = new_event_id()
    delivery = sim.deliverer.deliver("events_api", event_callback(sim.ws, event, event_id), event_id)
    thread.deliveries.append(delivery)
    return delivery


@dataclass
class Shortcut:
    """A message shortcut a simulated user ran: its delivery and its response_url's posts."""

    delivery: Delivery
    url: ResponseUrl


def run_message_shortcut(sim: SlackSimulator, callback_id: str, user: str, channel: str, ts: str) -> Shortcut:
    """`user` picks the app's shortcut `callback_id` in the ⋯ menu of message `ts` in `channel`."""
    ws = sim.ws
    chan = ws.channel(channel)
    message = ws.find_message(channel, ts)
    if chan is None or message is None:
        raise KeyError(f"no message {ts} in {channel}")
    response_url, url = sim.response_urls.issue(f"{sim.base_url}/response/", channel, user)
    replies = [m for m in ws.thread(channel, ts) if m.ts != ts] if not message.thread_ts else []
    payload = {
        "type": "message_action",
        "token": "sim-verification-token",
        "action_ts": f"{time.time():.6f}",
        "team": {"id": ws.team_id, "domain": ws.team_domain},
        "user": {"id": user, "username": ws.users[user].name, "team_id": ws.team_id, "name": ws.users[user].name},
        "channel": {"id": channel, "name": chan.name if chan.kind != "im" else "directmessage"},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:32]}",
        "response_url": response_url,
        "message_ts": ts,
        "message": message.to_api(replies or None) | {"type": "message"},
    }
    return Shortcut(sim.deliverer.deliver("interactive", payload), url)
