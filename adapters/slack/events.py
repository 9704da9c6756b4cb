"""Slack events → the core's `IncomingMessage`, and which events the bridge answers.

Slack sends *two* events for a message that mentions the app in a channel (`app_mention` and `message`,
with different event ids), and redelivers either when an ack is late. The rules that give one answer:

* In channels, `app_mention` answers; a `message` event answers only when it is in a thread the bridge
  already has a conversation in and does not mention the app (a mention is `app_mention`'s).
* In DMs Slack sends no `app_mention`: every `message` answers.
* The engine's dedupe key is the message itself (`team:channel:ts`), not Slack's event id, so a retry of
  either event, or both events reaching the answering path, still give one answer.

Conversations: a channel thread is one conversation (a mention at the top level opens a thread under
itself). A DM's top level is one conversation, answered at the top level as in any DM; a thread inside a
DM is its own conversation, answered in that thread.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from adapters.slack.place import ReplyPlace
from adapters.slack.settings import PLATFORM
from bridge.messages import Attachment, ConversationKey, IncomingMessage

NEW_USER_TEXT = {None, "file_share", "thread_broadcast"}  # subtypes that are a person's new message
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)[^>]*>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")


@dataclass(frozen=True, slots=True)
class SlackTurn:
    """A message to answer, where the answer goes, and the message's own `ts` (an ephemeral note about
    it belongs in its thread, or at the top level when it started that thread)."""

    message: IncomingMessage
    place: ReplyPlace
    ts: str
    dm: bool = False

    @property
    def own_thread(self) -> str | None:
        """Where an ephemeral note about this message belongs: its thread, or the top level."""
        thread = self.message.key.thread
        return thread if thread and thread != self.ts else None


def dedupe_key(team_id: str, channel: str, ts: str) -> str:
    """One key per Slack message, whichever event or retry brought it."""
    return f"{team_id}:{channel}:{ts}"


def command_key(payload: dict[str, Any]) -> str:
    """One key per slash command invocation: its `trigger_id` is unique to it, and a captured request sent
    again (within the five minutes its signature stays valid) carries the same one. "" without one."""
    trigger = str(payload.get("trigger_id") or "")
    return f"command:{payload.get('team_id') or ''}:{trigger}" if trigger else ""


def is_dm(event: dict[str, Any]) -> bool:
    return event.get("channel_type") == "im" or str(event.get("channel", "")).startswith("D")


def is_new_user_text(event: dict[str, Any], bot_user_id: str) -> bool:
    """A person's new message: not a bot (nor this app), not an edit, deletion, join or other subtype."""
    return (
        event.get("subtype") in NEW_USER_TEXT
        and not event.get("bot_id")
        and bool(event.get("user"))
        and event.get("user") != bot_user_id
    )


def mentions(event: dict[str, Any], user_id: str) -> bool:
    return f"<@{user_id}" in str(event.get("text", ""))


def plain_text(text: str, bot_user_id: str) -> str:
    """Slack's message markup as plain text for the model: the app's mention removed, others readable."""
    text = _MENTION.sub(lambda m: "" if m.group(1) == bot_user_id else "@" + (m.group(2) or m.group(1)), text)
    text = _CHANNEL.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    text = _SPECIAL.sub(lambda m: "@" + m.group(1), text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})" if m.group(2) else m.group(1), text)
    return html.unescape(text).strip()


def turn_for(
    event: dict[str, Any],
    team_id: str,
    bot_user_id: str,
    attachments: tuple[Attachment, ...],
) -> SlackTurn:
    """The conversation and reply place of a message the bridge answers (see the module docstring)."""
    channel = str(event["channel"])
    ts = str(event["ts"])
    thread_ts = event.get("thread_ts")
    user = str(event["user"])
    if is_dm(event):
        thread, reply_in = (str(thread_ts), str(thread_ts)) if thread_ts else ("", None)
    else:
        thread = reply_in = str(thread_ts or ts)
    message = IncomingMessage(
        key=ConversationKey(PLATFORM, team_id, channel, thread),
        event_id=dedupe_key(team_id, channel, ts),
        author_id=user,
        author_name=user,
        text=plain_text(str(event.get("text", "")), bot_user_id),
        attachments=attachments,
    )
    return SlackTurn(message, ReplyPlace(team_id, channel, reply_in, user), ts, dm=is_dm(event))
