"""The post-and-update path of a Slack reply: `chat.postMessage`, then `chat.update` as the text grows.

A message is a `markdown` block with the whole text and a short plain fallback (`text`). `chat.update` is
Tier 3: about 50 a minute for the whole workspace, shared by every reply growing at once, so its grants
are spent with care:

* A routine update spends the grant the `Scheduler` gave it (one grant is kept back from routine updates
  for a final text). One that has none (its message was a stream Slack closed since) sends only if the
  budget is free now; otherwise its text is owed, and paid (`settle`) before the reply moves on to a new
  message and when it closes.
* A final update goes ahead of every routine one. When it only adds text and `chat.update` could not
  show it soon (replies streaming at once finish together, and Tier 3 gives about one edit a second to
  all of them) while posting has room to spare, the edit is deferred (`final_grant`): the rest of the
  reply comes as a new message in the thread, cut between two words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.pacing import WorkspaceBudgets, final_grant, paced
from adapters.slack.place import ReplyPlace
from adapters.slack.scheduler import Way
from adapters.slack.text import fallback_text, markdown_blocks
from bridge.surface import Grant


@dataclass(slots=True)
class Shown:
    """A message of a reply: the text Slack shows, and a newer text still owed to it (a skipped routine
    update)."""

    text: str
    owed: str | None = None


class PostAndUpdate:
    """Posts and updates of one reply's messages; see the module docstring for how grants are spent."""

    def __init__(self, client: AsyncWebClient, budgets: WorkspaceBudgets, place: ReplyPlace) -> None:
        self._client = client
        self._budgets = budgets
        self._place = place

    async def post(
        self, text: str, *, urgent: bool, acquired: bool = False, extra: Sequence[dict[str, Any]] = ()
    ) -> str:
        """chat.postMessage in the reply's thread, within the channel's and the workspace's post budgets
        (`acquired`: the caller holds a grant of both); `extra` blocks go under the text (buttons)."""
        response = await paced(
            self._budgets.channel_post(self._place.channel),
            lambda: self._client.chat_postMessage(
                channel=self._place.channel,
                thread_ts=self._place.thread_ts,
                text=fallback_text(text),
                blocks=[*markdown_blocks(text), *extra],
            ),
            urgent=urgent,
            also=() if acquired else (self._budgets.post,),
            acquired=acquired,
        )
        return str(response["ts"])

    async def update(
        self, ts: str, text: str, *, urgent: bool, acquired: bool = False, extra: Sequence[dict[str, Any]] = ()
    ) -> None:
        """chat.update of message `ts` to `text` (`acquired`: the caller holds its grant); `extra` blocks go
        under the text (buttons; an update without them removes them)."""
        await paced(
            self._budgets.update,
            lambda: self._client.chat_update(
                channel=self._place.channel, ts=ts, text=fallback_text(text), blocks=[*markdown_blocks(text), *extra]
            ),
            urgent=urgent,
            acquired=acquired,
        )

    async def edit(
        self, ts: str, message: Shown, text: str, grant: Grant, extra: Sequence[dict[str, Any]] = ()
    ) -> None:
        """Show `text` in `message` (`ts`) on `grant`: at once, owed for later, or (a final addition)
        deferred to a new message by raising `EditDeferred`."""
        if grant.final:
            may_defer = message.owed is None and text.startswith(message.text)
            await final_grant(self._budgets, self._budgets.update, self._place.channel, may_defer=may_defer)
        elif grant.token is not Way.UPDATE and not self._budgets.update.try_acquire():
            message.owed = text
            return
        message.owed = None
        await self.update(ts, text, urgent=grant.final, acquired=True, extra=extra)
        message.text = text

    async def settle(self, messages: dict[str, Shown]) -> None:
        """Show the texts of skipped routine updates that no later edit replaced (before a new part, at the
        end); they are late already, so they go as urgent."""
        for ts, message in messages.items():
            if message.owed is not None:
                text, message.owed = message.owed, None
                await self.update(ts, text, urgent=True)
                message.text = text
