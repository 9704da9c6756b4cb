"""Slack's assistant view (the AI-app side panel, and new chats in the app's DM), over slack-bolt's `Assistant`.

Slack opens an assistant thread in the person's DM with the app and says so (`assistant_thread_started`),
with the channel the person is looking at; switching channels with the panel open sends
`assistant_thread_context_changed`. The questions are ordinary DM thread messages, answered as every DM
thread is (one OpenWebUI chat each, the "is thinking…" status while waiting). What this module adds:

* **Suggested prompts** on a new thread (`assistant.threads.setSuggestedPrompts`, at most four): "Summarize
  this channel" when the person is looking at a channel the bridge may read for them, then the model's own
  suggestions from OpenWebUI (the model editor's *Prompt suggestions*, `meta.suggestion_prompts`), else
  `SLACK_SUGGESTED_PROMPTS`. (OpenWebUI's server-wide default suggestions are not given to an API key.)
* **The title** of the thread is set from its first question (`assistant.threads.setTitle`).
* **The channel as context**: a question that speaks of "this channel" (or "the channel", "current channel")
  gets the latest messages of the channel the person is looking at (`adapters.slack.history`), when the
  access rules let that person use the bridge there.

Which thread looks at which channel is kept in memory (the newest `REMEMBERED_THREADS`): after a restart a
thread knows its channel again at the next switch of channel. slack-bolt's own store would keep it in the
metadata of a message the app posts first in every thread, which costs a message and a `chat.update` each.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAssistant, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import history
from adapters.slack.access import Access
from adapters.slack.events import SlackTurn
from adapters.slack.settings import PLATFORM
from bridge import transcripts
from bridge.core import Core
from bridge.errors import OpenWebUIError
from bridge.messages import ConversationKey

log = logging.getLogger(__name__)

MAX_PROMPTS = 4  # Slack shows at most four suggested prompts
PROMPT_TITLE_CHARS = 75
TITLE_CHARS = 255
REMEMBERED_THREADS = 10_000
SUMMARIZE_CHANNEL = "Summarize the latest messages of this channel."
_ABOUT_CHANNEL = re.compile(r"\b(this|the|current)\s+channel\b", re.IGNORECASE)

Spawn = Callable[[Coroutine[Any, Any, None], str], None]


class AssistantView:
    """The assistant threads the bridge has seen open, the channel each looks at, and the listeners."""

    def __init__(self, core: Core, client: AsyncWebClient, access: Access, suggested: list[str], spawn: Spawn) -> None:
        self._core = core
        self._client = client
        self._access = access
        self._suggested = suggested
        self._spawn = spawn
        self._viewing: OrderedDict[tuple[str, str], str] = OrderedDict()  # (DM, thread_ts) → channel ("": none)

    def middleware(self) -> AsyncAssistant:
        """slack-bolt's `Assistant` with this view's listeners; user messages go on to the app's own."""
        assistant = AsyncAssistant()
        assistant.thread_started(self._started)
        assistant.thread_context_changed(self._context_changed)
        return assistant

    # --- events ---------------------------------------------------------------------------------

    async def _started(self, payload: dict[str, Any], context: AsyncBoltContext) -> None:
        thread, team, user = self._remember(payload["assistant_thread"], context)
        self._spawn(self._offer_prompts(team, thread, user), "assistant-started")

    async def _context_changed(self, payload: dict[str, Any], context: AsyncBoltContext) -> None:
        """A new channel in view: the prompts follow it until the thread's first question."""
        thread, team, user = self._remember(payload["assistant_thread"], context)
        if not await self._core.has_conversation(ConversationKey(PLATFORM, team, *thread), ever=True):
            self._spawn(self._offer_prompts(team, thread, user), "assistant-context")

    def _remember(self, assistant_thread: dict[str, Any], bolt: AsyncBoltContext) -> tuple[tuple[str, str], str, str]:
        """(DM, thread_ts), the team and the person of an assistant thread's event, its channel in view kept."""
        thread = (str(assistant_thread["channel_id"]), str(assistant_thread["thread_ts"]))
        context = assistant_thread.get("context") or {}
        self._viewing[thread] = str(context.get("channel_id") or "")
        self._viewing.move_to_end(thread)
        while len(self._viewing) > REMEMBERED_THREADS:
            self._viewing.popitem(last=False)
        team = str(bolt.team_id or context.get("team_id") or "")
        return thread, team, str(assistant_thread.get("user_id") or "")

    def _readable(self, team: str, channel: str, user: str) -> bool:
        """Whether the bridge may read `channel` for `user`: the access rules let them use it there."""
        return bool(channel) and self._access.refusal(team, channel, user, is_dm=False) is None

    async def _offer_prompts(self, team: str, thread: tuple[str, str], user: str) -> None:
        if self._access.refusal(team, thread[0], user, is_dm=True) is not None:
            return  # the first question gets the refusal, as in any DM
        prompts: list[dict[str, str]] = []
        viewing = self._viewing.get(thread, "")
        if self._readable(team, viewing, user):
            prompts.append({"title": "Summarize this channel", "message": SUMMARIZE_CHANNEL})
        try:
            own = await self._core.suggestions(ConversationKey(PLATFORM, team, *thread))
        except OpenWebUIError as exc:
            log.info("Slack: no suggested prompts from OpenWebUI (%s)", exc)
            own = ()
        for text in own or self._suggested:
            prompts.append({"title": _title(text, PROMPT_TITLE_CHARS), "message": text})
        if not prompts:
            return
        await self._call(
            "setSuggestedPrompts",
            self._client.assistant_threads_setSuggestedPrompts(
                channel_id=thread[0], thread_ts=thread[1], prompts=prompts[:MAX_PROMPTS]
            ),
        )

    # --- questions ------------------------------------------------------------------------------

    async def prepare(self, turn: SlackTurn, bot_user_id: str) -> SlackTurn:
        """A question in an assistant thread: the thread's title from its first question, and the channel
        in view as context when the question speaks of it. Other turns are returned as they are."""
        key = turn.message.key
        viewing = self._viewing.get((key.channel, key.thread))
        if viewing is None:
            return turn
        if not await self._core.has_conversation(key, ever=True):
            title = _title(turn.message.text, TITLE_CHARS)
            if title:
                await self._call(
                    "setTitle",
                    self._client.assistant_threads_setTitle(channel_id=key.channel, thread_ts=key.thread, title=title),
                )
        if not _ABOUT_CHANNEL.search(turn.message.text) or not self._readable(
            key.workspace, viewing, turn.place.user_id
        ):
            return turn
        lines = await history.read(self._client, viewing, bot_user_id)
        heading = f"{transcripts.ABOUT_CHANNEL} (<#{viewing}>)"
        text = transcripts.with_messages(turn.message.text, heading, lines)
        return replace(turn, message=replace(turn.message, text=text, title_hint=turn.message.text))

    async def _call(self, method: str, call: Awaitable[Any]) -> None:
        """A courtesy call (prompts, title): a refusal is logged, the conversation goes on."""
        try:
            await call
        except SlackApiError as error:
            log.info("Slack: assistant.threads.%s refused (%s)", method, error.response.get("error"))


def _title(text: str, limit: int) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"
