"""The native-stream path of a Slack reply: `chat.startStream`, `chat.appendStream`, `chat.stopStream`.

A stream grows a message by appending only what is new (`chat.appendStream`, Tier 4, about 100 a minute),
which costs far less of the workspace's budgets than rewriting it (`chat.update`, Tier 3, about 50). Its
limits decide when a reply does not stream, and the caller posts and updates instead (`updates`):

* A stream needs a thread (a top-level DM reply is always posted) and is started only on a grant of
  the workspace's Tier 2 start budget that is free *now*: when many replies start at once that budget
  (20/min) runs out first, and waiting for it would delay their first words by many seconds, so they are
  posted. As the budget refills, the `Scheduler` hands its grants to posted replies, which go on in a
  new message that streams (a posted message cannot become a stream).
* A workspace that refuses to start a stream (feature off, scope missing) is not asked again for ten
  minutes (`WorkspaceBudgets.refuse_streaming`); a start answered 429 blocks the start budget.
* Slack may close a stream itself (`message_not_in_streaming_state`): the message stays, and the reply
  goes on with `chat.update` on it.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.pacing import WorkspaceBudgets, is_rate_limited, paced, retry_after
from adapters.slack.place import ReplyPlace
from bridge.metrics import METRICS

log = logging.getLogger(__name__)


class NativeStream:
    """The open native stream of one reply, if any: a reply streams one message at a time."""

    def __init__(self, client: AsyncWebClient, budgets: WorkspaceBudgets, place: ReplyPlace, *, enabled: bool) -> None:
        self._client = client
        self._budgets = budgets
        self._place = place
        self.enabled = enabled and place.thread_ts is not None
        """The reply may stream at all: it is in a thread, and native streaming is on."""
        self.ts: str | None = None
        """The message the open stream shows; None while no stream is open."""

    async def start(self, text: str, *, acquired: bool = False) -> str | None:
        """chat.startStream with `text` in a new message, addressed to the asker (`acquired`: the caller
        holds a start grant); None when the reply cannot stream now (see the module docstring) and is to be
        posted instead."""
        if not (self.enabled and self._budgets.streaming_available):
            return None
        if not (acquired or self._budgets.start.try_acquire()):
            return None
        try:
            response = await self._client.chat_startStream(
                channel=self._place.channel,
                thread_ts=self._place.thread_ts,
                recipient_team_id=self._place.team_id,
                recipient_user_id=self._place.user_id,
                markdown_text=text,
            )
        except SlackApiError as error:
            if is_rate_limited(error):
                METRICS.rate_limited.labels("slack").inc()
                self._budgets.start.block(retry_after(error))
            else:
                log.warning("Slack refused a native stream (%s); posting and editing instead", error.response["error"])
                self._budgets.refuse_streaming()
            return None
        self.ts = str(response["ts"])
        return self.ts

    async def append(self, delta: str, *, urgent: bool, acquired: bool) -> bool:
        """chat.appendStream of `delta` to the open stream (`acquired`: the caller holds its grant); False
        when no stream is open any more, or Slack has closed it: the caller updates the message instead."""
        ts = self.ts
        if ts is None:
            return False
        if not delta:
            return True
        try:
            await paced(
                self._budgets.append,
                lambda: self._client.chat_appendStream(channel=self._place.channel, ts=ts, markdown_text=delta),
                urgent=urgent,
                acquired=acquired,
            )
        except SlackApiError as error:
            if is_rate_limited(error):
                raise
            log.info("stream %s closed by Slack (%s); continuing with chat.update", ts, error.response["error"])
            self.ts = None
            return False
        return True

    def detach(self) -> str | None:
        """Leave the open stream (the reply goes on in a new message) and return its message, to `stop`
        once the new message shows: ending a stream may wait for the Tier 2 budget, the new text need not."""
        ts, self.ts = self.ts, None
        return ts

    async def stop(self) -> None:
        """chat.stopStream on the open stream, if any."""
        await self.stop_detached(self.detach())

    async def stop_detached(self, ts: str | None, blocks: list[dict[str, Any]] | None = None) -> None:
        """chat.stopStream on message `ts`, a stream `detach` left, if any, adding `blocks` under its text
        (the answer's buttons); a stream Slack already closed needs nothing."""
        if ts is None:
            return
        extra = {"blocks": blocks} if blocks else {}
        try:
            await paced(
                self._budgets.stop,
                lambda: self._client.chat_stopStream(channel=self._place.channel, ts=ts, **extra),
                urgent=True,
            )
        except SlackApiError as error:
            if error.response.get("error") != "message_not_in_streaming_state":
                log.warning("could not stop stream %s: %s", ts, error.response.get("error"))
