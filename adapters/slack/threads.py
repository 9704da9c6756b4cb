"""Threads the bridge has no record of: is a follow-up without a mention one the app should answer?

The store remembers every thread the bridge answered in, and a follow-up without a mention is answered only
there. When that memory is lost (the database deleted, moved aside after damage, or restored from an old
backup), a follow-up in a thread the app answered in would otherwise be ignored without a word. So for a
thread the store does not know, Slack itself is asked: the app took part when one of the thread's first
`THREAD_DEPTH` messages is its own (an answer, a note, the question `/owui ask` posted). That is what having
had a conversation there leaves behind; a mention alone is not (a refused asker's, or one sent while the
bridge was down, never made the thread a conversation). Such a follow-up is answered, in a new chat, and the
asker is told the earlier messages are not part of it; threads the app never took part in stay ignored, as
people's own threads must be.

Each thread is looked up once per process (concurrent follow-ups share the lookup), so a busy thread of people
costs one `conversations.replies`, paced under Slack's Tier 3 limit.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.pacing import paced
from bridge import texts
from bridge.pacing import RateBudget

log = logging.getLogger(__name__)

THREAD_DEPTH = 200
REMEMBERED_THREADS = 10_000
FORGOTTEN_THREAD = f"ℹ️ {texts.FORGOTTEN}"


class ForgottenThreads:
    """Whether the app took part in a thread, as Slack shows it; answers kept for the process's life."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._budget = RateBudget(rate=45 / 60, capacity=4)  # conversations.replies, Tier 3 (≈ 50 a minute)
        self._found: OrderedDict[tuple[str, str], asyncio.Future[bool | None]] = OrderedDict()

    async def took_part(self, channel: str, thread_ts: str, bot_user_id: str) -> bool:
        """True when the app posted in the thread (among its first `THREAD_DEPTH` messages).

        A thread Slack would not show (an error) counts as not the app's, with a log line, and is asked
        again at its next message.
        """
        key = (channel, thread_ts)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = asyncio.ensure_future(self._look(channel, thread_ts, bot_user_id))
            while len(self._found) > REMEMBERED_THREADS:
                self._found.popitem(last=False)
        answer = await asyncio.shield(found)
        if answer is None:
            self._found.pop(key, None)
        return bool(answer)

    async def _look(self, channel: str, thread_ts: str, bot_user_id: str) -> bool | None:
        try:
            page = await paced(
                self._budget,
                lambda: self._client.conversations_replies(channel=channel, ts=thread_ts, limit=THREAD_DEPTH),
            )
        except SlackApiError as error:
            log.warning(
                "Slack: a follow-up in thread %s of %s that the bridge has no record of is not answered: "
                "the thread is unreadable (%s)",
                thread_ts,
                channel,
                error.response.get("error"),
            )
            return None
        return any(message.get("user") == bot_user_id for message in page.get("messages") or [])
