"""Message shortcuts (a message's ⋯ menu → the app's actions), the Slack side of the context menus.

* `ask_about_message` ("Ask about this message"): the message goes to the model with the question "explain
  it, or answer it"; the answer comes in the message's thread (at a DM's top level, for a DM message), as a
  turn of that conversation.
* `summarize_thread` ("Summarize thread"): the message's thread, or the channel's latest messages when the
  message has no thread (`adapters.slack.history`), asked to be summarized; answered in that thread.
* `add_to_knowledge` ("Add to knowledge base", admins): the message's text (as a Markdown file) and files go
  into the knowledge base named like the channel.

Every shortcut is acknowledged at once and runs once per `trigger_id` (a replay is ignored); refusals and the
knowledge-base result reach only the person, through the shortcut's `response_url`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from adapters.slack import history
from adapters.slack.access import NOT_ADMIN, Access
from adapters.slack.events import PLATFORM, SlackTurn, plain_text, turn_for
from bridge import transcripts
from bridge.core import Core
from bridge.errors import OpenWebUIError, UserFacingError, explain
from bridge.messages import Attachment

log = logging.getLogger(__name__)

ASK_ABOUT = "ask_about_message"
SUMMARIZE = "summarize_thread"
ADD_TO_KNOWLEDGE = "add_to_knowledge"
Respond = Callable[..., Awaitable[Any]]


def text_file(shortcut: dict[str, Any], text: str) -> Attachment:
    """The message's text as a Markdown file for a knowledge base, named after the message."""
    author, channel = shortcut["message"].get("user") or "someone", shortcut["channel"].get("name")
    return transcripts.as_file(
        f"slack-message-{shortcut['message_ts']}.md", f"@{author} wrote in #{channel}:\n\n{text}"
    )


class MessageShortcuts:
    """The three shortcuts over the core, the adapter's access rules and its way of answering a turn."""

    def __init__(
        self,
        *,
        core: Core,
        access: Access,
        answer: Callable[[SlackTurn, tuple[str, ...]], Awaitable[None]],
        attachments: Callable[[list[dict[str, Any]]], tuple[Attachment, ...]],
        spawn: Callable[[Coroutine[Any, Any, None], str], None],
        read: Callable[..., Awaitable[list[transcripts.Line]]],
    ) -> None:
        self._core = core
        self._access = access
        self._answer = answer
        self._attachments = attachments
        self._spawn = spawn
        self._read = read

    def register(self, app: AsyncApp) -> None:
        for callback_id in (ASK_ABOUT, SUMMARIZE, ADD_TO_KNOWLEDGE):
            app.shortcut(callback_id)(self._on_shortcut)

    async def _on_shortcut(
        self, ack: Any, shortcut: dict[str, Any], respond: Respond, context: AsyncBoltContext
    ) -> None:
        await ack()
        self._spawn(self._run(shortcut, respond, context.bot_user_id or ""), f"shortcut-{shortcut['callback_id']}")

    async def _run(self, shortcut: dict[str, Any], respond: Respond, bot_user_id: str) -> None:
        team, channel, user = shortcut["team"]["id"], shortcut["channel"]["id"], shortcut["user"]["id"]
        trigger = f"shortcut:{team}:{shortcut.get('trigger_id') or ''}"
        if not await self._core.claim_event(PLATFORM, trigger):
            log.warning("Slack: a shortcut seen before came again (a replay); ignored")
            return
        refusal = self._access.refusal(team, channel, user, is_dm=channel.startswith("D"))
        try:
            if refusal is not None:
                raise UserFacingError(refusal)
            if shortcut["callback_id"] == ADD_TO_KNOWLEDGE:
                await respond(text=await self._add(shortcut, bot_user_id, user), response_type="ephemeral")
                return
            await self._answer(await self._turn(shortcut, bot_user_id, f"{trigger}:turn"), ())
        except (UserFacingError, OpenWebUIError) as exc:
            await respond(text=f"⚠️ {explain(exc)}", response_type="ephemeral")

    async def _turn(self, shortcut: dict[str, Any], bot_user_id: str, event_id: str) -> SlackTurn:
        """The question, as a turn answered where a reply to the message would be."""
        message, channel = shortcut["message"], shortcut["channel"]["id"]
        thread_ts = message.get("thread_ts")
        if shortcut["callback_id"] == ASK_ABOUT:
            question = transcripts.with_messages(
                transcripts.EXPLAIN, "The message", [history.line(message, bot_user_id)]
            )
        else:
            lines = await self._read(channel, bot_user_id, thread_ts=thread_ts)  # a thread's parent has one too
            heading = "The thread" if thread_ts else "The channel's latest messages"
            question = transcripts.with_messages(transcripts.SUMMARIZE, heading, lines)
        event = {"channel": channel, "ts": shortcut["message_ts"], "user": shortcut["user"]["id"], "text": ""}
        if thread_ts:
            event["thread_ts"] = thread_ts
        turn = turn_for(event, shortcut["team"]["id"], bot_user_id, ())
        return replace(turn, message=replace(turn.message, text=question, event_id=event_id))

    async def _add(self, shortcut: dict[str, Any], bot_user_id: str, user: str) -> str:
        if not await self._access.is_admin(user):
            raise UserFacingError(NOT_ADMIN)
        channel = shortcut["channel"]
        if channel["id"].startswith("D"):
            raise UserFacingError("A DM has no knowledge base of its own; use `kb add` with the knowledge base's name.")
        message = shortcut["message"]
        text = plain_text(str(message.get("text") or ""), bot_user_id)
        files = [text_file(shortcut, text)] if text else []
        files += self._attachments(list(message.get("files") or []))
        if not files:
            raise UserFacingError("That message has neither text nor files.")
        return "\n".join(await self._core.add_to_knowledge(str(channel.get("name") or ""), files))
