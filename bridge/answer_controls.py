"""The controls on an answer, as the core offers them to adapters: Stop, Regenerate, 👍/👎, asking an
edited question again, and a follow-up suggestion clicked.

Buttons name what they act on with ids that outlive the process: Stop names the question being answered
(only a running turn can be stopped), the others name the turn's row in the store. So a button on an old
message keeps working after a restart, and one whose row is gone (a database reset) says so.

Feedback goes to OpenWebUI's evaluations API as the web UI's thumbs do (type `rating`, the model, the chat
and the message), so ratings show in OpenWebUI's admin evaluations. All of them are the bridge's API user's
there, so each also names the platform user in `meta.rated_by`; the store remembers the feedback id per
answer and person, and a second click updates that feedback instead of adding one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bridge import texts
from bridge.branching import Branch, BranchKind, variant_event_id
from bridge.control_ids import Action
from bridge.engine import Engine
from bridge.errors import UserFacingError
from bridge.messages import Answered, ConversationKey, IncomingMessage, Person
from bridge.openwebui import errors
from bridge.openwebui.acting import acting_as
from bridge.outcomes import TurnOutcome
from bridge.stopping import StopResult
from bridge.store import Turn
from bridge.surface import ReplySurface

log = logging.getLogger(__name__)

SurfaceFor = Callable[[ConversationKey], Awaitable[ReplySurface]]
"""The adapter's surface for a new answer in the conversation at that key."""
RunTurn = Callable[[IncomingMessage, ReplySurface, Branch], Awaitable[TurnOutcome]]
"""How a branch turn runs: the core's way, so that the identity policy and the chat owner's key apply."""


class AnswerControls:
    """Stop, regenerate, rate and re-ask, over the engine (its store, client and running turns)."""

    def __init__(self, engine: Engine, run: RunTurn | None = None) -> None:
        self._engine = engine
        self._store = engine.store
        self._client = engine.client
        self._run: RunTurn = run or (lambda message, surface, branch: engine.handle(message, surface, branch=branch))

    async def stop(self, platform: str, question: str, who: Person, *, admin: bool) -> str:
        """Stop the answer to `question`, on whichever replica runs it (`bridge.remote_stops`); "" when
        stopped, else the sentence to show `who` privately."""
        result = await self._engine.stops.stop(platform, question, who.id, who.name, admin=admin)
        if result is StopResult.NOT_YOURS:
            return texts.STOP_NOT_YOURS
        if result is StopResult.NOT_RUNNING:
            return texts.ALREADY_FINISHED
        if result is StopResult.REQUESTED:
            return texts.STOP_PASSED_ON
        return ""

    def running_turn(self, platform: str, stop_id: str) -> int | None:
        """The row of the turn running under `stop_id`, once it has one: a platform whose answer's last
        write must carry its buttons asks while the answer finishes."""
        return self._engine.running.turn_id(platform, stop_id)

    async def answered(self, platform: str, turn_id: int) -> Answered:
        """Where the answer of turn `turn_id` is; `UserFacingError` when the store has no such turn."""
        turn = await self._turn(platform, turn_id)
        return Answered(turn.conversation.key, turn.id)

    async def regenerate(
        self, platform: str, turn_id: int, who: Person, click_id: str, surface: ReplySurface
    ) -> TurnOutcome:
        """A new answer to turn `turn_id`'s question, as a sibling of its answers (`bridge.branching`);
        `UserFacingError` when its conversation was ended (`new`: the place has another chat now)."""
        turn = await self._turn(platform, turn_id)
        if turn.archived:
            raise UserFacingError(texts.CONVERSATION_ENDED)
        message = IncomingMessage(
            key=turn.conversation.key,
            event_id=variant_event_id(_question(turn), BranchKind.REGENERATE, click_id),
            author_id=who.id,
            author_name=who.name,
            text="",
        )
        branch = Branch(BranchKind.REGENERATE, turn.user_message_id, click_id)
        return await self._run(message, surface, branch)

    async def ask_edited(
        self, platform: str, question: str, text: str, edit_id: str, who: Person, surface_for: SurfaceFor
    ) -> TurnOutcome | None:
        """Ask the edited `text` of message `question` again, as the web UI's edit does: a sibling of the
        question with its own answer, shown on the surface `surface_for` gives for the conversation.

        None when there is nothing to do: no turn answers `question`, or its text is the one already asked
        (a platform also reports a message as updated when a link preview is added). `UserFacingError`
        with the hint for its author when it is not the conversation's latest question, or the
        conversation was ended.
        """
        turn = await self._store.turn_of_question(platform, question)
        if turn is None or text.strip() == (await self._asked_text(turn)).strip():
            return None
        if turn.archived:
            raise UserFacingError(texts.CONVERSATION_ENDED)
        latest = await self._store.latest_turn(turn.conversation)
        if latest is None or _question(latest) != question:
            raise UserFacingError(texts.EDIT_NOT_LAST)
        message = IncomingMessage(
            key=turn.conversation.key,
            event_id=variant_event_id(question, BranchKind.EDIT, edit_id),
            author_id=who.id,
            author_name=who.name,
            text=text,
        )
        branch = Branch(BranchKind.EDIT, turn.user_message_id, question)
        return await self._run(message, await surface_for(turn.conversation.key), branch)

    async def follow_up(self, platform: str, turn_id: int, index: int, who: Person, click_id: str) -> IncomingMessage:
        """Suggestion `index` of turn `turn_id`'s answer as `who`'s next message in its conversation, for the
        adapter to answer as any message there (`Core.handle`). The text is read back from the answer in
        OpenWebUI (`followUps`, where `bridge.chat_tasks` stored it), so a button works after a restart. The
        event id is the click's: a click the platform delivers again is answered once. `UserFacingError` when
        the conversation was ended or the suggestion is gone."""
        turn = await self._turn(platform, turn_id)
        if turn.archived:
            raise UserFacingError(texts.CONVERSATION_ENDED)
        try:
            suggestions = (await self._stored_message(turn, turn.assistant_message_id)).get("followUps")
        except errors.NotFound:  # the chat was deleted in OpenWebUI
            suggestions = None
        text = suggestions[index] if isinstance(suggestions, list) and index < len(suggestions) else None
        if not isinstance(text, str) or not text.strip():
            raise UserFacingError(texts.FOLLOW_UP_GONE)
        return IncomingMessage(
            key=turn.conversation.key,
            event_id=f"{click_id}#{Action.FOLLOW_UP}:{who.id}",
            author_id=who.id,
            author_name=who.name,
            text=text,
            heading=texts.follow_up_heading(who.name, text),
        )

    async def rate(self, platform: str, turn_id: int, who: Person, rating: int) -> str:
        """Record `who`'s 👍 (1) or 👎 (-1) on the answer as OpenWebUI feedback; the sentence to show them."""
        turn = await self._turn(platform, turn_id)
        feedback = _feedback(turn, who, platform, rating)
        known = await self._store.feedback_id(platform, turn.assistant_message_id, who.id)
        feedback_id = known
        with acting_as(await self._engine.owner_of(turn.conversation.chat_id)):  # with linking: the chat's owner
            try:
                if known is not None:
                    await self._client.update_feedback(known, feedback)
            except errors.NotFound:
                log.info("feedback %s is gone from OpenWebUI; creating it again", known)
                feedback_id = None
            if feedback_id is None:
                feedback_id = await self._client.create_feedback(feedback)
        await self._store.set_feedback(platform, turn.assistant_message_id, who.id, feedback_id, rating)
        return texts.rated(rating, changed=known is not None)

    async def _turn(self, platform: str, turn_id: int) -> Turn:
        turn = await self._store.turn(platform, turn_id)
        if turn is None:
            raise UserFacingError(texts.CONTROL_EXPIRED)
        return turn

    async def _asked_text(self, turn: Turn) -> str:
        """The question's text as the chat stores it ("" when it is not there any more)."""
        content = (await self._stored_message(turn, turn.user_message_id)).get("content")
        return content if isinstance(content, str) else ""

    async def _stored_message(self, turn: Turn, message_id: str) -> dict[str, Any]:
        """Message `message_id` of the turn's chat as OpenWebUI stores it ({} when it is not there any more),
        read with the key of the chat's owner (`Engine.owner_of`)."""
        with acting_as(await self._engine.owner_of(turn.conversation.chat_id)):
            chat = (await self._client.get_chat(turn.conversation.chat_id)).get("chat") or {}
        message = ((chat.get("history") or {}).get("messages") or {}).get(message_id)
        return message if isinstance(message, dict) else {}


def _question(turn: Turn) -> str:
    """The platform id of the message a turn answers (its own event id before any `#variant`)."""
    return turn.event_id.split("#", 1)[0]


def _feedback(turn: Turn, who: Person, platform: str, rating: int) -> dict[str, Any]:
    """The body the web UI sends for a thumb (`FeedbackForm`), with the platform user named in `meta`."""
    return {
        "type": "rating",
        "data": {"rating": rating, "model_id": turn.model, "reason": "", "comment": ""},
        "meta": {
            "arena": False,
            "chat_id": turn.conversation.chat_id,
            "message_id": turn.assistant_message_id,
            "base_models": {},
            "rated_by": f"{platform}:{who.id}",
            "rated_by_name": who.name,
        },
    }
