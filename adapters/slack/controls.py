"""The controls on an answer in Slack: Stop while it streams; Regenerate, 👍 and 👎 once it is done; an edited
question asked again.

* **Regenerate · 👍 · 👎** are an `actions` block under the answer's text, added by the answer's final
  writes (`SlackReplySurface.buttons`): the final post or `chat.update`, or the `chat.stopStream` that ends
  a native stream. So they cost no call of their own (one more `chat.update` only when a routine update had
  already shown the whole final text). Regenerate: anyone allowed in the conversation; a new answer in the
  thread ("Attempt 2"), a sibling branch in the OpenWebUI chat. 👍/👎: each person's own rating in
  OpenWebUI's evaluations; a second click changes it.
* **Stop** cannot be on the answer while it streams: a native stream carries no blocks until it stops. So
  the asker gets it in a message only they see (`chat.postEphemeral`), offered when the answer is still
  streaming `STOP_AFTER` seconds after its first text (a quick answer needs none). Slack gives no way to
  remove an ephemeral message, so it stays until they reload; clicked after the end, it says the answer
  has finished. The asker (or an admin) may stop it: the answer ends where it is, marked stopped.
* **Follow-up suggestions** OpenWebUI made after an answer are buttons in a small message under it (posted
  when they arrive). A click by anyone allowed in the conversation is their next message there
  (`bridge.answer_controls`), headed on the answer with who asked what, since no message of theirs shows it.
* **Editing** (`message_changed`) the latest question of a conversation asks it again as a new branch; an
  older one gets a note only its author sees.

Every answer to a click is private (`chat.postEphemeral`), refusals included. Buttons keep working after a
restart; one whose turn the database no longer has says it expired.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.access import Access
from adapters.slack.actions import ActionDispatcher, Click, Spawn, actions_block, button
from adapters.slack.events import dedupe_key, plain_text
from adapters.slack.pacing import WorkspaceBudgets, paced
from adapters.slack.people import DisplayNames
from adapters.slack.place import ReplyPlace
from adapters.slack.settings import PLATFORM, SlackSettings
from adapters.slack.surface import SlackReplySurface, tell_user
from bridge import texts
from bridge.control_ids import Action, follow_up_argument, parse_follow_up
from bridge.core import Core
from bridge.errors import UserFacingError
from bridge.messages import ConversationKey, Person
from bridge.outcomes import TurnOutcome

log = logging.getLogger(__name__)

STOP_AFTER = 2.0
"""Seconds an answer must still be streaming after its first text before the asker is offered Stop."""
STOP_TEXT = "Still answering. Stop it here if you have what you need."
LABEL_CHARS = 75  # Slack's longest button text

Work = Callable[[SlackReplySurface], Awaitable[TurnOutcome]]
"""A turn run on the surface it is given."""


def stop_blocks(stop_id: str) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": STOP_TEXT}},
        actions_block(button("⏹️ Stop", Action.STOP, stop_id, style="danger")),
    ]


def followup_blocks(turn_id: int, followups: list[str]) -> list[dict[str, Any]]:
    """A button for each suggestion, its text as the label (clipped to Slack's 75 characters; a click reads
    the whole text back: `bridge.control_ids`)."""
    return [
        actions_block(
            *(
                button(texts.clipped(text, LABEL_CHARS), Action.FOLLOW_UP, follow_up_argument(turn_id, index))
                for index, text in enumerate(followups)
            )
        )
    ]


def answer_blocks(turn_id: int) -> list[dict[str, Any]]:
    turn = str(turn_id)
    return [
        actions_block(
            button("🔁 Regenerate", Action.REGENERATE, turn),
            button("👍", Action.RATE_UP, turn),
            button("👎", Action.RATE_DOWN, turn),
        )
    ]


class StopOffer:
    """The Stop button of one answer, offered to its asker once it has streamed for `STOP_AFTER` seconds."""

    def __init__(self, client: AsyncWebClient, budgets: WorkspaceBudgets, place: ReplyPlace, stop_id: str) -> None:
        self._client = client
        self._budgets = budgets
        self._place = place
        self._stop_id = stop_id
        self._waiting: asyncio.Task[None] | None = None

    def start(self) -> None:
        """The answer's first text shows: offer Stop if it is still streaming a little later."""
        if self._waiting is None:
            self._waiting = asyncio.ensure_future(self._offer())

    def cancel(self) -> None:
        """The answer is over: no offer any more (one already made stays: see the module docstring)."""
        if self._waiting is not None:
            self._waiting.cancel()

    async def _offer(self) -> None:
        await asyncio.sleep(STOP_AFTER)
        try:
            await paced(
                self._budgets.ephemeral,
                lambda: self._client.chat_postEphemeral(
                    channel=self._place.channel,
                    user=self._place.user_id,
                    thread_ts=self._place.thread_ts,
                    text=STOP_TEXT,
                    blocks=stop_blocks(self._stop_id),
                ),
            )
        except SlackApiError as error:
            log.info("Slack: could not offer Stop: %s", error.response.get("error"))


class AnswerControls:
    """Answers with their buttons, the buttons' handlers, and edited questions."""

    def __init__(
        self,
        core: Core,
        settings: SlackSettings,
        *,
        client: AsyncWebClient,
        budgets_of: Callable[[str], WorkspaceBudgets],
        access: Access,
        spawn: Spawn,
        names: DisplayNames,
    ) -> None:
        self.core = core
        self.settings = settings
        self.client = client
        self.budgets_of = budgets_of
        """The budgets of a workspace, read at each use (the adapter's `Budgets` may be replaced)."""
        self.access = access
        self.spawn = spawn
        self.names = names
        """Display names, as a person's messages carry them (a click's payload has only the handle)."""

    def register(self, dispatcher: ActionDispatcher) -> None:
        dispatcher.register(Action.STOP, self.stop)
        dispatcher.register(Action.REGENERATE, self.regenerate)
        dispatcher.register(Action.RATE_UP, lambda click, turn: self.rate(click, turn, 1))
        dispatcher.register(Action.RATE_DOWN, lambda click, turn: self.rate(click, turn, -1))
        dispatcher.register(Action.FOLLOW_UP, self.follow_up)

    async def tell(self, place: ReplyPlace, text: str) -> None:
        await tell_user(self.client, self.budgets_of(place.team_id), place, text)

    async def run(self, place: ReplyPlace, stop_id: str, work: Work, *, assistant_thread: bool = False) -> TurnOutcome:
        """Run `work` on a reply surface at `place` whose answer gets its buttons: Stop (naming `stop_id`)
        while it streams, the others with its final text. Errors of `work` are the caller's.
        `assistant_thread` as for `SlackReplySurface`."""
        surface, offer = self._surface(place, stop_id, assistant_thread)
        try:
            return await work(surface)
        finally:
            offer.cancel()

    def _surface(
        self, place: ReplyPlace, stop_id: str, assistant_thread: bool = False
    ) -> tuple[SlackReplySurface, StopOffer]:
        """A reply surface at `place` with the answer's buttons, and its Stop offer."""
        budgets = self.budgets_of(place.team_id)
        surface = SlackReplySurface(
            self.client,
            budgets,
            place,
            max_chars=self.settings.max_message_chars,
            native_streaming=self.settings.native_streaming,
            spawn=self.spawn,
            assistant_thread=assistant_thread,
        )
        offer = StopOffer(self.client, budgets, place, stop_id)
        surface.on_first_text = offer.start

        def buttons() -> list[dict[str, Any]]:
            turn = self.core.controls.running_turn(PLATFORM, stop_id)
            return answer_blocks(turn) if turn is not None else []

        surface.buttons = buttons
        surface.followups = followup_blocks
        return surface, offer

    # --- clicks ---------------------------------------------------------------------------------

    async def _refused(self, click: Click) -> bool:
        refusal = self.access.refusal(click.team_id, click.channel, click.user_id, is_dm=click.dm)
        if refusal is not None:
            await self.tell(click.place, f"⛔ {refusal}")
        return refusal is not None

    async def stop(self, click: Click, stop_id: str) -> None:
        if await self._refused(click):
            return
        admin = await self.access.is_admin(click.user_id)
        why_not = await self.core.controls.stop(PLATFORM, stop_id, Person(click.user_id, click.user_name), admin=admin)
        if why_not:
            await self.tell(click.place, why_not)

    async def regenerate(self, click: Click, turn: str) -> None:
        if await self._refused(click):
            return
        answered = await self.core.controls.answered(PLATFORM, int(turn))
        place = _place(answered.key, click.user_id)
        person = Person(click.user_id, click.user_name)
        await self.run(
            place,
            click.click_id,
            lambda surface: self.core.controls.regenerate(PLATFORM, answered.turn_id, person, click.click_id, surface),
        )

    async def follow_up(self, click: Click, argument: str) -> None:
        """A suggestion clicked: its text is the clicker's next message in the answer's conversation, answered
        in its thread as any message there."""
        if await self._refused(click):
            return
        suggestion = parse_follow_up(argument)
        if suggestion is None:
            raise UserFacingError(texts.CONTROL_EXPIRED)
        person = Person(click.user_id, await self.names.of(click.user_id))
        message = await self.core.controls.follow_up(PLATFORM, *suggestion, person, click.click_id)
        place = _place(message.key, click.user_id)
        outcome = await self.run(
            place, message.event_id, lambda surface: self.core.handle(message, surface), assistant_thread=click.dm
        )
        if outcome.private_note:  # the identity policy's refusal, for the clicker alone
            await self.tell(place, f"⛔ {outcome.private_note}")

    async def rate(self, click: Click, turn: str, rating: int) -> None:
        if await self._refused(click):
            return
        person = Person(click.user_id, click.user_name)
        await self.tell(click.place, await self.core.controls.rate(PLATFORM, int(turn), person, rating))

    # --- edited questions -----------------------------------------------------------------------

    def on_edit(self, event: dict[str, Any], team_id: str, bot_user_id: str) -> None:
        """A `message_changed` event: a person's edit of a question is looked at in the background."""
        message = event.get("message") or {}
        user = str(message.get("user") or "")
        if not user or user == bot_user_id or message.get("bot_id") or not (message.get("edited") or {}).get("ts"):
            return
        self.spawn(self._edited(event, message, team_id, bot_user_id), "edit")

    async def _edited(self, event: dict[str, Any], message: dict[str, Any], team_id: str, bot_user_id: str) -> None:
        channel, ts, user = str(event.get("channel") or ""), str(message["ts"]), str(message["user"])
        thread = message.get("thread_ts")
        note_place = ReplyPlace(team_id, channel, str(thread) if thread and thread != ts else None, user)
        refusal = self.access.refusal(team_id, channel, user, is_dm=channel.startswith("D"))
        person = Person(user, user)

        question = dedupe_key(team_id, channel, ts)
        offers: list[StopOffer] = []

        async def surface_for(key: ConversationKey) -> SlackReplySurface:
            if refusal is not None:
                raise UserFacingError(f"⛔ {refusal}")
            surface, offer = self._surface(_place(key, user), question)
            offers.append(offer)
            return surface

        try:
            await self.core.controls.ask_edited(
                PLATFORM,
                question,
                plain_text(str(message.get("text", "")), bot_user_id),
                str(message["edited"]["ts"]),
                person,
                surface_for,
            )
        except UserFacingError as exc:
            await self.tell(note_place, str(exc))
        finally:
            for offer in offers:
                offer.cancel()


def _place(key: ConversationKey, user_id: str) -> ReplyPlace:
    """Where a new answer in the conversation at `key` goes: its thread (none: a DM's top level)."""
    return ReplyPlace(key.workspace, key.channel, key.thread or None, user_id)
